import { chmod, lstat, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { shellQuote, ssmxBin } from '../self.js';
import { PLUGIN_NAME } from './plugin.js';

export interface InstallPluginOptions {
  force?: boolean;
}

/** The line that marks a launcher as ssmx's own, so a later install may replace it. */
export const LAUNCHER_MARK = 'written by ssmx install-plugin';

/** A directory of the user's own that is usually on the PATH. */
export function defaultPluginDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'ssmx', 'bin');
  return join(env.HOME || homedir(), '.local', 'bin');
}

/** The launcher's text: this Node running this ssmx in its drop-in mode, with every argument as given. */
export function launcherText(nodePath: string, binPath: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    return `@echo off\r\nrem ${LAUNCHER_MARK}: the AWS CLI runs this as its Session Manager plugin.\r\n"${nodePath}" "${binPath}" plugin %*\r\n`;
  }
  return `#!/bin/sh\n# ${LAUNCHER_MARK}: the AWS CLI runs this as its Session Manager plugin.\nexec ${shellQuote(nodePath)} ${shellQuote(binPath)} plugin "$@"\n`;
}

/** `ssmx install-plugin [dir]`: puts a `session-manager-plugin` launcher for ssmx in dir. */
export async function installPluginCommand(dirArgument: string | undefined, options: InstallPluginOptions, context: CliContext): Promise<number> {
  const dir = resolve(dirArgument ?? defaultPluginDir(context.env));
  const file = join(dir, process.platform === 'win32' ? `${PLUGIN_NAME}.cmd` : PLUGIN_NAME);
  const text = launcherText(process.execPath, realpathSync(ssmxBin));

  let replacing = false;
  const existing = await lstat(file).catch(() => undefined);
  if (existing) {
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current === text) {
      context.stdout.write(`${file} is already ssmx's launcher; nothing to do\n`);
      return 0;
    }
    if (!current.includes(LAUNCHER_MARK) && !options.force) {
      throw new UsageError(`${file} exists and is another program (the official plugin?); it was left alone`, 'pass --force to replace it, or give another directory');
    }
    replacing = true;
    // A link is replaced, not written through: its target may be the official plugin's binary.
    await unlink(file);
  }
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(file, text, { mode: 0o755 });
    await chmod(file, 0o755);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`, 'give a directory you can write to: ssmx install-plugin ~/bin');
  }
  context.stdout.write(`${replacing ? 'replaced' : 'installed'} ${file}: it runs ${realpathSync(ssmxBin)} plugin\n`);

  const pathDirs = (context.env.PATH ?? '').split(delimiter).filter(Boolean).map((entry) => resolve(entry));
  const position = pathDirs.indexOf(dir);
  if (position < 0) {
    context.stdout.write(`note: ${dir} is not on your PATH; add it (before any other ${PLUGIN_NAME}) so the AWS CLI finds this one\n`);
  } else {
    for (const earlier of pathDirs.slice(0, position)) {
      const shadow = join(earlier, process.platform === 'win32' ? `${PLUGIN_NAME}.exe` : PLUGIN_NAME);
      if (await lstat(shadow).catch(() => undefined)) {
        context.stdout.write(`note: ${shadow} comes first on your PATH and will be used instead; move ${dir} before ${earlier}\n`);
        break;
      }
    }
  }
  return 0;
}
