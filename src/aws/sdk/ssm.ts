// The SDK's SSMClient, loaded on first use with `import('./sdk/ssm.js')`: a session's own calls go
// through src/aws/json-api.ts, and lookups, Run Command and documents through this. The re-export
// is an ES module of ours, so the bundle keeps its named exports.
export { SSMClient, DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
