import type { SSMClient } from '@aws-sdk/client-ssm';
import { toAwsError } from '../aws/errors.js';
import type { SsmClients } from '../aws/ssm.js';
import { UsageError } from '../errors.js';
import { RUN_DOCUMENT } from './names.js';

const shellConfig = { commands: '{{ command }}', runAsElevated: false, separateOutputStream: true, stdOutSeparatorPrefix: '', stdErrSeparatorPrefix: '' };

/**
 * A NonInteractiveCommands session document whose agent keeps stdout and stderr apart and reports
 * the exit status (StdErr and ExitCode messages, docs/protocol.md §7).
 */
export const RUN_DOCUMENT_CONTENT = {
  schemaVersion: '1.0',
  description: 'ssmx run: one command, its stdout, stderr and exit status kept apart',
  sessionType: 'NonInteractiveCommands',
  parameters: { command: { type: 'String', description: 'The command line to run' } },
  properties: { linux: shellConfig, macos: shellConfig },
};

/** What setting up did: the document made, a new default version of it, or nothing to do. */
export type SetupOutcome = { kind: 'created' } | { kind: 'updated'; version: string } | { kind: 'unchanged' };

/**
 * Makes the account's RUN_DOCUMENT what ssmx needs: created when missing; when it says something
 * else, a new version with ssmx's content becomes its default (UpdateDocument,
 * UpdateDocumentDefaultVersion). The SDK's SSM client and its document commands load here only.
 */
export async function ensureRunDocument(ssm: SsmClients): Promise<SetupOutcome> {
  const content = JSON.stringify(RUN_DOCUMENT_CONTENT, null, 2);
  const { CreateDocumentCommand } = await import('../aws/sdk/ssm.js');
  try {
    await (await ssm.sdk()).send(new CreateDocumentCommand({ Name: RUN_DOCUMENT, Content: content, DocumentType: 'Session', DocumentFormat: 'JSON' }));
    return { kind: 'created' };
  } catch (error) {
    if ((error as { name?: string }).name !== 'DocumentAlreadyExists') throw toAwsError(error, 'CreateDocument');
    return updateRunDocument(await ssm.sdk(), content);
  }
}

async function updateRunDocument(ssm: SSMClient, content: string): Promise<SetupOutcome> {
  const { GetDocumentCommand, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand } = await import('../aws/sdk/ssm.js');
  const current = await ssm.send(new GetDocumentCommand({ Name: RUN_DOCUMENT })).catch((error: unknown) => {
    throw toAwsError(error, 'GetDocument');
  });
  if (sameJson(current.Content, content)) return { kind: 'unchanged' };
  let version: string | undefined;
  try {
    version = (await ssm.send(new UpdateDocumentCommand({ Name: RUN_DOCUMENT, Content: content, DocumentVersion: '$LATEST', DocumentFormat: 'JSON' }))).DocumentDescription?.DocumentVersion;
  } catch (error) {
    // The latest version already is ssmx's, only not the default one.
    if ((error as { name?: string }).name !== 'DuplicateDocumentContent') throw toAwsError(error, 'UpdateDocument');
    version = (await ssm.send(new GetDocumentCommand({ Name: RUN_DOCUMENT, DocumentVersion: '$LATEST' }))).DocumentVersion;
  }
  if (!version) throw new UsageError(`the account's ${RUN_DOCUMENT} differs from what ssmx needs, and could not be updated`, 'ssmx setup --print shows the content to put in it');
  await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: RUN_DOCUMENT, DocumentVersion: version })).catch((error: unknown) => {
    throw toAwsError(error, 'UpdateDocumentDefaultVersion');
  });
  return { kind: 'updated', version };
}

/** Two JSON texts with the same value, however they are spaced. */
function sameJson(a: string | undefined, b: string): boolean {
  try {
    return a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
