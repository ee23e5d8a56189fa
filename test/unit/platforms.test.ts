import { describe, expect, it } from 'vitest';
import { configPath } from '../../src/cli/config-file.js';
import { defaultPluginDir, launcherText, pluginInstallPlan } from '../../src/cli/commands/install-plugin.js';

// Code paths for Windows, with the platform handed in (issue 13: Windows as a first-class target).
describe('paths and launchers per platform', () => {
  it('the config file: XDG on Linux, %APPDATA% on Windows; SSMX_CONFIG wins everywhere', () => {
    expect(configPath({ HOME: '/home/ann' }, 'linux')).toBe('/home/ann/.config/ssmx/config.json');
    expect(configPath({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'win32')).toBe('C:\\Users\\ann\\AppData\\Roaming\\ssmx\\config.json');
    expect(configPath({ USERPROFILE: 'C:\\Users\\ann' }, 'win32')).toBe('C:\\Users\\ann\\AppData\\Roaming\\ssmx\\config.json');
    expect(configPath({ SSMX_CONFIG: 'D:\\ssmx.json', APPDATA: 'x' }, 'win32')).toBe('D:\\ssmx.json');
  });

  it('install-plugin writes what Windows runs: a .cmd under %LOCALAPPDATA%', () => {
    expect(defaultPluginDir({ LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32')).toMatch(/Local[\\/]ssmx[\\/]bin$/);
    const text = launcherText(['C:\\node\\node.exe', 'C:\\ssmx\\bin\\ssmx'], 'win32');
    expect(text).toMatch(/^@echo off\r\n/);
    expect(text).toContain('"C:\\node\\node.exe" "C:\\ssmx\\bin\\ssmx" plugin %*\r\n');
    const fromNpm = pluginInstallPlan('D:\\bin', { platform: 'win32', standalone: false, words: ['C:\\node\\node.exe', 'C:\\ssmx\\bin\\ssmx'] });
    expect(fromNpm).toMatchObject({ kind: 'script', file: expect.stringMatching(/session-manager-plugin\.cmd$/) });
  });

  it('the standalone executable installs as a copy named session-manager-plugin.exe on Windows, a script elsewhere', () => {
    expect(pluginInstallPlan('D:\\bin', { platform: 'win32', standalone: true, words: ['C:\\ssmx\\ssmx.exe'] })).toMatchObject({
      kind: 'copy',
      from: 'C:\\ssmx\\ssmx.exe',
      file: expect.stringMatching(/session-manager-plugin\.exe$/),
    });
    const linux = pluginInstallPlan('/home/ann/bin', { platform: 'linux', standalone: true, words: ['/opt/ssmx/ssmx'] });
    expect(linux).toEqual({ kind: 'script', file: '/home/ann/bin/session-manager-plugin', text: expect.stringContaining('exec /opt/ssmx/ssmx plugin "$@"\n') });
  });
});

describe('local sockets per platform', () => {
  it('a socket spec is a Unix socket, or on Windows a named pipe named after it', async () => {
    const { localSocketPath } = await import('../../src/session/listener.js');
    expect(localSocketPath('./web.sock', 'linux')).toBe('./web.sock');
    expect(localSocketPath('C:/run/db.sock', 'win32')).toBe('\\\\.\\pipe\\ssmx-C-run-db.sock');
    expect(localSocketPath('./web.sock', 'win32')).toBe('\\\\.\\pipe\\ssmx-.-web.sock');
    expect(localSocketPath('\\\\.\\pipe\\mine', 'win32')).toBe('\\\\.\\pipe\\mine');
  });
});
