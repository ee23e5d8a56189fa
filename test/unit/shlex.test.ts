import { describe, expect, it } from 'vitest';
import { shlexQuote, shlexSplit } from '../../src/protocol/shlex.js';
import { agentCommandLine } from '../../src/lib/run.js';

// The agent splits non-interactive commands with github.com/google/shlex Split
// (agent/session/shell/shell_unix.go, StartCommandExecutor); these cases are its rules.
describe('the agent\'s command split (google/shlex)', () => {
  const words = (text: string) => {
    const result = shlexSplit(text);
    if ('error' in result) throw new Error(result.error);
    return result.words;
  };

  it('splits on spaces, tabs and newlines; shell syntax is plain text', () => {
    expect(words('echo a-b | tr - +; exit 3')).toEqual(['echo', 'a-b', '|', 'tr', '-', '+;', 'exit', '3']);
    expect(words('df -h / | tail -1')).toEqual(['df', '-h', '/', '|', 'tail', '-1']);
    expect(words(' a\tb\r\nc  ')).toEqual(['a', 'b', 'c']);
    expect(words('echo $HOME > /tmp/x && ls *')).toEqual(['echo', '$HOME', '>', '/tmp/x', '&&', 'ls', '*']);
  });

  it('single quotes are literal; double quotes too, but a backslash in them escapes any character', () => {
    expect(words(`printf '%s\\n' 'two  words'`)).toEqual(['printf', '%s\\n', 'two  words']);
    expect(words(`echo "a \\"b\\" \\c"`)).toEqual(['echo', 'a "b" c']);
    expect(words(`a"b c"'d e'f`)).toEqual(['ab cd ef']);
    expect(words(`'' ""`)).toEqual(['', '']);
  });

  it('a backslash outside quotes makes the next character literal', () => {
    expect(words('a\\ b c\\\\d \\"')).toEqual(['a b', 'c\\d', '"']);
  });

  it('# where a word would start begins a comment to the end of the line; inside a word it is literal', () => {
    expect(words('echo a#b # comment\necho c')).toEqual(['echo', 'a#b', 'echo', 'c']);
  });

  it('an unbalanced quote or a trailing escape is an error, in the library\'s words', () => {
    expect(shlexSplit(`echo 'unterminated`)).toEqual({ error: 'EOF found when expecting closing quote' });
    expect(shlexSplit('echo "unterminated')).toEqual({ error: 'EOF found when expecting closing quote' });
    expect(shlexSplit('echo trailing\\')).toEqual({ error: 'EOF found after escape character' });
  });

  it('a quoted word comes back from the split exactly, whatever it holds', () => {
    let seed = 3;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const alphabet = ` \t\n'"\\$;|&#*?a-b/é€😀`;
    const chars = [...alphabet];
    for (let round = 0; round < 2000; round++) {
      const word = Array.from({ length: Math.floor(random() * 12) }, () => chars[Math.floor(random() * chars.length)]).join('');
      expect(words(shlexQuote(word)), JSON.stringify(word)).toEqual([word]);
    }
  });
});

describe('what ssmx run and exec give the agent', () => {
  it('one string: sh, -c and the string unchanged after the agent\'s split', () => {
    const line = agentCommandLine(["echo a-b | tr - +; echo \"it's $HOME\" > /dev/null; exit 3"]);
    expect(shlexSplit(line)).toEqual({ words: ['sh', '-c', "echo a-b | tr - +; echo \"it's $HOME\" > /dev/null; exit 3"] });
  });

  it('several words: each arrives as it was given, with no shell', () => {
    const argv = ['printf', '%s\\n', 'two  words', "it's", '$HOME', ''];
    expect(shlexSplit(agentCommandLine(argv))).toEqual({ words: argv });
  });
});
