import { setFlagsFromString } from 'node:v8';
import { invokedAsPlugin } from './names.js';
import { ssmxVersion } from './self.js';

// The program's entry, for bin/ssmx (the npm package's bundle) and the standalone executable.

// A transfer allocates many short-lived buffers, and V8 would grow its young generation to 16 MiB
// per semi-space for them (up to 48 MiB, much of it resident). Kept at its starting size, a
// forward's memory stays flat for a few more collections (BENCHMARKS.md, "Start-up and footprint").
setFlagsFromString('--semi-space-growth-factor=1');

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V') && !invokedAsPlugin(process.argv)) {
  // What the command line's parser prints for it, before the parser and the commands load.
  process.stdout.write(`${ssmxVersion}\n`);
} else {
  // Exit once main is done: a paused stdin or a closing socket must not hold the process open.
  void import('./main.js').then(({ main }) => main(process.argv)).then(exitOnceWritten);
}

/**
 * Exits once stdout and stderr have taken what was written to them. Node writes to a pipe without
 * blocking: what a slow reader has not yet taken waits in the stream, and process.exit would drop
 * it (`run --targets … | (sleep 2; wc -c)` got the pipe's 64 KiB, exit 0). A reader gone (EPIPE)
 * takes nothing more: that stream is not waited for.
 */
function exitOnceWritten(status: number): void {
  const pending = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0 && !stream.destroyed);
  const taken = pending.map((stream) => new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', check);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    const check = () => (stream.writableLength === 0 ? done() : undefined);
    stream.on('drain', check);
    stream.once('error', done);
    stream.once('close', done);
  }));
  void Promise.all(taken).then(() => process.exit(status));
}
