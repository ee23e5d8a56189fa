import { describe, expect, it } from 'vitest';
import { parsePortSpec } from '../../src/lib/port-spec.js';
import { UsageError } from '../../src/cli/errors.js';

describe('port specs', () => {
  it('reads every documented form', () => {
    expect(parsePortSpec('5432')).toMatchObject({ local: { kind: 'tcp', port: 5432 }, remoteHost: undefined, remotePort: 5432 });
    expect(parsePortSpec('15432:5432')).toMatchObject({ local: { kind: 'tcp', port: 15432 }, remotePort: 5432 });
    expect(parsePortSpec('0:5432')).toMatchObject({ local: { kind: 'tcp', port: 0 }, remotePort: 5432 });
    expect(parsePortSpec('8080:db.internal:5432')).toMatchObject({ local: { kind: 'tcp', port: 8080 }, remoteHost: 'db.internal', remotePort: 5432 });
    expect(parsePortSpec('./pg.sock:5432')).toMatchObject({ local: { kind: 'unix', path: './pg.sock' }, remotePort: 5432 });
    expect(parsePortSpec('/tmp/r.sock:cache:6379')).toMatchObject({ local: { kind: 'unix', path: '/tmp/r.sock' }, remoteHost: 'cache', remotePort: 6379 });
  });

  it('IPv6: a local address in brackets, a remote IPv6 literal in brackets (kept bare for the document), ssh -L\'s four fields', () => {
    expect(parsePortSpec('[::1]:8080:5432')).toMatchObject({ bind: '::1', local: { kind: 'tcp', port: 8080 }, remoteHost: undefined, remotePort: 5432 });
    expect(parsePortSpec('8080:[fd00::5]:5432')).toMatchObject({ local: { kind: 'tcp', port: 8080 }, remoteHost: 'fd00::5', remotePort: 5432 });
    expect(parsePortSpec('[::1]:0:[::1]:22')).toMatchObject({ bind: '::1', local: { kind: 'tcp', port: 0 }, remoteHost: '::1', remotePort: 22 });
    expect(parsePortSpec('127.0.0.2:8080:db.internal:5432')).toMatchObject({ bind: '127.0.0.2', remoteHost: 'db.internal', remotePort: 5432 });
    for (const bad of ['[::1:8080:5432', '[nothost]:8080:5432', '8080:[db]:5432', 'name:8080:db:5432']) expect(() => parsePortSpec(bad), bad).toThrow(UsageError);
  });

  it('refuses what is not a port, with the forms as a hint', () => {
    for (const bad of ['99999', 'abc', '0', '', ':5432', '5432:', '1:2:3:4', '80:bad host:22', '-1', '65536:22']) {
      expect(() => parsePortSpec(bad), bad).toThrow(UsageError);
    }
    try {
      parsePortSpec('99999');
    } catch (error) {
      expect((error as UsageError).message).toBe('bad port spec "99999": 99999 is not a port (1 to 65535)');
      expect((error as UsageError).hint).toMatch(/8080:db.internal:5432/);
    }
  });
});
