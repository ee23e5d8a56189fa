// What ssmx uses of @aws-sdk/client-ec2, loaded on first use with `import('./sdk/ec2.js')`. The
// re-export is an ES module of ours, so the bundle keeps its named exports (a bundled CommonJS
// package imported dynamically would offer only a default export).
export { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
