// Bundles bin + src (the AWS SDK included) with esbuild: what the npm package ships and the
// end-to-end tests run. Two entries share their chunks: the command line's (entry.js, for bin/ssmx)
// and the library's (lib.js, the package's `import … from 'ssmx'`); each loads only what it uses. node-pty stays outside (a native module, optional, used by the emulator
// alone), and so do the optional native helpers of ws (the emulator's WebSocket server).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const version = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version;
const external = ['node-pty', 'bufferutil', 'utf-8-validate'];
const define = { SSMX_BUNDLED_VERSION: JSON.stringify(version) };

/**
 * Built-in modules the bundle requires rather than imports. An ES module import of a built-in reads
 * each of its exports once, and some exports are getters that do real work when read: node:tls's
 * rootCertificates parses Node's root certificates (about 0.5 MiB of RSS in every command, for the
 * rare one that trusts a CA bundle), node:fs's promises loads the promise API. Required, the
 * module's exports are read only where the code uses them.
 */
const requiredBuiltins = {
  name: 'required-builtins',
  setup(build) {
    build.onResolve({ filter: /^(node:)?(fs|tls)$/ }, (args) =>
      args.namespace === 'required-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'required-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'required-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

rmSync(new URL('dist/bundle', root), { recursive: true, force: true });
await build({
  entryPoints: { entry: 'src/cli/entry.ts', lib: 'src/lib/index.ts' },
  absWorkingDir: new URL('.', root).pathname,
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The ES module builds of the packages (the AWS SDK's dist-es) where they have one: esbuild can
  // then leave out what ssmx never calls (most of each client's commands and schemas).
  mainFields: ['module', 'main'],
  external,
  define,
  // CommonJS inside the bundle (the SDK's, ws) calls require: give it Node's.
  banner: { js: "import { createRequire as __ssmxCreateRequire } from 'node:module'; const require = __ssmxCreateRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  // Smaller to read and to hold: less parsing at start and less memory. Names are kept as written,
  // for stack traces and profiles.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  plugins: [requiredBuiltins],
});
