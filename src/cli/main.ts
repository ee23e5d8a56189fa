import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CliContext, GlobalOptions } from './context.js';
import { useColor } from './context.js';
import { renderError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { shellCommand, type ShellOptions } from './commands/shell.js';
import { emulatorCommand, type EmulatorOptions } from './commands/emulator.js';
import { demoCommand } from './commands/demo.js';
import { DEFAULT_SESSIONS, forwardCommand, type ForwardOptions } from './commands/forward.js';
import { proxyCommand, type ProxyOptions } from './commands/proxy.js';
import { sshCommand, sshConfigCommand, type SshConfigOptions } from './commands/ssh.js';
import { PLUGIN_NAME, pluginCommand } from './commands/plugin.js';
import { installPluginCommand, type InstallPluginOptions } from './commands/install-plugin.js';

const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(context: CliContext, run: (work: () => Promise<number>) => void): Command {
  const program = new Command('ssmx')
    .description('Shells, tunnels and ssh over AWS Session Manager: a fast, dependable session-manager-plugin.')
    .version(packageJson.version, '-V, --version')
    .option('--region <region>', 'AWS region (default: AWS_REGION, then the profile)')
    .option('--profile <name>', 'AWS profile from the shared config (default: AWS_PROFILE)')
    .option('--endpoint-url <url>', 'SSM endpoint (default: AWS_ENDPOINT_URL_SSM, then AWS_ENDPOINT_URL)')
    .option('-q, --quiet', 'no progress or status lines on stderr')
    .option('--no-color', 'no colour in messages (also NO_COLOR)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    })
    .exitOverride();

  program
    .command('shell')
    .description('Open an interactive shell on a managed instance.')
    .argument('<target>', 'instance id (i-…, mi-…), or the Name tag of a managed instance')
    .option('--document <name>', 'session document (default: the account\'s shell document)')
    .option('--parameters <json>', 'document parameters as JSON, e.g. \'{"command":["top"]}\'')
    .option('--reason <text>', 'reason recorded with the session, for audit')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx shell i-0123456789abcdef0
  $ echo 'uname -a' | ssmx shell i-0123456789abcdef0 --quiet
  $ ssmx shell i-0123456789abcdef0 --document AWS-StartInteractiveCommand --parameters '{"command":["top"]}'

Exit status: 0 when the remote shell ends; 2 usage, 3 credentials or permission,
4 target or document, 5 connection, 6 protocol; 128+N when stopped by signal N.`,
    )
    .action((target: string, options: ShellOptions) =>
      run(() => shellCommand(target, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('forward')
    .description('Forward local ports to an instance, or to hosts it can reach.')
    .argument('<target>', 'instance id (i-…, mi-…), or the Name tag of a managed instance')
    .argument('<spec...>', 'PORT | LOCAL:PORT | LOCAL:HOST:PORT; LOCAL 0 picks a free port, a path is a Unix socket')
    .option('--bind <address>', 'local address to listen on', '127.0.0.1')
    .option('--sessions <n>', `sessions per spec, connections spread over them (default ${DEFAULT_SESSIONS})`)
    .option('--json', 'one JSON line per listener on stdout (for scripts)')
    .option('--reason <text>', 'reason recorded with the sessions, for audit')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx forward i-0123456789abcdef0 5432                  # localhost:5432 -> the instance's 5432
  $ ssmx forward i-0123456789abcdef0 0:5432 --json         # any free local port, printed as JSON
  $ ssmx forward i-0123456789abcdef0 8080:db.internal:5432 6379 ./web.sock:80

Runs until Ctrl-C, then ends its sessions. Exit status: 0 when stopped by you;
2 bad spec or local port in use, 3 credentials, 4 target, 5 connection, 6 protocol.`,
    )
    .action((target: string, specs: string[], options: ForwardOptions) =>
      run(() => forwardCommand(target, specs, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('proxy')
    .description('Join an ssh session to stdin/stdout, as ssh\'s ProxyCommand (AWS-StartSSHSession).')
    .argument('<target>', 'instance id (i-…, mi-…), or a Name tag (a trailing .ssmx is dropped)')
    .argument('[port]', 'port on the instance', '22')
    .option('--reason <text>', 'reason recorded with the session, for audit')
    .addHelpText(
      'after',
      `
Nothing but the connection's bytes goes to stdout; errors go to stderr. When
stdin ends, the bytes already sent are delivered, then the connection to the
port is closed and the session ends (the data channel has no half-close).

Examples (in ~/.ssh/config, or see ssmx ssh-config):
  Host i-* mi-*
      ProxyCommand ssmx proxy %h %p
  $ ssh -o ProxyCommand='ssmx proxy %h %p' ec2-user@i-0123456789abcdef0
  $ scp -o ProxyCommand='ssmx proxy %h %p' backup.tgz ec2-user@web-1:/tmp/

Exit status: 0 when the connection ends; 2 usage, 3 credentials, 4 target,
5 connection, 6 protocol; 128+N when stopped by signal N (ssh sends SIGHUP).`,
    )
    .action((target: string, port: string, options: ProxyOptions) =>
      run(() => proxyCommand(target, port, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('ssh-config')
    .description('Print Host blocks for ~/.ssh/config that route ssh through ssmx.')
    .option('--user <name>', 'login name to put in the blocks (e.g. ec2-user)')
    .addHelpText(
      'after',
      `
The ProxyCommand lines carry --region, --profile and --endpoint-url when given.

Example:
  $ ssmx --profile prod ssh-config --user ec2-user >> ~/.ssh/config
  $ ssh i-0123456789abcdef0            # by instance id
  $ ssh web-1.ssmx                     # by Name tag`,
    )
    .action((options: SshConfigOptions) => run(async () => sshConfigCommand({ ...program.opts<GlobalOptions>(), ...options }, context)));

  program
    .command('ssh')
    .description('Run the system ssh through a session, with no change to ~/.ssh/config.')
    .argument('<destination>', '[user@]target: an instance id or a Name tag')
    .argument('[ssh-args...]', 'more ssh arguments and the remote command, after --')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx ssh ec2-user@i-0123456789abcdef0
  $ ssmx ssh ec2-user@web-1 -- -L 8080:localhost:80 -i ~/.ssh/web.pem
  $ ssmx ssh ec2-user@web-1 -- uptime

Exit status: ssh's own (the remote command's, or 255 for an ssh failure).`,
    )
    .action((destination: string, sshArgs: string[], _options: unknown) =>
      run(() => sshCommand(destination, sshArgs, program.opts<GlobalOptions>(), context)),
    );

  program
    .command('plugin')
    .description(`Act as ${PLUGIN_NAME} (the AWS CLI's argument contract); also when run under that name.`)
    .argument('[args...]', '<response-json|AWS_SSM_START_SESSION_RESPONSE…> <region> StartSession <profile> <parameters-json> <endpoint>')
    .addHelpText(
      'after',
      `
The AWS CLI runs ${PLUGIN_NAME} for aws ssm start-session and aws ecs
execute-command. Install ssmx under that name with ssmx install-plugin, and it
runs those sessions (shell, port forwarding, ssh) with ssmx's engine. It exits
non-zero on failure, unlike the original.

  $ ssmx plugin --version
  $ ssmx install-plugin && aws ssm start-session --target i-0123456789abcdef0`,
    )
    .action((args: string[]) => run(() => pluginCommand(args, context)));

  program
    .command('install-plugin')
    .description(`Put a ${PLUGIN_NAME} launcher for ssmx on the PATH, for the AWS CLI.`)
    .argument('[dir]', 'directory to put it in (default: ~/.local/bin; on Windows %LOCALAPPDATA%\\ssmx\\bin)')
    .option('--force', 'replace a file of that name that is not ssmx\'s launcher')
    .action((dir: string | undefined, options: InstallPluginOptions) => run(() => installPluginCommand(dir, options, context)));

  program
    .command('emulator')
    .description('Run the bundled emulator of the Session Manager service and agent, on loopback.')
    .option('--port <port>', 'port to listen on; 0 picks a free one', '0')
    .option('--region <region>', 'region it answers for')
    .option('--agent-version <version>', 'version the emulated agent announces')
    .addOption(new Option('--agent-pacing <mode>', 'pause 1 ms after each output message, as the agent does').choices(['on', 'off']))
    .option('--config <file>', 'JSON file with instances and settings')
    .option('--instance <id[=name][:fault]>', 'an instance to serve (repeatable)', collect)
    .option('--shell <command>', 'command the shell plugin runs in its PTY (default: bash)')
    .addHelpText(
      'after',
      `
Once ready it prints one JSON line on stdout: endpoint, region, accessKeyId,
secretAccessKey and instances; then it serves until SIGTERM or SIGINT.

Examples:
  $ ssmx emulator --port 0
  $ ssmx emulator --agent-version 3.0.196.0 --instance i-0123456789abcdef0=web-1`,
    )
    .action((options: EmulatorOptions) => run(() => emulatorCommand(options, context)));

  program
    .command('demo')
    .description('Start the bundled emulator and open a shell through it: ssmx end to end, no AWS account needed.')
    .action(() => run(() => demoCommand(context)));

  return program;
}

const isHelp = (args: string[]) => args.length === 1 && (args[0] === '--help' || args[0] === '-h');

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: string[], context?: Partial<CliContext>): Promise<number> {
  const ctx: CliContext = {
    stdin: context?.stdin ?? process.stdin,
    stdout: context?.stdout ?? process.stdout,
    stderr: context?.stderr ?? process.stderr,
    env: context?.env ?? process.env,
  };
  // Drop-in mode: run as session-manager-plugin (a link or launcher of that name), or `ssmx plugin`,
  // the arguments are the AWS CLI's, exactly; commander must not read them as options.
  const invokedAs = basename(argv[1] ?? '').replace(/\.(c?js|mjs|cmd|exe)$/i, '');
  const pluginArgs = invokedAs === PLUGIN_NAME ? argv.slice(2) : argv[2] === 'plugin' && !isHelp(argv.slice(3)) ? argv.slice(3) : undefined;
  if (pluginArgs) {
    try {
      return await pluginCommand(pluginArgs, ctx);
    } catch (error) {
      return renderError(error, ctx.stderr, useColor(ctx, {}));
    }
  }
  let work: (() => Promise<number>) | undefined;
  const program = buildProgram(ctx, (next) => {
    work = next;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    throw error;
  }
  if (!work) {
    program.outputHelp();
    return ExitCode.Usage;
  }
  try {
    return await work();
  } catch (error) {
    return renderError(error, ctx.stderr, useColor(ctx, program.opts<GlobalOptions>()));
  }
}
