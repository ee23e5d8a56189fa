import { describe, expect, it } from 'vitest';
import { runAsIdentity } from '../../src/emulator/agent/command.js';

describe("the emulated agent's Run As check (shell_unix.go StartCommandExecutor)", () => {
  const passwd = (user: string) => (user === 'app' ? 'app:x:1001:1002:App:/srv/app:/bin/sh' : undefined);
  it('a user that exists: its uid and gid, HOME /home/<user> whatever passwd says (constants_unix.go)', () => {
    expect(runAsIdentity('app', 0, passwd)).toEqual({ uid: 1001, gid: 1002, home: '/home/app' });
  });
  it('a user that does not exist: the agent\'s words', () => {
    expect(runAsIdentity('ghost', 0, passwd)).toEqual({ error: 'failed to start pty since RunAs user ghost does not exist' });
  });
  it('an agent not running as root refuses Run As before it looks the user up', () => {
    expect(runAsIdentity('app', 1000, passwd)).toEqual({ error: 'the agent must run as root to use RunAs' });
  });
});
