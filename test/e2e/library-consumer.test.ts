// @module-tag needs-node-pty
// @module-tag needs-redis-server
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, repoRoot } from '../support/emulator.js';
import { startRedis } from '../support/redis.js';
import { runProgram } from '../support/run.js';

/**
 * ssmx as a program's dependency: what `npm pack` makes, installed into an empty project with
 * nothing else (no AWS SDK, no ssmx sources), the README's "Use from Node" example compiled there
 * by tsc --strict against the package's declarations and run. The example starts the exported
 * emulator, round-trips a value through connect() to a real Redis, reads a command's exit status
 * from run() and a marker from a shell, and the process must then exit by itself.
 */

let project: string;
let docs: string[] = [];
let redis: Awaited<ReturnType<typeof startRedis>>;

/** The README's example, as a newcomer copies it. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use from Node'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "Use from Node"');
  return block[1]!;
}

/** docs/library.md's examples that run as they are: those that start the emulator. */
function docsExamples(): string[] {
  const docs = readFileSync(join(repoRoot, 'docs/library.md'), 'utf8');
  return [...docs.matchAll(/```ts\n([\s\S]*?)```/g)].map((block) => block[1]!).filter((code) => code.includes('startEmulator('));
}

/** The declarations' text without their comments: what a compiler reads as types. */
const typesOnly = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

beforeAll(async () => {
  redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-consumer-'));
  // dist/ is built already (npm test's pretest): packing with scripts would rebuild it under the
  // other test files' feet.
  execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = join(dir, readdirSync(dir).find((name) => name.endsWith('.tgz'))!);
  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Offline: the package has no dependency to fetch. node-pty, optional and native, is not built
  // here; the repository's build of it stands in, as `npm install node-pty` would put it.
  execFileSync('npm', ['install', tarball, '--offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  symlinkSync(join(repoRoot, 'node_modules/node-pty'), join(project, 'node_modules/node-pty'), 'dir');
  writeFileSync(join(project, 'example.ts'), readmeExample());
  docs = docsExamples();
  docs.forEach((code, index) => writeFileSync(join(project, `docs-${index + 1}.ts`), code));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        // The package's declarations are checked too, as they would be in a strict project.
        skipLibCheck: false,
        types: ['node'],
        // @types/node by path (the repository's), so that nothing is fetched.
        typeRoots: [join(repoRoot, 'node_modules/@types')],
        outDir: 'out',
      },
      files: ['example.ts', ...docs.map((_, index) => `docs-${index + 1}.ts`)],
    }),
  );
  // When the process has nothing left to wait for, what is still open though it does not hold
  // the process (an unref'd timer or socket) is reported: there must be none but its own stdio.
  writeFileSync(
    join(project, 'handles.mjs'),
    "process.once('beforeExit', () => process.stderr.write(`open at exit: ${JSON.stringify(process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap' && kind !== 'TTYWrap'))}\\n`));\n",
  );
}, 120_000);

afterAll(async () => {
  await redis?.stop();
});

describe('a program that depends on ssmx', () => {
  it('installs the package alone: no AWS SDK beside it, declarations that name no package and no `any`', () => {
    expect(readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.')).sort()).toEqual(['node-pty', 'ssmx']);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/ssmx/package.json'), 'utf8')) as { exports: Record<string, unknown>; bin: Record<string, string> };
    expect(manifest.exports['.']).toEqual({ types: './dist/types/lib/index.d.ts', import: './dist/bundle/lib.js' });
    expect(manifest.bin.ssmx).toBe('bin/ssmx');
    const typesDir = join(project, 'node_modules/ssmx/dist/types');
    const files = readdirSync(typesDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.d.ts'));
    expect(files).toContain(join('lib', 'index.d.ts'));
    for (const file of files) {
      const text = typesOnly(readFileSync(join(typesDir, file), 'utf8'));
      expect(text, file).not.toMatch(/\bany\b/);
      expect(text, file).not.toMatch(/from ['"](?!\.|node:)/);
    }
  });

  it("compiles the README's example with tsc --strict, runs it, and the process exits by itself with nothing open", async () => {
    const started = Date.now();
    const tsc = await runProgram(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(project, 'tsconfig.json')], { env: isolatedEnv(), timeoutMs: 60_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    const compiled = Date.now();
    const ran = await runProgram(process.execPath, ['--import', join(project, 'handles.mjs'), join(project, 'out/example.js')], {
      env: isolatedEnv({ REDIS_PORT: String(redis.port) }),
      timeoutMs: 30_000,
    });
    expect(ran.stderr).toBe('open at exit: []\n');
    expect(ran.stdout).toBe('redis: hello\nrun: hello from run - exit status 3\nshell: marker-42\n');
    expect(ran.code).toBe(0);
    // Measured: compiling and running, apart.
    console.log(`tsc ${compiled - started} ms, example ${Date.now() - compiled} ms`);
  });

  it("runs docs/library.md's examples as they are (compiled with the README's above), each exiting by itself", async () => {
    // What each example, told by what it calls, must show of its work.
    const shows: Array<[string, RegExp]> = [
      ['openSession(', /Linux/],
      ['await run(', /oops\n 3\n/],
      ['runStream(', /exit status 4/],
      ['connect({', /hello through Session Manager/],
      ['forward({', /ping/],
      ['resolveTarget(', /i-0123456789abcdef0\ni-0123456789abcdef0\n/],
    ];
    expect(docs.length).toBe(shows.length);
    for (const [index, code] of docs.entries()) {
      const ran = await runProgram(process.execPath, ['--import', join(project, 'handles.mjs'), join(project, `out/docs-${index + 1}.js`)], { env: isolatedEnv(), timeoutMs: 30_000 });
      expect(ran.stderr, `docs example ${index + 1}`).toMatch(/open at exit: \[\]\n$/);
      expect(ran.code, `docs example ${index + 1}: ${ran.stderr}`).toBe(0);
      const [, shown] = shows.find(([call]) => code.includes(call))!;
      expect(ran.stdout + ran.stderr, `docs example ${index + 1}`).toMatch(shown);
    }
  });
});
