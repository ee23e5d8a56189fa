import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CliContext, GlobalOptions } from './context.js';
import { cliContext, useColor } from './context.js';
import { renderError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { ssmxVersion } from './self.js';
import { BACKGROUND_CHILD } from './readiness.js';
// Command modules load when their command runs: `ssmx --version` loads no AWS SDK and no emulator.
import type { ShellOptions } from './commands/shell.js';
import type { EmulatorOptions } from './commands/emulator.js';
import type { ForwardOptions } from './commands/forward.js';
import type { ProxyOptions } from './commands/proxy.js';
import type { SshConfigOptions, SshOptions } from './commands/ssh.js';
import type { InstallPluginOptions } from './commands/install-plugin.js';
import type { ListOptions } from './commands/list.js';
import { DEFAULT_COLUMNS, LIST_COLUMNS, type ListColumn } from './instance-columns.js';
import type { ExecOptions } from './commands/exec.js';
import type { RunOptions, SetupOptions } from './commands/run.js';
import type { FleetOptions } from './commands/fleet.js';
import type { SocksOptions } from './commands/socks.js';
import type { CpOptions } from './commands/cp.js';
import type { SessionsOptions } from './commands/sessions.js';
import { DEFAULT_SESSIONS, PLUGIN_NAME, RUN_DOCUMENT, invokedAsPlugin, parseRemotePort } from './names.js';


const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A timeout in seconds: more than 0 (ssmx never waits for ever), at most an hour. */
const parseTimeout = (flag: string) => (text: string): number => {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new InvalidArgumentError(`${flag} must be more than 0 and at most 3600 seconds, not ${text}`);
  return seconds;
};

/** `ssmx list --columns`: known names only, `all` for every one. */
function parseColumns(text: string): ListColumn[] {
  if (text === 'all') return Object.keys(LIST_COLUMNS) as ListColumn[];
  const columns = text.split(',').map((column) => column.trim().toLowerCase());
  const unknown = columns.filter((column) => !(column in LIST_COLUMNS));
  if (unknown.length > 0 || columns.length === 0) throw new InvalidArgumentError(`unknown column ${unknown.join(', ')}: the columns are ${Object.keys(LIST_COLUMNS).join(', ')}`);
  return columns as ListColumn[];
}

/** `socks --max-sessions`: 1 or more. */
function parseSessionLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`--max-sessions takes a count of 1 or more, not ${text}`);
  return Number(text);
}

/** The options of `ssmx run` that only --targets takes. */
const FLEET_FLAGS = {
  maxConcurrency: '--max-concurrency',
  maxErrors: '--max-errors',
  timeout: '--timeout',
  comment: '--comment',
  json: '--json',
  outputS3Bucket: '--output-s3-bucket',
  outputS3Prefix: '--output-s3-prefix',
} as const;

/**
 * How many of a command's operands came after the `--` that ends its options: commander gives
 * them all alike. The first `--` with no more words after it than there are operands is that one;
 * an earlier one is an option's value (`--reason --`).
 */
function operandsAfterDoubleDash(argv: string[], operandCount: number): number {
  for (let at = argv.indexOf('--'); at >= 0; at = argv.indexOf('--', at + 1)) {
    if (argv.length - 1 - at <= operandCount) return argv.length - 1 - at;
  }
  return 0;
}

/** A count (0 or more), checked as the command line is read. */
const parseCount = (flag: string) => (text: string): number => {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${flag} takes a count, not ${text}`);
  return Number(text);
};

/** A file descriptor number, checked as the command line is read. */
function parseDescriptor(text: string): number {
  const fd = Number(text);
  if (!/^\d+$/.test(text) || fd < 1) throw new InvalidArgumentError(`--ready-fd takes a descriptor number, not ${text}`);
  return fd;
}

/** A port on the instance, checked as the command line is read. */
function parsePortOption(text: string): string {
  try {
    return String(parseRemotePort(text));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** --reconnect-timeout in seconds, checked as the command line is read. */
function parseReconnectTimeout(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400) {
    throw new InvalidArgumentError(`--reconnect-timeout must be 0 to 86400 seconds, not ${text} (0 turns reconnecting off)`);
  }
  return seconds;
}

/** --sessions, checked as the command line is read: before any AWS client exists. */
function parseSessions(text: string): number {
  const sessions = Number(text);
  if (!/^\d+$/.test(text) || sessions < 1 || sessions > 64) throw new InvalidArgumentError(`--sessions must be 1 to 64, not ${text}`);
  return sessions;
}

/** `argv` is the command line the program will parse: where its `--` is, commander does not say. */
export function buildProgram(context: CliContext, run: (work: () => Promise<number>) => void, argv: string[]): Command {
  const program = new Command('ssmx')
    .description('Shells, tunnels and ssh over AWS Session Manager: a fast, dependable session-manager-plugin.')
    .version(ssmxVersion, '-V, --version')
    .option('--region <region>', 'AWS region (default: AWS_REGION, then the profile)')
    .option('--profile <name>', 'AWS profile from the shared config (default: AWS_PROFILE)')
    .option('--endpoint-url <url>', 'endpoint of the AWS APIs (default: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL)')
    .option('-q, --quiet', 'no progress or status lines on stderr')
    .option('-v, --verbose', 'say on stderr what ssmx does (target lookups, aliases)')
    .option('--debug', 'like --verbose, and every AWS call and answer, with tokens, keys and signatures redacted')
    .option('--reconnect-timeout <seconds>', 'how long to keep reopening a dropped connection (ResumeSession); 0: never', parseReconnectTimeout, 180)
    .option('--connect-timeout <seconds>', 'how long connecting to an AWS endpoint may take', parseTimeout('--connect-timeout'), 60)
    .option('--read-timeout <seconds>', 'how long an AWS endpoint may stay silent once connected', parseTimeout('--read-timeout'), 60)
    .option('--ssmmessages-endpoint <url>', 'where the data channel is, in place of the host the service names (default: AWS_ENDPOINT_URL_SSMMESSAGES)')
    .option('--proxy <url>', 'an HTTP proxy for every connection (default: https_proxy / HTTPS_PROXY, as the AWS CLI; no_proxy still applies)')
    .option('--no-proxy', 'connect directly, whatever the proxy variables say')
    .option('--no-color', 'no colour in messages (also NO_COLOR)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      // The parser's errors carry the prefix every other error of ssmx has.
      outputError: (text, write) => write(text.startsWith('error:') ? `ssmx: ${text}` : text),
    })
    .exitOverride();

  const TARGET_HELP = 'i-…, mi-…, a Name tag, tag:Key=Value, or an alias from the config file';
  program
    .command('shell')
    .description('Open an interactive shell on a managed instance.')
    .argument('[target]', `${TARGET_HELP}; none on a terminal: pick one`)
    .option('--document <name>', 'session document (default: the account\'s shell document)')
    .option('--parameters <json>', 'document parameters as JSON, e.g. \'{"command":["top"]}\'')
    .option('--reason <text>', 'reason recorded with the session, for audit')
    .option('--record <file>', 'write the session as an asciicast v2 recording (asciinema play FILE); mode 0600')
    .option('--record-input', 'with --record: keys typed too (they may be passwords)')
    .option('--overwrite', 'with --record: replace FILE if it exists (else that is refused, as asciinema rec does)')
    .option('--escape-char <char>', 'escape character after a newline, as ssh: ~. ends the session, ~? lists the escapes; none turns them off', '~')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx shell i-0123456789abcdef0
  $ ssmx shell web-1 --record web-1.cast   # then: asciinema play web-1.cast
  $ ssmx shell web-1                       # by Name tag; several: a picker
  $ echo 'uname -a' | ssmx shell tag:Env=staging --quiet    # stdout: what the remote terminal
                                                          # shows (prompt, echo, CRLF); ssmx run
                                                          # gives clean streams and the status
  $ ssmx shell i-0123456789abcdef0 --document AWS-StartInteractiveCommand --parameters '{"command":["top"]}'

Exit status: 0 when the remote shell ends; 2 usage, 3 credentials or permission,
4 target or document, 5 connection, 6 protocol; 128+N when stopped by signal N;
255 when ended with the escape ~. (as ssh).`,
    )
    .action((target: string | undefined, options: ShellOptions) =>
      run(async () => (await import('./commands/shell.js')).shellCommand(target, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('forward')
    .description('Forward local ports to an instance, or to hosts it can reach.')
    .argument('<target>', TARGET_HELP)
    .argument('[spec...]', 'PORT | LOCAL:PORT | LOCAL:HOST:PORT; LOCAL 0 picks a free port, a path is a Unix socket (default: the alias\'s)')
    .option('--bind <address>', 'local address to listen on', '127.0.0.1')
    .option('--sessions <n>', `sessions per spec, connections spread over them (default ${DEFAULT_SESSIONS})`, parseSessions)
    .option('--json', 'one JSON line per listener on stdout (for scripts)')
    .option('--background', 'detach once every listener is ready: print the JSON lines (with the pid) and exit')
    .option('--ready-file <path>', 'once every listener is ready, write the JSON lines there (removed at the end)')
    .option('--ready-fd <n>', 'once every listener is ready, write the JSON lines to this descriptor and close it', parseDescriptor)
    .option('--reason <text>', 'reason recorded with the sessions, for audit')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx forward i-0123456789abcdef0 5432                  # localhost:5432 -> the instance's 5432
  $ ssmx forward i-0123456789abcdef0 0:5432 --json         # any free local port, printed as JSON
  $ ssmx forward i-0123456789abcdef0 8080:db.internal:5432 6379 ./web.sock:80
  $ ssmx forward db-1 0:5432 --background    # scripts: returns once the port is ready
  $ ssmx forward db-1 15432:5432 --ready-file /tmp/db.ready &

Runs until Ctrl-C, then ends its sessions. Exit status: 0 when stopped by you;
2 bad spec or local port in use, 3 credentials, 4 target, 5 connection, 6 protocol.`,
    )
    .action((target: string, specs: string[], options: ForwardOptions) =>
      run(async () => (await import('./commands/forward.js')).forwardCommand(target, specs, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('socks')
    .description('A SOCKS5 proxy (and SOCKS4a) into what an instance can reach: no sshd, no keys.')
    .argument('<target>', TARGET_HELP)
    .option('--listen <[host:]port>', 'where the proxy listens (default 127.0.0.1:1080)')
    .option('--max-sessions <n>', 'at most this many sessions at once; a CONNECT past it is refused (default 32)', parseSessionLimit)
    .option('--idle-timeout <seconds>', 'end a destination\'s session after this long with no connection (default 60)', parseTimeout('--idle-timeout'))
    .option('--reason <text>', 'reason recorded with the sessions, for audit')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx socks web-1                           # 127.0.0.1:1080
  $ curl --socks5-hostname 127.0.0.1:1080 http://intranet.internal/
  $ ALL_PROXY=socks5h://127.0.0.1:1080 git fetch
  $ ssh -o ProxyCommand='nc -X 5 -x 127.0.0.1:1080 %h %p' db.internal

Each CONNECT rides an AWS-StartPortForwardingSessionToRemoteHost session for its
destination (host names are resolved by the instance, as with ssh -D), started on
first use and shared by later connections to it; a session with no connection
for --idle-timeout ends. A destination the instance cannot reach gets "connection
refused"; a session that cannot start, "general failure" and a line on stderr.
BIND and UDP ASSOCIATE are refused. Runs until Ctrl-C (exit 0).`,
    )
    .action((target: string, options: SocksOptions) =>
      run(async () => (await import('./commands/socks.js')).socksCommand(target, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('cp')
    .description('Copy files to and from an instance, through Session Manager alone: no sshd, no keys.')
    .argument('<source>', 'a local path, or TARGET:PATH on an instance')
    .argument('<destination>', 'TARGET:PATH on an instance, or a local path')
    .option('-r, --recursive', 'copy a directory (tar on both ends)')
    .option('--sessions <n>', `sessions a large file is split over, in parallel (default ${DEFAULT_SESSIONS}, as forward)`, parseSessions)
    .option('--reason <text>', 'reason recorded with the sessions, for audit')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx cp ./app.tar.gz web-1:/tmp/app.tar.gz
  $ ssmx cp web-1:/var/log/app.log ./
  $ ssmx cp -r ./conf i-0123456789abcdef0:/etc/app/

A download is a non-interactive command whose output carries the file in base64;
an upload goes in through an interactive command's terminal, raw, in base64 too.
Each copy is checked with a SHA-256 computed on the instance; modes as scp gives
them (less the umask, setuid dropped; a replaced file keeps its own); a copy that
fails or is stopped leaves nothing on either side, and exits 1 (5: connection).
The instance needs a POSIX shell, base64, sha256sum, head, tail, stat and od (GNU
coreutils, as on Linux), GNU tar for -r, and the account the ${RUN_DOCUMENT}
document (ssmx setup). A progress bar on a terminal's stderr; nothing on stdout.`,
    )
    .action((source: string, destination: string, options: CpOptions) =>
      run(async () => (await import('./commands/cp.js')).cpCommand(source, destination, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('list')
    .alias('ls')
    .description('List the managed instances: name, id, IP, platform, agent version, ping status.')
    .option('--filter <text>', 'tag:Key=Value, or a name or id (part of it, or a glob with * and ?)')
    .option('--json', 'a JSON array on stdout, for scripts')
    .option('--columns <list>', `columns to show, comma-separated, or all: ${Object.keys(LIST_COLUMNS).join(', ')} (default ${DEFAULT_COLUMNS.join(',')})`, parseColumns)
    .option('--sort <column>', 'sort by this column (default name)', (text: string) => parseColumns(text)[0]!)
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx list
  $ ssmx list --columns name,id,type,state,tags --sort type
  $ ssmx ls --filter 'web-*'
  $ ssmx list --filter tag:Env=prod --json | jq -r '.[].id'`,
    )
    .action((options: ListOptions) => run(async () => (await import('./commands/list.js')).listCommand({ ...program.opts<GlobalOptions>(), ...options }, context)));

  program
    .command('exec')
    .description('Open a shell (or run a command) in an ECS container, through ECS Exec.')
    .argument('<cluster>', 'cluster name or ARN')
    .argument('<task>', 'task id or ARN')
    .argument('[command...]', 'command to run, after -- (default /bin/sh)')
    .option('--container <name>', 'container, when the task has several')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx exec prod 0123456789abcdef0123456789abcdef
  $ ssmx exec prod 0123456789abcdef0123456789abcdef --container app -- bash -l
  $ ssmx exec arn:aws:ecs:eu-west-1:123456789012:cluster/prod 0123… -- cat /etc/os-release

Exit status: the command's where the agent reports it, else 0; errors as for shell.`,
    )
    .action((cluster: string, task: string, command: string[], options: ExecOptions) =>
      run(async () => (await import('./commands/exec.js')).execCommand(cluster, task, command, { ...program.opts<GlobalOptions>(), ...options }, context)),
    );

  program
    .command('run')
    .description('Run one command; its stdout, stderr and exit status become ssmx\'s. With --targets, on many instances through Run Command.')
    .argument('[target]', TARGET_HELP)
    .argument('[command...]', 'the command, after --: one string is shell syntax, several words a program and its arguments')
    .option('--reason <text>', 'reason recorded with the session, for audit')
    .option('--targets <list>', 'run on every instance matching: ids, names, tag:Key=Value, aliases, comma-separated (Run Command)')
    .option('--max-concurrency <n|n%>', 'with --targets: at most this many instances at once (the service\'s default: 50)')
    .option('--max-errors <n|n%>', 'with --targets: stop sending to more instances after more than this many fail (default: 0)')
    .option('--timeout <seconds>', 'with --targets: stop the command on an instance after this long (default: 3600)')
    .option('--comment <text>', 'with --targets: a comment kept with the command (at most 100 characters)')
    .option('--json', 'with --targets: one JSON object per instance on stdout')
    .option('--output-s3-bucket <bucket>', 'with --targets: the service keeps the whole output there; ssmx reads it when the inline copy was cut')
    .option('--output-s3-prefix <prefix>', 'with --output-s3-bucket: the key prefix')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx run web-1 -- uname -a
  $ ssmx run i-0123456789abcdef0 -- 'df -h / | tail -1'
  $ ssmx run web-1 -- printf '%s\\n' 'two  words'
  $ ssmx run tag:Role=db -- systemctl is-active postgresql || echo down
  $ ssmx run --targets tag:Env=prod -- 'systemctl is-active app'
  $ ssmx run --targets web-1,web-2 --max-concurrency 1 --json -- uptime

One target: a session (Session Manager). One string after -- is shell syntax:
it runs as sh -c '<string>' on the instance (pipes, ;, redirections, $VAR,
globs). Several words are a program and its arguments, each passed exactly as
given, with no shell. (The SSM agent itself runs commands with no shell; ssmx
adds sh -c for one string.) Linux and macOS instances only: a Windows instance
is refused.

The command gets no stdin: Session Manager passes none to a non-interactive
command, so input piped to ssmx run is not read (use ssmx shell to type).

Stdout and stderr stay apart and the remote exit status is ssmx's when the
account has the ${RUN_DOCUMENT} session document (ssmx setup creates it);
without it, ssmx says so, output comes combined and the status is 0. A command
killed by a signal makes ssmx say so and exit 255 (the agent does not say which
signal).

--targets: Run Command (SendCommand with AWS-RunShellScript, or
AWS-RunPowerShellScript when every instance is Windows). The service fans out,
so a thousand instances cost one call. Tags of different keys must all match;
several values of one key, or several names, are alternatives; instance ids
(at most 50) are not mixed with names or tags. Each instance's output is shown
as it finishes, every line after its name and id (stderr on stderr), then a
summary table on stderr. The service keeps 24,000 characters of each stream:
ssmx says when output was cut, and reads it whole from S3 with
--output-s3-bucket. Ctrl-C cancels the command on the service (CancelCommand)
and waits for the instances to stop; Ctrl-C again stops waiting. Exit status:
0 when every instance succeeded, 1 when any did not (failed, timed out,
undeliverable, cancelled), 4 when nothing matches, 130 after Ctrl-C. The
command is what follows --; a target beside --targets is a usage error (2).`,
    )
    .action((target: string | undefined, command: string[], options: RunOptions & Partial<FleetOptions>) => {
      const fleetOnly = Object.entries(FLEET_FLAGS).filter(([key]) => options[key as keyof typeof FLEET_FLAGS] !== undefined).map(([, flag]) => flag);
      if (options.targets !== undefined) {
        // With --targets the command is what follows --; a word before it is the [target] that
        // `ssmx run web-1 -- true` gives, and both at once would run `web-1 true` on the fleet.
        const operands = [...(target !== undefined ? [target] : []), ...command];
        const before = operands.length - operandsAfterDoubleDash(argv, operands.length);
        run(async () => {
          if (before > 0) {
            throw new UsageError(`a target (${operands[0]}) and --targets ${options.targets}: give one or the other`, `the command goes after --: ssmx run --targets ${options.targets} -- COMMAND, or ssmx run TARGET -- COMMAND`);
          }
          return (await import('./commands/fleet.js')).fleetCommand(operands, { ...program.opts<GlobalOptions>(), ...(options as FleetOptions) }, context);
        });
        return;
      }
      run(async () => {
        if (fleetOnly.length) throw new UsageError(`${fleetOnly[0]} is for --targets`, 'ssmx run --targets tag:Env=prod -- uptime');
        if (target === undefined) throw new UsageError('no target given', 'ssmx run web-1 -- uname -a, or ssmx run --targets tag:Env=prod -- uptime');
        return (await import('./commands/run.js')).runCommand(target, command, { ...program.opts<GlobalOptions>(), ...options }, context);
      });
    });

  program
    .command('setup')
    .description(`Create the ${RUN_DOCUMENT} session document that ssmx run uses.`)
    .option('--print', 'print the document instead of creating it')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx setup --print          # read it first
  $ ssmx --profile prod --region eu-west-1 setup`,
    )
    .action((options: SetupOptions) => run(async () => (await import('./commands/run.js')).setupCommand({ ...program.opts<GlobalOptions>(), ...options }, context)));

  program
    .command('__targets', { hidden: true })
    .description('The targets completion offers, one a line (for the completion scripts).')
    .action(() => run(async () => (await import('./commands/targets.js')).targetsCommand(program.opts<GlobalOptions>(), context)));

  program
    .command('sessions')
    .description('List your active sessions (everyone\'s with --all): id, target, document, start, status.')
    .option('--all', 'every active session in the account and region, with its owner')
    .option('--json', 'a JSON array on stdout, for scripts')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx sessions
  $ ssmx sessions --all --json | jq -r '.[] | select(.target == "i-0123456789abcdef0") | .sessionId'
  $ ssmx terminate $(ssmx sessions --json | jq -r '.[].sessionId')`,
    )
    .action((options: SessionsOptions) => run(async () => (await import('./commands/sessions.js')).sessionsCommand({ ...program.opts<GlobalOptions>(), ...options }, context)));

  program
    .command('terminate')
    .description('End sessions on the service (TerminateSession).')
    .argument('<session-id...>', 'session ids, as ssmx sessions shows them')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx terminate alice-0123456789abcdef0

Each id ended is said on stdout; each that could not be, on stderr: one that had
already ended, or one the service has no session of (TerminateSession accepts
any id; ssmx asks DescribeSessions).
Exit status: 0 when every session was ended; 1 when any could not be.`,
    )
    .action((ids: string[]) => run(async () => (await import('./commands/sessions.js')).terminateCommand(ids, program.opts<GlobalOptions>(), context)));

  program
    .command('completion')
    .description('Print a shell completion script.')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Examples:
  $ source <(ssmx completion bash)               # in ~/.bashrc
  $ source <(ssmx completion zsh)                # in ~/.zshrc
  $ ssmx completion fish > ~/.config/fish/completions/ssmx.fish`,
    )
    .action((shell: string) => run(async () => (await import('./commands/completion.js')).completionCommand(shell, program, context)));

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

Examples:
  Host i-* mi-*                           # in ~/.ssh/config (or see ssmx ssh-config)
      ProxyCommand ssmx proxy %h %p
  $ ssh -o ProxyCommand='ssmx proxy %h %p' ec2-user@i-0123456789abcdef0
  $ scp -o ProxyCommand='ssmx proxy %h %p' backup.tgz ec2-user@web-1:/tmp/

Exit status: 0 when the connection ends; 2 usage, 3 credentials, 4 target,
5 connection, 6 protocol; 128+N when stopped by signal N (ssh sends SIGHUP).`,
    )
    .action((target: string, port: string, options: ProxyOptions) =>
      run(async () => (await import('./commands/proxy.js')).proxyCommand(target, port, { ...program.opts<GlobalOptions>(), ...options }, context)),
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
    .action((options: SshConfigOptions) => run(async () => (await import('./commands/ssh.js')).sshConfigCommand({ ...program.opts<GlobalOptions>(), ...options }, context)));

  program
    .command('ssh')
    .description('Run the system ssh through a session, with no change to ~/.ssh/config.')
    .argument('<destination>', '[user@]target: an instance id or a Name tag')
    .argument('[ssh-args...]', 'more ssh arguments and the remote command, after --')
    .option('-p, --port <port>', 'port of sshd on the instance (default 22)', parsePortOption)
    .option('-l, --login <user>', 'login name, as ssh -l')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx ssh ec2-user@i-0123456789abcdef0
  $ ssmx ssh -p 2222 -l admin web-1
  $ ssmx ssh ec2-user@web-1 -- -L 8080:localhost:80 -i ~/.ssh/web.pem
  $ ssmx ssh ec2-user@web-1 -- uptime

Exit status: ssh's own (the remote command's, or 255 for an ssh failure).`,
    )
    .action((destination: string, sshArgs: string[], options: SshOptions) =>
      run(async () => (await import('./commands/ssh.js')).sshCommand(destination, sshArgs, { ...program.opts<GlobalOptions>(), ...options }, context)),
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
runs those sessions (shell, port forwarding, ssh) with ssmx's engine. A remote
command's status is not the plugin's. Failures are said on stderr; they give a
non-zero status only when the AWS CLI passed the session response through the
environment: a CLI that passes it as an argument prints that argument (the
session token) beside any non-zero status.

  $ ssmx plugin --version
  $ ssmx install-plugin && aws ssm start-session --target i-0123456789abcdef0`,
    )
    .action((args: string[]) => run(async () => (await import('./commands/plugin.js')).pluginCommand(args, context)));

  program
    .command('install-plugin')
    .description(`Put a ${PLUGIN_NAME} launcher for ssmx on the PATH, for the AWS CLI.`)
    .argument('[dir]', 'directory to put it in (default: ~/.local/bin; on Windows %LOCALAPPDATA%\\ssmx\\bin)')
    .option('--force', 'replace a file of that name that is not ssmx\'s launcher')
    .addHelpText(
      'after',
      `
Examples:
  $ ssmx install-plugin                      # ~/.local/bin/session-manager-plugin
  $ sudo ssmx install-plugin /usr/local/bin --force   # in place of the official one`,
    )
    .action((dir: string | undefined, options: InstallPluginOptions) => run(async () => (await import('./commands/install-plugin.js')).installPluginCommand(dir, options, context)));

  program
    .command('emulator')
    .description('Run the bundled emulator of the Session Manager service and agent, on loopback.')
    .option('--port <port>', 'port to listen on; 0 picks a free one', '0')
    .option('--host <address>', 'loopback address to listen on: 127.0.0.1 (default), another 127.x, or ::1')
    .option('--region <region>', 'region it answers for')
    .option('--agent-version <version>', 'version the emulated agent announces')
    .addOption(new Option('--agent-pacing <mode>', 'pause 1 ms after each output message, as the agent does').choices(['on', 'off']))
    .addOption(new Option('--duplicate-acks <mode>', 'acknowledge a duplicate message again (docs/protocol.md §6); off drops it silently, as published agent sources do').choices(['on', 'off']))
    .option('--config <file>', 'JSON file with instances and settings')
    .option('--instance <id[=name[,Key=Value…]][:fault]>', 'an instance to serve (repeatable): a name, tags, and a fault or offline', collect)
    .option('--shell <command>', 'command the shell plugin runs in its PTY (default: bash)')
    .option('--run-as <user>', "the account's preferences with Run As on, this user by default: sessions start as the user, and fail as the agent's do when it does not exist")
    .option('--kms-key-id <id>', 'encrypt every session with this KMS key (the emulator serves GenerateDataKey)')
    .option('--public-endpoint <url>', 'the address clients reach it by, when a proxy stands between (StreamUrls point there)')
    .option('--tls-cert <file>', 'serve HTTPS and wss:// with this certificate (PEM), as AWS does; with --tls-key')
    .option('--tls-key <file>', 'the private key (PEM) of --tls-cert')
    .option('--gateway-close-after <seconds>', 'close every data channel WebSocket normally (1000) this long after it opens, as the gateway does on its own schedule', parseTimeout('--gateway-close-after'))
    .option('--terminate-after <seconds>', 'terminate every session this long after it starts (an idle timeout, a maximum duration)', parseTimeout('--terminate-after'))
    .option('--fail-resume <n>', 'fail the next n ResumeSession calls', parseCount('--fail-resume'))
    .option('--starts-before-failing <n>', 'let StartSession succeed n times, then answer TargetNotConnected', parseCount('--starts-before-failing'))
    .option('--require-signed-data-channel', 'refuse (403) a data channel upgrade that is neither SigV4-signed nor presigned, as the service will for clients older than plugin 1.2.764.0')
    .option('--presigned-stream-urls', 'give presigned StreamUrls (SigV4 query form, the emulator\'s own keys)')
    .option('--require-kms-challenge', "end a KMS session whose client does not acknowledge the agent's random challenge (the agent's Kms.RequireKMSChallengeResponse)")
    .addOption(new Option('--channel-closed-output <mode>', "whether channel_closed carries the agent's reason for ending (a refused destination): the service has been seen doing both").choices(['on', 'off']))
    .option('--events', 'after the ready line, one JSON line on stdout per StartSession and per data channel upgrade')
    .addHelpText(
      'after',
      `
Once ready it prints one JSON line on stdout: endpoint, region, accessKeyId,
secretAccessKey and instances; then it serves until SIGTERM or SIGINT. With
--events, each StartSession, data channel upgrade and closed data channel
follows as a JSON line of its own ({"event":"start-session",…},
{"event":"data-channel-upgrade",…}, {"event":"data-channel-closed",…}).

Examples:
  $ ssmx emulator --port 0
  $ ssmx emulator --agent-version 3.0.196.0 --instance i-0123456789abcdef0=web-1`,
    )
    .action((options: EmulatorOptions) => run(async () => (await import('./commands/emulator.js')).emulatorCommand(options, context)));

  program
    .command('demo')
    .description('Start the bundled emulator and open a shell through it: ssmx end to end, no AWS account needed.')
    .addHelpText(
      'after',
      `
Example:
  $ ssmx demo          # then type commands; exit ends the demo`,
    )
    .action(() => run(async () => (await import('./commands/demo.js')).demoCommand(context)));

  return program;
}

const isHelp = (args: string[]) => args.length === 1 && (args[0] === '--help' || args[0] === '-h');

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: string[], context?: Partial<CliContext>): Promise<number> {
  const ctx = cliContext(context);
  // A background forward outlives the process that started it, and with it the reader of its
  // stderr: a write there then fails, and must not end the forward.
  if (ctx.env[BACKGROUND_CHILD]) process.stderr.on('error', () => undefined);

  // Drop-in mode: run as session-manager-plugin (a link or launcher of that name), or `ssmx plugin`,
  // the arguments are the AWS CLI's, exactly; commander must not read them as options.
  const pluginArgs = invokedAsPlugin(argv) ? argv.slice(2) : argv[2] === 'plugin' && !isHelp(argv.slice(3)) ? argv.slice(3) : undefined;
  if (pluginArgs) {
    try {
      return await (await import('./commands/plugin.js')).pluginCommand(pluginArgs, ctx);
    } catch (error) {
      return renderError(error, ctx.stderr, useColor(ctx, {}));
    }
  }
  let work: (() => Promise<number>) | undefined;
  const program = buildProgram(
    ctx,
    (next) => {
      work = next;
    },
    argv,
  );
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
    ctx.spinners.stopAll();
    return renderError(error, ctx.stderr, useColor(ctx, program.opts<GlobalOptions>()));
  } finally {
    // No status output outlives the command: nothing may hold up its exit.
    ctx.spinners.stopAll();
  }
}
