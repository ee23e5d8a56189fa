import { isIP } from 'node:net';

/**
 * Which HTTP proxy a connection goes through, as the AWS CLI decides it (Python's urllib: the
 * lower-case variable before the upper-case one, https_proxy for https:// and wss:// targets,
 * http_proxy for http:// and ws://, no_proxy to go direct), and the command line above both. Pure:
 * the environment and the command line's choice are handed in.
 */
export interface ProxyChoice {
  /** --proxy URL: every connection through it (no_proxy still applies). */
  proxy?: string | undefined;
  /** --no-proxy: every connection direct, whatever the environment says. */
  noProxy?: boolean | undefined;
}

const variable = (env: NodeJS.ProcessEnv, name: string): string | undefined => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;

/** The proxy for a target URL, or undefined for a direct connection. Throws on a proxy URL it cannot use. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv, choice: ProxyChoice = {}): URL | undefined {
  if (choice.noProxy) return undefined;
  const secure = target.protocol === 'https:' || target.protocol === 'wss:';
  const configured = choice.proxy || variable(env, secure ? 'https_proxy' : 'http_proxy');
  if (!configured) return undefined;
  const port = Number(target.port) || (secure ? 443 : 80);
  if (bypassesProxy(target.hostname, port, variable(env, 'no_proxy') ?? '')) return undefined;
  return parseProxyUrl(configured);
}

/** A proxy URL as users write it: `host:port` means http://host:port. Only HTTP proxies (CONNECT). */
export function parseProxyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new ProxyConfigError(`the proxy ${redactedText(text)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new ProxyConfigError(`the proxy ${redactProxy(url)} is not an http:// proxy; ssmx speaks HTTP CONNECT to a proxy over plain HTTP`);
  return url;
}

export class ProxyConfigError extends Error {
  readonly code = 'EPROXYCONFIG';
}

/** A proxy URL fit to print: no user name or password. */
export function redactProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

const redactedText = (text: string) => text.replace(/\/\/[^@/]*@/, '//');

/** The bracket-less form of a host (`[::1]` → `::1`), lower-cased. */
const bareHost = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * Whether no_proxy sends a host direct: `*` sends everything direct; otherwise a comma-separated
 * list of host names (a name matches itself and every name under it; a leading dot or `*.` is the
 * same), IP addresses, CIDR blocks, each optionally with `:port` (then only that port).
 */
export function bypassesProxy(hostname: string, port: number, noProxy: string): boolean {
  const host = bareHost(hostname);
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: number | undefined;
    const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (withPort) {
      entry = withPort[1]!;
      entryPort = Number(withPort[2]);
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = bareHost(entry);
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    if (isIP(entry) || isIP(host)) {
      if (entry === host) return true;
      continue;
    }
    const name = entry.replace(/^\*?\./, '');
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const family = isIP(base ?? '');
  if (!family || family !== isIP(host) || !Number.isInteger(bits)) return false;
  const a = addressBytes(host, family);
  const b = addressBytes(base!, family);
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((a[Math.floor(bit / 8)]! & mask) !== (b[Math.floor(bit / 8)]! & mask)) return false;
  }
  return true;
}

function addressBytes(address: string, family: number): number[] {
  if (family === 4) return address.split('.').map(Number);
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}
