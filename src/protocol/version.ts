/**
 * Feature gates compare dotted versions as the plugin does (docs/protocol.md §8): the same number of
 * numeric components as the threshold, compared one by one, and only a strictly greater version
 * passes. Anything unparsable is "not supported".
 */
export function isVersionGreater(version: string, threshold: string): boolean {
  const a = version.split('.');
  const b = threshold.split('.');
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!/^\d+$/.test(a[i]!) || !/^\d+$/.test(b[i]!)) return false;
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (x !== y) return x > y;
  }
  return false;
}

/** Thresholds from docs/protocol.md §8, all strict. */
export const AgentGates = {
  multiplexedPortForwarding: '3.0.196.0',
  terminateSessionFlag: '2.3.722.0',
  smuxKeepAliveDisabled: '3.1.1511.0',
} as const;

/**
 * The version ssmx reports: in OpenDataChannel, the HandshakeResponse, and `session-manager-plugin
 * --version`. The plugin release whose data-channel behaviour ssmx implements (docs/protocol.md
 * §1, §10): the signed upgrade (1.2.764.0), the resume with ResumeSession's StreamUrl and fresh
 * credentials (1.2.835.0), the StreamUrl checked before connecting (1.2.889.0, kept in 1.2.896.0).
 * The service supports 1.2.764.0 and later only, and AWS CLI v2 warns below it. The agent's gates
 * on it come out as for any current plugin: multiplexing from 1.1.70, smux keep-alive off above
 * 1.2.331.0 (agent plugins/port/port.go; docs/protocol.md §8).
 */
export const ReportedClientVersion = '1.2.896.0';

/**
 * Orders dotted versions numerically, missing components counting as 0 (the agent compares the
 * client's version this way: `1.2.650.0` against `1.1.70`). Unparsable versions order first.
 */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => (/^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : undefined);
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** What the agent decides from the client's version (agent plugins/port/port.go). */
export const ClientGates = {
  multiplexedPortForwarding: '1.1.70',
  smuxKeepAliveDisabled: '1.2.331.0',
} as const;
