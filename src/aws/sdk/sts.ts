// What ssmx uses of @aws-sdk/client-sts, loaded on first use with `import('./sdk/sts.js')`. The
// re-export is an ES module of ours, so the bundle keeps its named exports (a bundled CommonJS
// package imported dynamically would offer only a default export).
export { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
