// The SDK's credential chain, loaded on first use with `import('./sdk/credentials.js')`
// (src/aws/client-config.ts): a command on the environment's keys never loads it.
export { fromNodeProviderChain } from '@aws-sdk/credential-providers';
