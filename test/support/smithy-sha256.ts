import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** The checksum interface @smithy/signature-v4 takes, over node:crypto: the tests' independent signer. */
export class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {}
}
