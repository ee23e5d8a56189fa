import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Spinners, type StartLine } from '../../src/cli/progress.js';

/** A terminal of some width, and the lines drawn on it: each line's texts, and whether it stopped. */
function setup(columns = 80) {
  const stderr = Object.assign(new Writable({ write: (_chunk, _encoding, done) => done() }), { columns });
  const lines: Array<{ texts: string[]; stopped: number }> = [];
  const startLine: StartLine = (_stream, text) => {
    const line = { texts: [text], stopped: 0 };
    lines.push(line);
    return { update: (next) => line.texts.push(next), stop: () => (line.stopped += 1) };
  };
  return { stderr, lines, spinners: new Spinners(startLine) };
}

describe('Spinners', () => {
  it('a progress started inside another shows on the same line, and the outer one again after it; the line stops with the last', () => {
    const { stderr, lines, spinners } = setup();
    const outer = spinners.start(stderr, true, 'Starting port forwarding to web-1', true);
    const lookup = spinners.start(stderr, true, 'Looking up web-1', true);
    outer.update('Starting port forwarding to web-1 (2 of 4)');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.texts.at(-1)).toBe('Looking up web-1');
    lookup.stop();
    lookup.stop();
    expect(lines[0]!.texts.at(-1)).toBe('Starting port forwarding to web-1 (2 of 4)');
    expect(lines[0]!.stopped).toBe(0);
    outer.stop();
    expect(lines[0]!.stopped).toBe(1);
    lookup.update('late');
    outer.stop();
    expect(lines[0]).toEqual({ texts: ['Starting port forwarding to web-1', 'Looking up web-1', 'Looking up web-1', 'Starting port forwarding to web-1 (2 of 4)'], stopped: 1 });
    expect(stderr.listenerCount('resize')).toBe(0);
    spinners.start(stderr, true, 'again', true).stop();
    expect(lines).toHaveLength(2);
  });

  it('none off a terminal, with --quiet, or on a terminal of no width; stopAll and a shrink to 0 columns end the line once', () => {
    const { stderr, lines, spinners } = setup();
    spinners.start(stderr, false, 'a pipe', true);
    spinners.start(stderr, true, 'quiet', false);
    spinners.start(setup(0).stderr, true, 'no width', true);
    expect(lines).toHaveLength(0);
    const first = spinners.start(stderr, true, 'one', true);
    spinners.start(stderr, true, 'two', true);
    spinners.stopAll();
    first.stop();
    expect(lines[0]!.stopped).toBe(1);
    spinners.start(stderr, true, 'three', true);
    stderr.columns = 0;
    stderr.emit('resize');
    expect(lines[1]!.stopped).toBe(1);
    spinners.start(stderr, true, 'four', true);
    expect(lines).toHaveLength(2);
  });
});
