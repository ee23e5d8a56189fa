import { readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type * as NodePty from 'node-pty';
import { standalone } from '../../build-info.js';

/**
 * node-pty, for the emulator's shells only: an optional dependency with a native part, so that
 * ssmx installs without a compiler. Loaded once, on demand; every other command works without it.
 */
let pty: typeof NodePty | undefined;

/** Loads node-pty; false when it is not installed (or its native part is missing). */
export async function loadPty(): Promise<boolean> {
  if (pty) return true;
  // The standalone executable resolves modules against the path it was built at, not where it
  // runs: a node-pty found there would be an accident of the build machine.
  if (standalone) return false;
  try {
    pty = await import('node-pty');
    return true;
  } catch {
    return false;
  }
}

/** node-pty's spawn, once loadPty has succeeded. */
export function ptySpawn(): typeof NodePty.spawn | undefined {
  return pty?.spawn;
}

/** What to tell a person who runs the emulator where node-pty is missing: one line. */
export const PTY_MISSING = standalone
  ? 'the emulator needs node-pty, a native add-on that the standalone executable cannot load: install the npm package (npm install -g ssmx node-pty) to run it'
  : 'the emulator needs the optional package node-pty for its shells, and it is not installed here: npm install -g node-pty (it compiles with a C++ toolchain)';

/**
 * Has node-pty's reader take the PTY's output to its end, as the agent reads its PTY until a read
 * fails (agent/session/shell/shell.go, writePump). node-pty stops short in two ways, and the last
 * of what the program wrote is lost:
 * - libuv treats a hang-up that comes with a short read as the end of the stream (uv__stream_io),
 *   though the kernel may still hold output on its way to the terminal's read buffer: a shell that
 *   prints and exits at once loses its last line, the more often the busier the machine;
 * - 200 ms after the program exits, node-pty destroys a reader that has not met the end, such as
 *   one paused for backpressure, and with it what the reader had taken but not yet handed on.
 * Both end in the reader's destroy(). Before it runs, what the reader holds is handed on (as
 * 'data'), then the PTY is read without blocking until the read fails (EIO once the program's
 * side is closed and empty) or finds nothing more (EAGAIN: a background process keeps it open).
 * `deliver` takes those last reads, as the onData listener takes the rest.
 */
export function readToEnd(terminal: NodePty.IPty, deliver: (data: Buffer) => void): void {
  // node-pty's UnixTerminal: `fd` is its master descriptor, `_socket` the tty.ReadStream over it.
  const internals = terminal as unknown as { fd?: unknown; _socket?: Readable };
  const reader = internals._socket;
  const fd = internals.fd;
  if (!reader || typeof fd !== 'number') return;
  const destroy = reader.destroy;
  reader.destroy = function (this: Readable, ...args: Parameters<Readable['destroy']>) {
    reader.destroy = destroy;
    if (!reader.destroyed) {
      while (reader.read() !== null);
      const buffer = Buffer.allocUnsafe(65_536);
      for (;;) {
        let length: number;
        try {
          length = readSync(fd, buffer);
        } catch {
          break;
        }
        if (length === 0) break;
        deliver(Buffer.from(buffer.subarray(0, length)));
      }
    }
    return destroy.apply(this, args);
  };
}

/**
 * Input for the PTY, taken as the agent takes it: its shell plugin writes each message to the PTY
 * with a blocking write (agent/session/shell/shell_unix.go, `InputStreamMessageHandler`:
 * `p.stdin.Write`), so while the terminal's input buffer is full its reading of the data channel
 * stops and the client is held back. node-pty queues what the kernel does not take yet, without
 * bound; the function returned reports false while that queue holds bytes, and `drained` is
 * called once the kernel has taken them all.
 */
export function ptyInput(terminal: NodePty.IPty, drained: () => void): (data: Buffer) => boolean {
  // node-pty's UnixTerminal: `_writeStream` is its CustomWriteStream, whose `_writeQueue` holds
  // what fs.write has not yet taken and whose `_processWriteQueue` runs after every write.
  const stream = (terminal as unknown as { _writeStream?: { _writeQueue?: unknown[]; _processWriteQueue?: () => void } })._writeStream;
  const queue = stream?._writeQueue;
  const next = stream?._processWriteQueue;
  if (!stream || !Array.isArray(queue) || typeof next !== 'function') {
    // Another node-pty (Windows' conpty): written at once, as before.
    return (data) => {
      terminal.write(data as unknown as string);
      return true;
    };
  }
  let holding = false;
  // Once the program has exited nothing takes input any more (the agent's write fails then too);
  // writing on would only reach a closed descriptor, which node-pty reports on stderr.
  terminal.onExit(() => discardInput(terminal));
  stream._processWriteQueue = function (this: typeof stream) {
    next.call(this);
    if (holding && queue.length === 0) {
      holding = false;
      drained();
    }
  };
  return (data) => {
    terminal.write(data as unknown as string);
    if (queue.length === 0) return true;
    holding = true;
    return false;
  };
}

/**
 * Drops the input node-pty still queues for the PTY, before the PTY is closed: otherwise its next
 * write goes to a closed descriptor and node-pty prints "Unhandled pty write error … EBADF" on the
 * emulator's stderr. The agent, stopping a session, kills the shell; what it had not written is
 * lost with it.
 */
export function discardInput(terminal: NodePty.IPty): void {
  const stream = (terminal as unknown as { _writeStream?: { _writeQueue?: unknown[]; _writeImmediate?: NodeJS.Immediate } })._writeStream;
  if (!stream || !Array.isArray(stream._writeQueue)) return;
  stream._writeQueue.length = 0;
  if (stream._writeImmediate) clearImmediate(stream._writeImmediate);
  stream._writeImmediate = undefined;
}
