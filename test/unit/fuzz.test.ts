import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../bench/fuzz.js';

describe('fuzzing the decoders and the channel (a fixed seed; npm run fuzz runs longer)', () => {
  it('200,000 random and mutated frames: typed errors or correct values, nothing thrown, memory bounded', () => {
    const stats = runFuzz(200_000, 20261129);
    expect(stats.frames).toBe(200_000);
    expect(stats.decoded).toBeGreaterThan(10_000);
    expect(stats.typedErrors).toBeGreaterThan(10_000);
    // Headers claiming 4 GiB payloads came through many times: nothing of that size was allocated.
    // (Measured without a forced GC, so garbage not yet collected counts too.)
    expect(stats.heapGrowthMiB).toBeLessThan(512);
  }, 120_000);
});
