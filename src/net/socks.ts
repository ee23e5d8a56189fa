/**
 * The server's side of SOCKS: version 5 (RFC 1928) with the no-authentication method, and version
 * 4 with 4a's host names. Pure: bytes in, what the client asked for (or why it cannot be served)
 * out, and the replies as bytes.
 */

export const SOCKS5 = 5;
export const SOCKS4 = 4;
/** RFC 1928 §3: methods. */
export const NO_AUTHENTICATION = 0x00;
export const NO_ACCEPTABLE_METHODS = 0xff;
/** RFC 1928 §4: commands. */
export const Command = { Connect: 0x01, Bind: 0x02, UdpAssociate: 0x03 } as const;
/** RFC 1928 §6: the REP field. */
export const Reply = {
  Succeeded: 0x00,
  GeneralFailure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TtlExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressTypeNotSupported: 0x08,
} as const;
/** SOCKS 4: request granted, or rejected or failed. */
export const Socks4Reply = { Granted: 0x5a, Rejected: 0x5b } as const;

/** What the client asked to reach; `version` says which reply it expects. */
export interface SocksRequest {
  version: 4 | 5;
  command: number;
  host: string;
  port: number;
  addressType: 'ipv4' | 'ipv6' | 'domain';
}

export type SocksStep =
  /** More bytes are needed. */
  | { kind: 'more' }
  /** A SOCKS 5 greeting: answer with `methodReply`, then feed on. */
  | { kind: 'greeting'; methods: number[]; consumed: number }
  /** The request, complete; bytes after it (`consumed` on) are the client's first data. */
  | { kind: 'request'; request: SocksRequest; consumed: number }
  /** Not SOCKS, or a request that cannot be served: answer `reply` (when there is one) and close. */
  | { kind: 'refuse'; reason: string; reply?: Buffer };

/** Host names are at most 255 bytes (the length is one byte); SOCKS 4 user ids are bounded here. */
const MAX_SOCKS4_FIELD = 1024;

/**
 * The next step of a connection, from all the bytes it has sent so far (`greeted`: a SOCKS 5
 * greeting was answered, so what follows is the request).
 */
export function parseSocks(data: Buffer, greeted: boolean): SocksStep {
  if (data.length === 0) return { kind: 'more' };
  const version = data[0]!;
  if (!greeted && version === SOCKS4) return parseSocks4(data);
  if (version !== SOCKS5) return { kind: 'refuse', reason: `not SOCKS (version byte ${version})` };
  if (!greeted) {
    if (data.length < 2) return { kind: 'more' };
    const count = data[1]!;
    if (count === 0) return { kind: 'refuse', reason: 'a greeting with no methods', reply: methodReply(NO_ACCEPTABLE_METHODS) };
    if (data.length < 2 + count) return { kind: 'more' };
    return { kind: 'greeting', methods: [...data.subarray(2, 2 + count)], consumed: 2 + count };
  }
  if (data.length < 5) return { kind: 'more' };
  const command = data[1]!;
  const addressType = data[3]!;
  let host: string;
  let at: number;
  let type: SocksRequest['addressType'];
  switch (addressType) {
    case 0x01:
      if (data.length < 10) return { kind: 'more' };
      host = [...data.subarray(4, 8)].join('.');
      at = 8;
      type = 'ipv4';
      break;
    case 0x04: {
      if (data.length < 22) return { kind: 'more' };
      const groups: string[] = [];
      for (let i = 4; i < 20; i += 2) groups.push(data.readUInt16BE(i).toString(16));
      host = compressIpv6(groups);
      at = 20;
      type = 'ipv6';
      break;
    }
    case 0x03: {
      const length = data[4]!;
      if (data.length < 5 + length + 2) return { kind: 'more' };
      host = data.subarray(5, 5 + length).toString('utf8');
      at = 5 + length;
      type = 'domain';
      if (length === 0) return { kind: 'refuse', reason: 'an empty host name', reply: socks5Reply(Reply.GeneralFailure) };
      break;
    }
    default:
      return { kind: 'refuse', reason: `address type ${addressType}`, reply: socks5Reply(Reply.AddressTypeNotSupported) };
  }
  const port = data.readUInt16BE(at);
  return { kind: 'request', request: { version: 5, command, host, port, addressType: type }, consumed: at + 2 };
}

/** SOCKS 4: VN CD DSTPORT DSTIP USERID NUL, and with 4a (DSTIP 0.0.0.x, x ≠ 0) a host name and NUL after. */
function parseSocks4(data: Buffer): SocksStep {
  if (data.length < 9) return { kind: 'more' };
  const userEnd = data.indexOf(0, 8);
  if (userEnd < 0) return data.length > MAX_SOCKS4_FIELD ? { kind: 'refuse', reason: 'a SOCKS 4 user id too long', reply: socks4Reply(Socks4Reply.Rejected) } : { kind: 'more' };
  const port = data.readUInt16BE(2);
  const ip = [...data.subarray(4, 8)];
  let host = ip.join('.');
  let consumed = userEnd + 1;
  let addressType: SocksRequest['addressType'] = 'ipv4';
  if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) {
    const hostEnd = data.indexOf(0, consumed);
    if (hostEnd < 0) return data.length > MAX_SOCKS4_FIELD ? { kind: 'refuse', reason: 'a SOCKS 4a host name too long', reply: socks4Reply(Socks4Reply.Rejected) } : { kind: 'more' };
    host = data.subarray(consumed, hostEnd).toString('utf8');
    consumed = hostEnd + 1;
    addressType = 'domain';
  }
  return { kind: 'request', request: { version: 4, command: data[1]!, host, port, addressType }, consumed };
}

/** RFC 5952's shortest form: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength && j - i >= 2) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

export const methodReply = (method: number): Buffer => Buffer.from([SOCKS5, method]);

/** A SOCKS 5 reply; the bound address is not one a client can use here, so it is 0.0.0.0:0. */
export const socks5Reply = (reply: number): Buffer => Buffer.from([SOCKS5, reply, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);

export const socks4Reply = (reply: number): Buffer => Buffer.from([0x00, reply, 0, 0, 0, 0, 0, 0]);

/** The reply for a request, in its version: success, or a SOCKS 5 code (SOCKS 4 has only "rejected"). */
export const replyFor = (request: Pick<SocksRequest, 'version'>, reply: number): Buffer =>
  request.version === 4 ? socks4Reply(reply === Reply.Succeeded ? Socks4Reply.Granted : Socks4Reply.Rejected) : socks5Reply(reply);
