import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestTagDefinition } from 'vitest/config';
import { arm64RootPossible } from './arm64-root.js';

/**
 * The real programs end-to-end tests drive beyond Node, each with the Debian package that brings it:
 * the one place that says how a tool is found and what to install for it.
 *
 * A test file says what it needs by a tag at its top, one line per tool: `// @module-tag needs-sshd`.
 * vitest.config.ts makes a tag of every tool here; a missing tool's tag skips every test of the
 * files that carry it, and a file whose tests are all skipped runs none of its hooks, so nothing
 * tries to start a server that is not there. The summary reporter then prints one line per missing
 * tool (`skipped: needs sshd — apt-get install openssh-server`) and names them on its closing line.
 *
 * With SSMX_REQUIRE_TOOLS=1 (.ci/run sets it, having installed them all) a missing tool is a
 * failure instead: its files fail before their hooks run, with that line as the error.
 *
 * A tool is looked up on the PATH, then where Debian puts it beside the PATH (`paths`: sshd is in
 * /usr/sbin, which is not on a user's PATH; Wine's wine64 in /usr/lib/wine). SSMX_TEST_PATH_ONLY=1
 * leaves those places out, so that .ci/run's bare check can make a tool absent on a machine that has
 * it, with a PATH that holds only what a bare machine has.
 */
export interface Tool {
  /** The Debian package to install; for node-pty, what its build needs. */
  package: string;
  /** Where Debian puts it beside the PATH. */
  paths?: string[];
  /** Only at `paths`: the test wants that build (Debian's AWS CLI), not whatever is on the PATH. */
  onlyPaths?: boolean;
  /** Instead of a program: whether it is there (a Node module with a native part). */
  check?: () => boolean;
  /** What the line says after the package, when installing it is not all. */
  then?: string;
}

export const TOOLS = {
  sshd: { package: 'openssh-server', paths: ['/usr/sbin/sshd', '/usr/local/sbin/sshd'] },
  ssh: { package: 'openssh-client' },
  scp: { package: 'openssh-client' },
  'ssh-keygen': { package: 'openssh-client' },
  'redis-server': { package: 'redis-server' },
  'redis-cli': { package: 'redis-tools' },
  // Debian's own AWS CLI, whatever other `aws` the machine has: the tests know how it passes the
  // session to its plugin.
  aws: { package: 'awscli', paths: ['/usr/bin/aws'], onlyPaths: true },
  // Debian 12's wine64 is under /usr/lib/wine, not on the PATH.
  wine64: { package: 'wine64', paths: ['/usr/lib/wine/wine64', '/usr/lib64/wine/wine64'] },
  tinyproxy: { package: 'tinyproxy', paths: ['/usr/sbin/tinyproxy'] },
  asciinema: { package: 'asciinema' },
  curl: { package: 'curl' },
  openssl: { package: 'openssl' },
  python3: { package: 'python3' },
  script: { package: 'bsdutils' },
  'dpkg-deb': { package: 'dpkg' },
  // The linux-arm64 executable runs under qemu-user with an arm64 Debian root that debootstrap
  // makes, which it does only as root (test/support/arm64-root.ts).
  'qemu-aarch64-static': { package: 'qemu-user-static' },
  debootstrap: { package: 'debootstrap', paths: ['/usr/sbin/debootstrap'] },
  'arm64-root': {
    package: 'debootstrap',
    check: (): boolean => arm64RootPossible(toolPath('debootstrap') !== undefined),
    then: ' and run as root once (or SSMX_ARM64_ROOT=DIR, a root from debootstrap --arch=arm64 --variant=minbase --foreign)',
  },
  // The tests' terminals and the emulator's shells: an optional dependency whose native part
  // npm ci builds only where a compiler is.
  'node-pty': { package: 'make g++ python3', check: nodePtyLoads, then: ', then npm ci' },
} satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

export const pathOnly = process.env.SSMX_TEST_PATH_ONLY === '1';
export const requireTools = process.env.SSMX_REQUIRE_TOOLS === '1';

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const found = new Map<ToolName, string | undefined>();

/** Where the tool is, or undefined when it is missing (node-pty: its module name). */
export function toolPath(name: ToolName): string | undefined {
  if (found.has(name)) return found.get(name);
  const tool: Tool = TOOLS[name];
  let path: string | undefined;
  if (tool.check) path = tool.check() ? name : undefined;
  else {
    const onPath = tool.onlyPaths ? [] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
    const beside = pathOnly ? [] : (tool.paths ?? []);
    path = [...onPath, ...beside].find(isExecutable);
  }
  found.set(name, path);
  return path;
}

/** The tool's path; throws the line that says what to install when it is missing. */
export function requireTool(name: ToolName): string {
  const path = toolPath(name);
  if (!path) throw new Error(needsLine(name));
  return path;
}

/** `needs sshd — apt-get install openssh-server`. */
export function needsLine(name: ToolName): string {
  const tool: Tool = TOOLS[name];
  const where = tool.onlyPaths ? ` (at ${tool.paths![0]})` : '';
  return `needs ${name}${where} — apt-get install ${tool.package}${tool.then ?? ''}`;
}

export const tagOf = (name: ToolName) => `needs-${name}`;
export const toolOfTag = (tag: string): ToolName | undefined => {
  const name = tag.startsWith('needs-') ? tag.slice('needs-'.length) : '';
  return name in TOOLS ? (name as ToolName) : undefined;
};

/** The tools that are missing, in the table's order. */
export function missingTools(): ToolName[] {
  return (Object.keys(TOOLS) as ToolName[]).filter((name) => !toolPath(name));
}

/**
 * What vitest's config needs for the tags: one `needs-<tool>` tag per tool, a missing tool's
 * skipping the tests that carry it (unless SSMX_REQUIRE_TOOLS=1), and the setup file that fails
 * them under SSMX_REQUIRE_TOOLS=1.
 */
export function toolRequirements(): { tags: TestTagDefinition[]; setupFiles: string[] } {
  return {
    tags: (Object.keys(TOOLS) as ToolName[]).map((name) => ({
      name: tagOf(name),
      description: needsLine(name),
      ...(toolPath(name) || requireTools ? {} : { skip: true }),
    })),
    setupFiles: [fileURLToPath(new URL('./tools-setup.ts', import.meta.url))],
  };
}

function nodePtyLoads(): boolean {
  try {
    createRequire(import.meta.url)('node-pty');
    return true;
  } catch {
    return false;
  }
}
