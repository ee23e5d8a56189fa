import { UsageError } from './errors.js';

export interface PortSpec {
  /** As the user wrote it, for messages. */
  text: string;
  /** A TCP port to listen on (0: any free one), or a Unix socket path. */
  local: { kind: 'tcp'; port: number } | { kind: 'unix'; path: string };
  /** A host reachable from the instance; absent: the instance itself. */
  remoteHost: string | undefined;
  remotePort: number;
}

const HINT = 'forms: 5432, 15432:5432, 0:5432, 8080:db.internal:5432, ./pg.sock:5432';

function port(text: string, spec: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not a port number`, HINT);
  const value = Number(text);
  if (value > 65535 || (value === 0 && !allowZero)) {
    throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${value} is not a port (${allowZero ? 0 : 1} to 65535)`, HINT);
  }
  return value;
}

/**
 * Parses a forwarding spec. The local end is a port or, when it contains a slash, a Unix socket
 * path; the remote end is a port on the instance or `host:port` reachable from it.
 */
export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (parts.some((part) => part === '')) throw new UsageError(`bad port spec ${JSON.stringify(spec)}: empty field`, HINT);
  const localOf = (text: string): PortSpec['local'] =>
    text.includes('/') ? { kind: 'unix', path: text } : { kind: 'tcp', port: port(text, spec, true) };
  switch (parts.length) {
    case 1: {
      const remotePort = port(parts[0]!, spec, false);
      return { text: spec, local: { kind: 'tcp', port: remotePort }, remoteHost: undefined, remotePort };
    }
    case 2:
      return { text: spec, local: localOf(parts[0]!), remoteHost: undefined, remotePort: port(parts[1]!, spec, false) };
    case 3: {
      const host = parts[1]!;
      if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${JSON.stringify(host)} is not a host name`, HINT);
      return { text: spec, local: localOf(parts[0]!), remoteHost: host, remotePort: port(parts[2]!, spec, false) };
    }
    default:
      throw new UsageError(`bad port spec ${JSON.stringify(spec)}`, HINT);
  }
}
