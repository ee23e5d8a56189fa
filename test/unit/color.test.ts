import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { painter } from '../../src/cli/color.js';
import { UsageError, renderError } from '../../src/cli/errors.js';

describe('colour', () => {
  it('an error and its hint: the basic SGR sequences on a terminal, the text alone without colour', () => {
    const render = (color: boolean) => {
      const stderr = new PassThrough();
      const status = renderError(new UsageError('no target given', 'give an instance id'), stderr, color);
      return { status, text: String(stderr.read()) };
    };
    expect(render(true)).toEqual({ status: 2, text: '\x1b[31mssmx: error:\x1b[39m no target given\n\x1b[2mhint:\x1b[22m give an instance id\n' });
    expect(render(false)).toEqual({ status: 2, text: 'ssmx: error: no target given\nhint: give an instance id\n' });
  });

  it('each style opens and closes as chalk writes it at its basic level', () => {
    const paint = painter(true);
    expect([paint.red('r'), paint.green('g'), paint.cyan('c'), paint.bold('b'), paint.dim('d')]).toEqual(['\x1b[31mr\x1b[39m', '\x1b[32mg\x1b[39m', '\x1b[36mc\x1b[39m', '\x1b[1mb\x1b[22m', '\x1b[2md\x1b[22m']);
    expect(painter(false).red('r')).toBe('r');
  });
});
