// The library's declarations for the npm package: the .d.ts files tsc wrote beside dist/src (it
// runs with `declaration`) that src/lib/index.d.ts reaches, copied to dist/types with the same
// layout. A program compiles against them with nothing but @types/node: any import of a package
// (the AWS SDK, smithy, ws are bundled devDependencies, not installed with ssmx) fails the build
// here, naming the file, rather than in a user's tsc.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const from = join(root, 'dist/src');
const to = join(root, 'dist/types');
const entry = join(from, 'lib/index.d.ts');
const specifiers = /(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g;

const reached = new Set();
const problems = [];
const walk = (file) => {
  if (reached.has(file)) return;
  reached.add(file);
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(specifiers)) {
    if (specifier.startsWith('node:')) continue;
    if (!specifier.startsWith('.')) {
      problems.push(`${relative(root, file)} imports ${specifier}`);
      continue;
    }
    walk(resolve(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
  }
};
walk(entry);
if (problems.length > 0) {
  console.error(`the library's declarations must name no package but node's:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
for (const file of reached) {
  const target = join(to, relative(from, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
}
console.log(`dist/types: ${reached.size} declaration files from ${relative(root, entry)}`);
