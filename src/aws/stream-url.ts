import { partitionOf } from './partitions.js';

/**
 * Which hosts a session's data channel may go to. The upgrade carries a signature and, with
 * temporary credentials, the session token (src/aws/sigv4.ts, signDataChannelUpgrade), so a
 * StreamUrl that named another host would hand them to it. The plugin checks since 1.2.889.0
 * that "the session stream URL is an AWS Session Manager endpoint before connecting" (its release
 * notes; its code for this is not public). ssmx's rule, pure and in one place:
 *
 * - a Session Manager endpoint of the session's partition, over wss on the default port, with no
 *   user name or password in the URL: `ssmmessages.REGION.SUFFIX` for the partition's DNS suffix
 *   or its dual-stack suffix, the FIPS form `ssmmessages-fips.…`, and an interface (PrivateLink)
 *   endpoint of it, `vpce-….ssmmessages.REGION.vpce.SUFFIX` (regional or zonal), where REGION is a
 *   region of that partition;
 * - or an endpoint the user named (--ssmmessages-endpoint, AWS_ENDPOINT_URL_SSMMESSAGES, the SSM
 *   endpoint the API calls went to): the same host and port, wss for https and ws for http.
 *
 * Anything else is refused before a byte is sent to it.
 */
export interface StreamUrlRule {
  /** The session's region: its partition's endpoints are trusted. */
  region: string;
  /** Endpoints the user named, as URLs (http, https, ws or wss). */
  named: string[];
}

export type StreamUrlVerdict = { trusted: true } | { trusted: false; host: string; reason: string };

const REGION_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const escapeDots = (suffix: string) => suffix.replace(/\./g, '\\.');

/** The Session Manager hosts of `region`'s partition, as one expression whose group 1 is the host's region. */
function awsHostPattern(region: string): RegExp {
  const { dnsSuffix, dualStackDnsSuffix } = partitionOf(region);
  const suffixes = `(?:${escapeDots(dnsSuffix)}|${escapeDots(dualStackDnsSuffix)})`;
  return new RegExp(
    `^(?:ssmmessages(?:-fips)?\\.(${REGION_LABEL})\\.${suffixes}|vpce-[a-z0-9]+(?:-[a-z0-9]+)*\\.ssmmessages(?:-fips)?\\.(${REGION_LABEL})\\.vpce\\.${escapeDots(dnsSuffix)})$`,
  );
}

const defaultPort = (protocol: string) => (protocol === 'wss:' || protocol === 'https:' ? '443' : '80');
const secure = (protocol: string) => protocol === 'wss:' || protocol === 'https:';

export function checkStreamUrl(streamUrl: string, rule: StreamUrlRule): StreamUrlVerdict {
  let url: URL;
  try {
    url = new URL(streamUrl);
  } catch {
    return { trusted: false, host: streamUrl, reason: 'it is not a URL' };
  }
  const host = url.host;
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') return { trusted: false, host, reason: `it is not a WebSocket URL (${url.protocol})` };
  if (url.username !== '' || url.password !== '') return { trusted: false, host, reason: 'it carries a user name or password' };
  const port = url.port || defaultPort(url.protocol);
  for (const named of rule.named) {
    let endpoint: URL;
    try {
      endpoint = new URL(named);
    } catch {
      continue;
    }
    if (endpoint.hostname === url.hostname && (endpoint.port || defaultPort(endpoint.protocol)) === port && secure(endpoint.protocol) === secure(url.protocol)) return { trusted: true };
  }
  const match = awsHostPattern(rule.region).exec(url.hostname);
  if (!match) return { trusted: false, host, reason: `it is not a Session Manager endpoint of ${partitionOf(rule.region).name} (ssmmessages.${rule.region}.${partitionOf(rule.region).dnsSuffix} and its FIPS, dual-stack and VPC endpoint forms)` };
  const hostRegion = match[1] ?? match[2]!;
  if (partitionOf(hostRegion).name !== partitionOf(rule.region).name) return { trusted: false, host, reason: `${hostRegion} is not a region of the session's partition` };
  if (url.protocol !== 'wss:') return { trusted: false, host, reason: 'a Session Manager endpoint is reached over wss:// only' };
  if (port !== '443') return { trusted: false, host, reason: `a Session Manager endpoint listens on port 443, not ${port}` };
  return { trusted: true };
}
