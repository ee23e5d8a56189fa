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
  void import('./main.js').then(({ main }) => main(process.argv)).then((status) => process.exit(status));
}
