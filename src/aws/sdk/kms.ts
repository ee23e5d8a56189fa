// What ssmx uses of @aws-sdk/client-kms, loaded on first use with `import('./sdk/kms.js')`. The
// re-export is an ES module of ours, so the bundle keeps its named exports (a bundled CommonJS
// package imported dynamically would offer only a default export).
export { KMSClient, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
