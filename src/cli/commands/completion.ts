import type { Command, Option } from 'commander';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** The commands whose first argument is a target: completion offers instances and aliases there. */
const TARGET_COMMANDS = ['shell', 'forward', 'run', 'proxy', 'ssh', 'socks'];

interface Spec {
  name: string;
  aliases: string[];
  description: string;
  options: Array<{ long: string; description: string; takesValue: boolean }>;
}

const optionSpec = (option: Option) => ({ long: option.long ?? '', description: option.description, takesValue: option.required || option.optional });

function specs(program: Command): { globals: Spec['options']; commands: Spec[] } {
  return {
    globals: program.options.filter((o) => o.long).map(optionSpec),
    commands: program.commands
      .filter((c) => c.name() !== 'help' && !c.name().startsWith('__'))
      .map((c) => ({ name: c.name(), aliases: c.aliases(), description: c.description(), options: c.options.filter((o) => o.long).map(optionSpec) })),
  };
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bash(program: Command): string {
  const { globals, commands } = specs(program);
  const valueOptions = [...globals, ...commands.flatMap((c) => c.options)].filter((o) => o.takesValue).map((o) => o.long);
  const cases = commands.map((c) => `    ${[c.name, ...c.aliases].join('|')}) opts=${quote(c.options.map((o) => o.long).join(' '))} ;;`).join('\n');
  return `# ssmx completion for bash. Load it with: source <(ssmx completion bash)
_ssmx() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" opts="" i word
  local commands=${quote(commands.flatMap((c) => [c.name, ...c.aliases]).join(' '))}
  local globals=${quote(globals.map((o) => o.long).join(' '))}
  local takes_value=' ${valueOptions.join(' ')} '
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$takes_value" == *" $word "* ]]; then ((i++)); continue; fi
    if [[ "$word" != -* ]]; then cmd="$word"; break; fi
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  # The first argument of these is a target: aliases, Name tags and ids, from ssmx's short-lived
  # cache (ssmx __targets), with the global options given before the command.
  local positional=0 j
  for ((j = i + 1; j < COMP_CWORD; j++)); do
    word="\${COMP_WORDS[j]}"
    if [[ "$takes_value" == *" $word "* ]]; then ((j++)); continue; fi
    [[ "$word" != -* ]] && ((positional++))
  done
  if [[ "$cur" != -* && $positional -eq 0 && " ${TARGET_COMMANDS.join(' ')} " == *" $cmd "* ]]; then
    local prefix="" targets
    if [[ "$cmd" == ssh && "$cur" == *@* ]]; then prefix="\${cur%%@*}@"; cur="\${cur#*@}"; fi
    targets="$(ssmx "\${COMP_WORDS[@]:1:i-1}" __targets 2>/dev/null)"
    COMPREPLY=($(compgen -P "$prefix" -W "$targets" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts $globals --help" -- "$cur"))
  elif [[ "$cmd" == completion ]]; then
    COMPREPLY=($(compgen -W "${SHELLS.join(' ')}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _ssmx ssmx
`;
}

function zsh(program: Command): string {
  return `# ssmx completion for zsh. Load it with: source <(ssmx completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

function fish(program: Command): string {
  const { globals, commands } = specs(program);
  const lines = ['# ssmx completion for fish. Load it with: ssmx completion fish | source', 'complete -c ssmx -f'];
  const flag = (o: Spec['options'][number]) => `-l ${o.long.replace(/^--/, '')}${o.takesValue ? ' -r' : ''} -d ${quote(o.description)}`;
  for (const o of globals) lines.push(`complete -c ssmx ${flag(o)}`);
  for (const c of commands) {
    for (const name of [c.name, ...c.aliases]) lines.push(`complete -c ssmx -n __fish_use_subcommand -a ${name} -d ${quote(c.description)}`);
    for (const o of c.options) lines.push(`complete -c ssmx -n ${quote(`__fish_seen_subcommand_from ${[c.name, ...c.aliases].join(' ')}`)} ${flag(o)}`);
  }
  lines.push(`complete -c ssmx -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(' ')}'`);
  lines.push(`complete -c ssmx -n '__fish_seen_subcommand_from ${TARGET_COMMANDS.join(' ')}' -a '(ssmx __targets 2>/dev/null)'`);
  return `${lines.join('\n')}\n`;
}

/** `ssmx completion bash|zsh|fish`: a completion script on stdout. */
export function completionCommand(shell: string, program: Command, context: CliContext): number {
  const scripts: Record<(typeof SHELLS)[number], (p: Command) => string> = { bash, zsh, fish };
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`no completion for ${shell}`, `one of ${SHELLS.join(', ')}`);
  context.stdout.write(scripts[shell as (typeof SHELLS)[number]](program));
  return 0;
}
