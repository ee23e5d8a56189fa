/**
 * Feature gates compare dotted versions as the plugin does (CLIENT.md §7.3): the same number of
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

/** Thresholds from SPEC §8, all strict. */
export const AgentGates = {
  multiplexedPortForwarding: '3.0.196.0',
  terminateSessionFlag: '2.3.722.0',
  smuxKeepAliveDisabled: '3.1.1511.0',
} as const;

/**
 * The version ssmx reports to the agent. The agent picks multiplexing (>= 1.1.70) and disables
 * smux keep-alive (> 1.2.331.0) from it (SPEC §4), so it must read as a current plugin.
 */
export const ReportedClientVersion = '1.2.650.0';
