import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ReadStream } from 'node:tty';

/** stty where every Unix keeps it: the PATH that runs ssmx (the AWS CLI's, a launcher's) may not list it. */
const STTY = ['/bin/stty', '/usr/bin/stty'].find((path) => existsSync(path)) ?? 'stty';

/**
 * Puts a TTY in raw mode (no echo, no line editing, no signals: Ctrl-C is a byte for the remote)
 * and returns the one function that puts it back. The restore runs at most once, and also on
 * process exit, so no way out leaves the user's terminal raw.
 */
export function enterRawMode(stdin: ReadStream): () => void {
  if (!stdin.isTTY) return () => {};
  const wasRaw = stdin.isRaw;
  stdin.setRawMode(true);
  // libuv's raw mode keeps output post-processing (ONLCR), which would turn the remote's "\r\n"
  // into "\r\r\n" and a full-screen program's bare "\n" into a carriage return too. ssh turns it
  // off; so does ssmx, so remote output reaches the terminal byte for byte. Node has no call for
  // output flags, hence stty on the same terminal; leaving raw mode restores the saved modes.
  spawnSync(STTY, ['-opost'], { stdio: [stdin, 'ignore', 'ignore'] });
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.removeListener('exit', restore);
    try {
      stdin.setRawMode(wasRaw);
    } catch {
      // the terminal is gone (hang-up): nothing to restore
    }
  };
  process.on('exit', restore);
  return restore;
}
