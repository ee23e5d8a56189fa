import { chmod, copyFile, lstat, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { selfInvocation, shellQuote, standalone } from '../self.js';
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

/** The launcher's text: the words that run this ssmx, in its drop-in mode, with every argument as given. */
export function launcherText(words: string[], platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    return `@echo off\r\nrem ${LAUNCHER_MARK}: the AWS CLI runs this as its Session Manager plugin.\r\n${words.map((word) => `"${word}"`).join(' ')} plugin %*\r\n`;
  }
  return `#!/bin/sh\n# ${LAUNCHER_MARK}: the AWS CLI runs this as its Session Manager plugin.\nexec ${words.map(shellQuote).join(' ')} plugin "$@"\n`;
}

/**
 * What install-plugin puts in `dir`. A launcher script on Unix. On Windows the AWS CLI starts the
 * plugin by name with no shell, which finds only an `.exe`: the standalone executable is copied
 * there under the plugin's name (run under that name, it is the plugin); from an npm install the
 * best there is, a `.cmd`, which PowerShell and cmd find but the AWS CLI may not.
 */
export type PluginInstall = { file: string; kind: 'script'; text: string } | { file: string; kind: 'copy'; from: string };

export function pluginInstallPlan(dir: string, self: { platform: NodeJS.Platform; standalone: boolean; words: string[] }): PluginInstall {
  if (self.platform === 'win32' && self.standalone) return { file: join(dir, `${PLUGIN_NAME}.exe`), kind: 'copy', from: self.words[0]! };
  if (self.platform === 'win32') return { file: join(dir, `${PLUGIN_NAME}.cmd`), kind: 'script', text: launcherText(self.words, 'win32') };
  return { file: join(dir, PLUGIN_NAME), kind: 'script', text: launcherText(self.words, self.platform) };
}

/** Whether an existing file is what the plan would write, and whether it is ssmx's to replace. */
async function existingState(plan: PluginInstall): Promise<'absent' | 'same' | 'ours' | 'foreign'> {
  if (!(await lstat(plan.file).catch(() => undefined))) return 'absent';
  const current = await readFile(plan.file).catch(() => Buffer.alloc(0));
  const wanted = plan.kind === 'script' ? Buffer.from(plan.text) : await readFile(plan.from);
  if (current.equals(wanted)) return 'same';
  // ssmx's launchers carry the mark, and so does every ssmx executable (the text is in its code).
  return current.includes(LAUNCHER_MARK) ? 'ours' : 'foreign';
}

/** `ssmx install-plugin [dir]`: puts a `session-manager-plugin` launcher for ssmx in dir. */
export async function installPluginCommand(dirArgument: string | undefined, options: InstallPluginOptions, context: CliContext): Promise<number> {
  const dir = resolve(dirArgument ?? defaultPluginDir(context.env));
  const words = selfInvocation().map((word) => realpathSync(word));
  const plan = pluginInstallPlan(dir, { platform: process.platform, standalone, words });
  const { file } = plan;

  const state = await existingState(plan);
  if (state === 'same') {
    context.stdout.write(`${file} is already ssmx's launcher; nothing to do\n`);
    return 0;
  }
  if (state === 'foreign' && !options.force) {
    throw new UsageError(`${file} exists and is another program (the official plugin?); it was left alone`, 'pass --force to replace it, or give another directory');
  }
  // A link is replaced, not written through: its target may be the official plugin's binary.
  if (state !== 'absent') await unlink(file);
  try {
    await mkdir(dir, { recursive: true });
    if (plan.kind === 'copy') await copyFile(plan.from, file);
    else await writeFile(file, plan.text, { mode: 0o755 });
    await chmod(file, 0o755);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`, 'give a directory you can write to: ssmx install-plugin ~/bin');
  }
  const what = plan.kind === 'copy' ? `a copy of ${plan.from}, which acts as the plugin under that name` : `it runs ${words.join(' ')} plugin`;
  context.stdout.write(`${state === 'absent' ? 'installed' : 'replaced'} ${file}: ${what}\n`);
  if (process.platform === 'win32' && plan.kind === 'script') {
    context.stdout.write(`note: the AWS CLI on Windows runs only ${PLUGIN_NAME}.exe; for it, use the standalone ssmx.exe and run its install-plugin\n`);
  }

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
