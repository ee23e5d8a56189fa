import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/emulator.js';
import { terminalDevices } from '../../src/cli/context.js';

/** Every .ts file under a directory. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const WRITERS = /\b(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|openSync|copyFile|copyFileSync|mkdtemp|symlink|rename)\s*\(/;

describe('files ssmx writes', () => {
  // Besides these, ssmx creates only the Unix sockets `forward` is asked to listen on, mode 0600
  // (tested in test/e2e/forward.test.ts).
  it('none but the plugin launcher: no log, cache or credential file is ever written (so none can be readable by others)', () => {
    const client = sources(join(repoRoot, 'src')).filter((path) => !path.includes(`${join('src', 'emulator')}`));
    const writing = client.filter((path) => WRITERS.test(readFileSync(path, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    // The launcher is a program the AWS CLI runs, possibly as another user (sudo install into
    // /usr/local/bin): it must be executable by them, and it holds only two paths.
    // context.ts opens /dev/tty, the terminal, to ask for an MFA code when stdin is a pipe.
    // readiness.ts writes `forward --ready-file`, where the user asks, mode 0600 (test/e2e/forward-scripts.test.ts).
    // target-cache.ts keeps completion's list of instance names and ids a minute, mode 0600 in a
    // 0700 folder of the user's cache directory: no secret, only what `ssmx list` shows.
    // recording.ts writes `shell --record FILE`, where the user asks, mode 0600, over an existing
    // file only with --overwrite (test/e2e/shell-record-escapes.test.ts); it holds what the terminal
    // showed, input only if asked.
    // cp-local.ts writes `ssmx cp`'s download where the user asks: first under a temporary name
    // beside it, mode 0600, renamed (with the instance's mode) only once its SHA-256 is checked
    // (test/e2e/cp.test.ts); -r packs and unpacks with tar in a private temporary folder.
    expect(writing.map((path) => relative(repoRoot, path))).toEqual(['src/cli/commands/install-plugin.ts', 'src/cli/context.ts', 'src/cli/cp-local.ts', 'src/cli/readiness.ts', 'src/cli/target-cache.ts', 'src/session/recording.ts']);
    // …and nothing but the terminal's devices: /dev/tty, or the console on Windows.
    expect(readFileSync(join(repoRoot, 'src/cli/context.ts'), 'utf8').match(/openSync\([^,]*/g)).toEqual(['openSync(devices.input', 'openSync(devices.output']);
    expect(terminalDevices('linux')).toEqual({ input: '/dev/tty', output: '/dev/tty' });
    expect(terminalDevices('win32')).toEqual({ input: 'CONIN$', output: 'CONOUT$' });
  });
});
