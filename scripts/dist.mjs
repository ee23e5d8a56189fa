// npm run dist [-- --target linux-x64,win-x64]: ssmx as single-file executables, one per target,
// with Node's single executable applications: ssmx bundled into one CommonJS script, made into a
// blob by the pinned Linux Node, and injected (postject) into a copy of the pinned Node for each
// target. The Node binaries come from the npm registry's node-<target> packages (npm pack, so npm
// checks each package's integrity), and each binary is checked against scripts/node-binaries.json.
// Writes release/ssmx-<target>[.exe] and release/SHA256SUMS (--out DIR: there instead). With --deb,
// also a Debian package for each Linux target (dpkg-deb, from Debian's dpkg): /usr/bin/ssmx, and
// /usr/bin/session-manager-plugin linked to it, so that the AWS CLI finds its plugin.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import postject from 'postject';

const root = fileURLToPath(new URL('../', import.meta.url));
const pinned = JSON.parse(readFileSync(join(root, 'scripts/node-binaries.json'), 'utf8'));
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const argTargets = /--target[= ]([\w,-]+)/.exec(process.argv.slice(2).join(' '))?.[1];
const targets = argTargets ? argTargets.split(',') : Object.keys(pinned.targets);
for (const target of targets) if (!pinned.targets[target]) throw new Error(`unknown target ${target}; known: ${Object.keys(pinned.targets).join(', ')}`);

const cache = join(root, 'node_modules/.cache/ssmx-dist');
// --work DIR: where the script and blobs are made (tests build in folders of their own).
const work = /--work[= ](\S+)/.exec(process.argv.slice(2).join(' '))?.[1] ?? join(root, 'dist/sea');
const release = /--out[= ](\S+)/.exec(process.argv.slice(2).join(' '))?.[1] ?? join(root, 'release');
mkdirSync(cache, { recursive: true });
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
mkdirSync(release, { recursive: true });

const wantDeb = process.argv.slice(2).includes('--deb');

/** A .deb of an executable: ssmx in /usr/bin, and the plugin's name beside it. */
function debianPackage(executable, target) {
  const arch = { 'linux-x64': 'amd64', 'linux-arm64': 'arm64' }[target];
  const tree = join(work, `deb-${target}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  copyFileSync(executable, join(tree, 'usr/bin/ssmx'));
  chmodSync(join(tree, 'usr/bin/ssmx'), 0o755);
  symlinkSync('ssmx', join(tree, 'usr/bin/session-manager-plugin'));
  const control = [
    'Package: ssmx',
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: ssmx <ssmx@users.noreply.github.com>',
    'Section: admin',
    'Priority: optional',
    'Provides: session-manager-plugin',
    'Description: AWS Session Manager client: shells, port forwarding, ssh, files',
    ' A replacement for session-manager-plugin in one executable: ssmx shell, forward,',
    ' socks, cp, run and exec, and the plugin the AWS CLI runs for start-session.',
    '',
  ].join('\n');
  writeFileSync(join(tree, 'DEBIAN/control'), control);
  const deb = join(release, `ssmx_${version}_${arch}.deb`);
  rmSync(deb, { force: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  return deb;
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The pinned Node binary for a target, from the registry's package, checked against its recorded digest. */
function nodeBinary(target) {
  const { package: name, binary, sha256: expected } = pinned.targets[target];
  const file = join(cache, `${name}-${pinned.version}${binary.endsWith('.exe') ? '.exe' : ''}`);
  if (!existsSync(file) || sha256(file) !== expected) {
    // Into a folder of this run's, then renamed: two builds at once never read a half-written file.
    const own = mkdtempSync(join(cache, 'fetch-'));
    const tarball = join(cache, `${name}-${pinned.version}.tgz`);
    if (!existsSync(tarball)) {
      execFileSync('npm', ['pack', '--silent', `${name}@${pinned.version}`, '--pack-destination', own], { stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(join(own, `${name}-${pinned.version}.tgz`), tarball);
    }
    writeFileSync(join(own, 'binary'), execFileSync('tar', ['-xzOf', tarball, binary], { maxBuffer: 512 << 20 }));
    chmodSync(join(own, 'binary'), 0o755);
    renameSync(join(own, 'binary'), file);
    rmSync(own, { recursive: true, force: true });
  }
  const actual = sha256(file);
  if (actual !== expected) throw new Error(`${name}@${pinned.version}: ${binary} has SHA-256 ${actual}, not the recorded ${expected}; refusing it`);
  return file;
}

// One CommonJS file: a single executable application runs one script, and require() there reaches
// only Node's built-in modules (node-pty, native, stays out: the emulator says so).
const script = join(work, 'ssmx.cjs');
await build({
  entryPoints: [join(root, 'src/cli/entry.ts')],
  outfile: script,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  mainFields: ['module', 'main'],
  external: ['node-pty', 'bufferutil', 'utf-8-validate'],
  define: { SSMX_BUNDLED_VERSION: JSON.stringify(version), SSMX_STANDALONE: 'true', 'import.meta.url': '__ssmxScriptUrl' },
  banner: { js: 'var __ssmxScriptUrl = require("node:url").pathToFileURL(__filename).href;' },
  legalComments: 'none',
  // Smaller to read and to hold: less parsing at start and less memory. Names are kept as written,
  // for stack traces and profiles.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

const hostNode = nodeBinary('linux-x64');
/** The blob: with V8's code cache for the Node that makes it (linux-x64), without for the others (it is not portable). */
function blob(codeCache) {
  const output = join(work, codeCache ? 'sea-cached.blob' : 'sea.blob');
  const config = join(work, codeCache ? 'sea-cached.json' : 'sea.json');
  writeFileSync(config, JSON.stringify({ main: script, output, disableExperimentalSEAWarning: true, useCodeCache: codeCache, useSnapshot: false }));
  execFileSync(hostNode, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(output);
}
const blobs = {};

const sums = [];
for (const target of targets) {
  const name = `ssmx-${target}${target.startsWith('win') ? '.exe' : ''}`;
  const out = join(release, name);
  rmSync(out, { force: true });
  copyFileSync(nodeBinary(target), out);
  chmodSync(out, 0o755);
  const cached = target === 'linux-x64' && process.platform === 'linux' && process.arch === 'x64';
  blobs[cached] ??= blob(cached);
  await postject.inject(out, 'NODE_SEA_BLOB', blobs[cached], { sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2', overwrite: true });
  sums.push(`${sha256(out)}  ${name}`);
  process.stderr.write(`built ${out}\n`);
  if (wantDeb && target.startsWith('linux-')) {
    const deb = debianPackage(out, target);
    sums.push(`${sha256(deb)}  ${basename(deb)}`);
    process.stderr.write(`built ${deb}\n`);
  }
}
// SHA256SUMS lists every executable in release/, those built before included.
const previous = existsSync(join(release, 'SHA256SUMS')) ? readFileSync(join(release, 'SHA256SUMS'), 'utf8').split('\n').filter(Boolean) : [];
const names = new Set(sums.map((line) => line.split('  ')[1]));
const merged = [...previous.filter((line) => !names.has(line.split('  ')[1]) && existsSync(join(release, line.split('  ')[1]))), ...sums].sort((a, b) => a.split('  ')[1].localeCompare(b.split('  ')[1]));
writeFileSync(join(release, 'SHA256SUMS'), `${merged.join('\n')}\n`);
