// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { PayloadType } from '../../src/protocol/constants.js';
import { loadPty } from '../../src/emulator/agent/pty.js';
import { ShellPlugin } from '../../src/emulator/agent/shell-plugin.js';

/**
 * Runs a program in the emulator's shell plugin, in a real PTY, with a host that holds the plugin
 * paused (its backpressure) for `pausedMs` from the start, and returns what the plugin sent.
 */
function runInPlugin(command: string[], pausedMs: number): Promise<string> {
  return new Promise((resolve) => {
    const sent: Buffer[] = [];
    const plugin: ShellPlugin = new ShellPlugin(
      {
        output: (type, payload) => type === PayloadType.Output && sent.push(payload),
        done: () => resolve(Buffer.concat(sent).toString('utf8')),
        terminate: () => undefined,
        inputDrained: () => undefined,
      },
      command,
    );
    plugin.start();
    plugin.pause();
    setTimeout(() => plugin.resume(), pausedMs);
  });
}

/** What the program prints, as a terminal passes it on (each newline as CR LF). */
const throughTerminal = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' }).replaceAll('\n', '\r\n');

beforeAll(async () => {
  expect(await loadPty()).toBe(true);
});

describe("the emulator's shell plugin reads its PTY to the end, as the agent does", () => {
  it('output still in the PTY when the program exits, while the host holds the plugin paused, all arrives', async () => {
    // node-pty drops its reader 200 ms after the exit if it has not met the end, with what it holds.
    const output = await runInPlugin(['seq', '1', '3000'], 1_500);
    expect(output.length).toBe(throughTerminal('seq', ['1', '3000']).length);
    expect(output).toBe(throughTerminal('seq', ['1', '3000']));
  });

  it('a program that prints a lot and exits at once loses nothing, in any of several runs', async () => {
    // libuv can take the hang-up at the exit for the end while the kernel still holds output; a
    // run lost its last few KiB about one time in three before the plugin read to the end itself.
    const expected = throughTerminal('seq', ['1', '100000']);
    const outputs = await Promise.all(Array.from({ length: 6 }, () => runInPlugin(['seq', '1', '100000'], 300)));
    for (const output of outputs) expect(output.length).toBe(expected.length);
  });
});

describe("the emulator's shell plugin takes input as the agent does: a blocking write to the PTY", () => {
  it('holds the client back while the program does not read (input false), says when the PTY has taken it, and loses nothing', async () => {
    // agent/session/shell/shell_unix.go, InputStreamMessageHandler: p.stdin.Write blocks while the
    // terminal's input buffer is full, and with it the agent's reading of the data channel.
    const input = Buffer.alloc(1024 * 1024, 0x61);
    let refusedAt: number | undefined;
    let drained = 0;
    const output = await new Promise<string>((resolve) => {
      const sent: Buffer[] = [];
      let offset = 0;
      const feed = () => {
        while (offset < input.length) {
          const piece = input.subarray(offset, (offset += 1024));
          if (!plugin.input(piece)) {
            refusedAt ??= offset;
            return;
          }
        }
      };
      const plugin: ShellPlugin = new ShellPlugin(
        {
          output: (type, payload) => type === PayloadType.Output && sent.push(payload),
          done: () => resolve(Buffer.concat(sent).toString('utf8')),
          terminate: () => undefined,
          inputDrained: () => {
            drained += 1;
            feed();
          },
        },
        ['sh', '-c', 'stty raw -echo; sleep 2; head -c 1048576 | wc -c'],
      );
      plugin.start();
      setTimeout(feed, 500);
    });
    // Refused long before the whole MiB, while the program slept; all of it arrived in the end.
    expect(refusedAt).toBeDefined();
    expect(refusedAt!).toBeLessThan(256 * 1024);
    expect(drained).toBeGreaterThan(0);
    expect(output.trim()).toBe(String(input.length));
  }, 20_000);

  it('a session stopped with input still queued for the PTY ends quietly: no write to the closed terminal', async () => {
    // node-pty writes its queue on after the master is closed and prints "Unhandled pty write error"
    // (EBADF) for each try; the agent, stopping a session, kills the shell and its input with it.
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await new Promise<void>((resolve) => {
        const plugin: ShellPlugin = new ShellPlugin(
          { output: () => undefined, done: () => undefined, terminate: () => undefined, inputDrained: () => undefined },
          ['sh', '-c', 'stty raw -echo; sleep 30'],
        );
        plugin.start();
        setTimeout(() => {
          // The program does not read: the PTY's buffer fills and node-pty queues the rest.
          while (plugin.input(Buffer.alloc(1024, 0x61))) {}
          for (let i = 0; i < 64; i++) plugin.input(Buffer.alloc(1024, 0x62));
          plugin.stop();
          resolve();
        }, 300);
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  }, 20_000);
});
