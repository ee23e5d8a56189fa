// The SDK's SSMClient, loaded on first use with `import('./sdk/ssm.js')`: a session's own calls and
// target lookups go through src/aws/json-api.ts; Run Command, documents (ssmx setup) and
// DescribeSessions through this. The re-export is an ES module of ours, so the bundle keeps its
// named exports.
export { SSMClient, CreateDocumentCommand, GetDocumentCommand, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand } from '@aws-sdk/client-ssm';
