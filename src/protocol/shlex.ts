/**
 * How the agent splits a non-interactive command (and every command in container mode, ECS Exec)
 * into words before it runs them with no shell: the rules of github.com/google/shlex `Split`, which
 * agent/session/shell/shell_unix.go `StartCommandExecutor` calls (docs/protocol.md §7).
 *
 * - Space, tab, CR and LF separate words.
 * - `\` outside quotes makes the next character literal, whatever it is.
 * - `'…'` is literal to the closing quote.
 * - `"…"` is literal too, except that `\` makes the next character literal (any character, unlike
 *   a POSIX shell, where it escapes only a few).
 * - `#` where a word would start begins a comment to the end of the line; inside a word it is literal.
 * - A quote or escape left open at the end is an error (the agent then does not start the command).
 *
 * Nothing else is special: `;`, `|`, `>`, `&&`, `$VAR` and globs are plain characters.
 */
export type ShlexResult = { words: string[] } | { error: string };

export function shlexSplit(text: string): ShlexResult {
  const words: string[] = [];
  let word: string[] | undefined;
  let state: 'between' | 'word' | 'escape' | 'single' | 'double' | 'double-escape' | 'comment' = 'between';
  const end = () => {
    if (word) words.push(word.join(''));
    word = undefined;
  };
  for (const char of text) {
    const space = char === ' ' || char === '\t' || char === '\r' || char === '\n';
    switch (state) {
      case 'between':
        if (space) break;
        if (char === '#') {
          state = 'comment';
          break;
        }
        word = [];
        state = char === '"' ? 'double' : char === "'" ? 'single' : char === '\\' ? 'escape' : 'word';
        if (state === 'word') word.push(char);
        break;
      case 'word':
        if (space) {
          end();
          state = 'between';
        } else if (char === '"') state = 'double';
        else if (char === "'") state = 'single';
        else if (char === '\\') state = 'escape';
        else word!.push(char);
        break;
      case 'escape':
        word!.push(char);
        state = 'word';
        break;
      case 'single':
        if (char === "'") state = 'word';
        else word!.push(char);
        break;
      case 'double':
        if (char === '"') state = 'word';
        else if (char === '\\') state = 'double-escape';
        else word!.push(char);
        break;
      case 'double-escape':
        word!.push(char);
        state = 'double';
        break;
      case 'comment':
        if (char === '\n') state = 'between';
        break;
    }
  }
  if (state === 'single' || state === 'double') return { error: 'EOF found when expecting closing quote' };
  if (state === 'escape' || state === 'double-escape') return { error: 'EOF found after escape character' };
  end();
  return { words };
}

/**
 * One word as the agent's split gives it back unchanged: bare when it has nothing special,
 * else in single quotes, or in double quotes (where only `"` and `\` need a `\`) when it holds a
 * single quote itself.
 */
export function shlexQuote(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word;
  if (!word.includes("'")) return `'${word}'`;
  return `"${word.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * One word as a POSIX shell reads it back unchanged (for scripts ssmx writes, which `sh` runs):
 * bare when it has nothing special, else in single quotes, a single quote inside written '\''.
 */
export const shQuote = (word: string): string => (word !== '' && /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);
