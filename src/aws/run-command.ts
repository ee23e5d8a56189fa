import { createHash, createHmac } from 'node:crypto';
import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsError, toAwsError } from './errors.js';

/** Run Command's calls, each failure an AwsError that names the call. */

export interface SendInput {
  documentName: string;
  /** Instance ids (at most 50), or the service's Targets (it resolves them, however many). */
  instanceIds?: string[];
  targets?: Array<{ Key: string; Values: string[] }>;
  commands: string[];
  /** The execution timeout, in seconds (the document's executionTimeout). */
  executionTimeout?: number;
  comment?: string;
  maxConcurrency?: string;
  maxErrors?: string;
  outputS3BucketName?: string;
  outputS3KeyPrefix?: string;
}

export async function sendCommand(ssm: SSMClient, input: SendInput): Promise<string> {
  try {
    const output = await ssm.send(
      new SendCommandCommand({
        DocumentName: input.documentName,
        ...(input.instanceIds ? { InstanceIds: input.instanceIds } : { Targets: input.targets }),
        Parameters: { commands: input.commands, ...(input.executionTimeout !== undefined ? { executionTimeout: [String(input.executionTimeout)] } : {}) },
        ...(input.comment ? { Comment: input.comment } : {}),
        ...(input.maxConcurrency ? { MaxConcurrency: input.maxConcurrency } : {}),
        ...(input.maxErrors ? { MaxErrors: input.maxErrors } : {}),
        ...(input.outputS3BucketName ? { OutputS3BucketName: input.outputS3BucketName } : {}),
        ...(input.outputS3KeyPrefix ? { OutputS3KeyPrefix: input.outputS3KeyPrefix } : {}),
      }),
    );
    if (!output.Command?.CommandId) throw new AwsError('service', 'IncompleteResponse', 'SendCommand answered without a command id');
    return output.Command.CommandId;
  } catch (error) {
    const failure = toAwsError(error, 'SendCommand');
    if (failure.code === 'InvalidInstanceId') {
      throw new AwsError('target', failure.code, `the service will not send the command: ${failure.message}`, 'every instance must be a managed instance, online, in this account and region (ssmx list shows them)');
    }
    throw failure;
  }
}

export interface CommandState {
  status: string;
  statusDetails: string;
}

export async function commandStatus(ssm: SSMClient, commandId: string): Promise<CommandState | undefined> {
  try {
    const output = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    const command = output.Commands?.[0];
    return command ? { status: command.Status ?? '', statusDetails: command.StatusDetails ?? '' } : undefined;
  } catch (error) {
    throw toAwsError(error, 'ListCommands');
  }
}

export interface InvocationSummary {
  instanceId: string;
  instanceName: string;
  status: string;
  statusDetails: string;
}

/** Every invocation of a command, all pages. */
export async function listInvocations(ssm: SSMClient, commandId: string): Promise<InvocationSummary[]> {
  const found: InvocationSummary[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 50, NextToken: nextToken }));
      for (const invocation of page.CommandInvocations ?? []) {
        if (!invocation.InstanceId) continue;
        found.push({ instanceId: invocation.InstanceId, instanceName: invocation.InstanceName ?? '', status: invocation.Status ?? '', statusDetails: invocation.StatusDetails ?? '' });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw toAwsError(error, 'ListCommandInvocations');
  }
  return found;
}

export interface InvocationResult {
  status: string;
  statusDetails: string;
  /** The exit status, or undefined when the command never ran (-1 from the service). */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  stdoutUrl: string;
  stderrUrl: string;
  /** ExecutionElapsedTime in seconds, when it ran. */
  seconds: number | undefined;
}

/** An invocation's result; undefined while the service does not have it yet (InvocationDoesNotExist). */
export async function getInvocation(ssm: SSMClient, commandId: string, instanceId: string): Promise<InvocationResult | undefined> {
  try {
    const output = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      status: output.Status ?? '',
      statusDetails: output.StatusDetails ?? '',
      exitCode: output.ResponseCode === undefined || output.ResponseCode === -1 ? undefined : output.ResponseCode,
      stdout: output.StandardOutputContent ?? '',
      stderr: output.StandardErrorContent ?? '',
      stdoutUrl: output.StandardOutputUrl ?? '',
      stderrUrl: output.StandardErrorUrl ?? '',
      seconds: isoDurationSeconds(output.ExecutionElapsedTime ?? ''),
    };
  } catch (error) {
    const failure = toAwsError(error, 'GetCommandInvocation');
    if (failure.code === 'InvocationDoesNotExist') return undefined;
    throw failure;
  }
}

export async function cancelCommand(ssm: SSMClient, commandId: string): Promise<void> {
  try {
    await ssm.send(new CancelCommandCommand({ CommandId: commandId }));
  } catch (error) {
    throw toAwsError(error, 'CancelCommand');
  }
}

/** An ISO 8601 duration as the service writes ExecutionElapsedTime ("PT0.013S", "PT1M2.5S"), in seconds. */
export function isoDurationSeconds(text: string): number | undefined {
  const match = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text);
  if (!match || text === 'PT') return undefined;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** SHA-256 and its HMAC as the signer wants them (Node's own, no extra dependency). */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    throw new Error('not used');
  }
}

/**
 * The whole of an output Run Command wrote to S3 (StandardOutputUrl, path-style: the bucket is the
 * first segment): a GET signed for s3 with the SSM client's credentials, sent through its HTTP
 * handler (so the proxy and the CA bundle the API uses apply).
 */
export async function fetchS3Object(ssm: SSMClient, url: string): Promise<string> {
  const parsed = new URL(url);
  const config = ssm.config;
  // The bucket's region is in its address (s3.<region>.amazonaws.com); else the command's.
  const region = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(parsed.hostname)?.[1] ?? (await config.region());
  const signer = new SignatureV4({ credentials: config.credentials, region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: true });
  const request = {
    method: 'GET',
    protocol: parsed.protocol,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    path: parsed.pathname,
    query: {},
    headers: { host: parsed.host, 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  };
  try {
    const signed = await signer.sign(request);
    const { response } = await config.requestHandler.handle(signed as Parameters<typeof config.requestHandler.handle>[0]);
    const chunks: Buffer[] = [];
    for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    const body = Buffer.concat(chunks).toString('utf8');
    if (response.statusCode !== 200) {
      const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? `HTTP ${response.statusCode}`;
      const kind = response.statusCode === 403 ? 'permission' : 'service';
      throw new AwsError(kind, code, `S3 GetObject ${parsed.pathname} failed: ${code}`, kind === 'permission' ? 'the credentials need s3:GetObject on the output bucket' : undefined);
    }
    return body;
  } catch (error) {
    throw toAwsError(error, 'S3 GetObject');
  }
}
