import { describe, expect, it } from 'vitest';
import { ReplacementPolicy } from '../../src/session/replacement-policy.js';

describe('replacing the sessions of a pool (issue 29: no StartSession storm)', () => {
  it('every replacement waits, longer each time a session carries nothing, and gives up after the bound', () => {
    const policy = new ReplacementPolicy(5);
    expect([0, 0, 0, 0].map(() => policy.next(false, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(policy.next(false, 1)).toBeUndefined();
  });

  it('a session that carried data resets the count, but its replacement still waits', () => {
    const policy = new ReplacementPolicy(3);
    expect(policy.next(false, 1)).toBe(1000);
    expect(policy.next(false, 1)).toBe(2000);
    expect(policy.next(true, 1)).toBe(500);
    expect(policy.failures).toBe(0);
    expect(policy.next(false, 0)).toBe(500);
  });

  it('jitter: half to all of the backoff; the doubling is capped at 10 s', () => {
    const policy = new ReplacementPolicy(100);
    for (let i = 0; i < 10; i++) policy.next(false, 0.5);
    expect(policy.next(false, 0)).toBe(5000);
    expect(policy.next(false, 0.999999)).toBeCloseTo(10_000, -1);
  });
});
