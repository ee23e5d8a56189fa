import type { Ora } from 'ora';
import type { Writable } from 'node:stream';
import { useColor } from './color.js';
import type { CliContext, GlobalOptions } from './context.js';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

const idle: Progress = { update() {}, stop() {} };

const hasWidth = (stream: Writable): boolean => ((stream as { columns?: number }).columns ?? 0) > 0;

/** The spinners of one run: a prompt (the MFA code, the picker) stops them before it asks. */
export class Spinners {
  private readonly running = new Set<Progress>();

  /**
   * A spinner on stderr, only where stderr is a terminal of a known width and `enabled` (no
   * --quiet). A terminal that reports 0 columns (`docker exec -t`, some CI runners) has no known
   * width: a spinner there would compute an endless number of lines to clear and spin the event
   * loop for ever, deaf to signals. It gets none, and a spinner stops if its terminal shrinks so.
   */
  start(stderr: Writable, stderrIsTTY: boolean, text: string, enabled: boolean, color = true): Progress {
    if (!enabled || !stderrIsTTY || !hasWidth(stderr)) return idle;
    const spinner = startSpinner(stderr, text, color);
    const onResize = () => !hasWidth(stderr) && progress.stop();
    stderr.on('resize', onResize);
    const progress: Progress = {
      update: (next) => spinner.update(next),
      stop: () => {
        this.running.delete(progress);
        stderr.off('resize', onResize);
        spinner.stop();
      },
    };
    this.running.add(progress);
    return progress;
  }

  stopAll(): void {
    for (const progress of [...this.running]) progress.stop();
  }
}

/**
 * A spinner for a command: on its context's stderr, unless --quiet, in colour only where messages
 * are (not with NO_COLOR or --no-color).
 */
export function startProgress(context: CliContext, text: string, options: GlobalOptions): Progress {
  return context.spinners.start(context.stderr, context.stderrIsTTY, text, !options.quiet, useColor(context, options));
}

/**
 * ora (with its dependencies, a fifth of what a command loads before it acts) is loaded only when a
 * spinner is wanted, and the spinner appears once it is: a command that ends first never shows it.
 */
function startSpinner(stderr: Writable, text: string, color: boolean): Progress {
  let spinner: Ora | undefined;
  let spinning = true;
  void import('ora').then(({ default: ora }) => {
    if (!spinning) return;
    spinner = ora({ text, stream: stderr as NodeJS.WritableStream, discardStdin: false, ...(color ? {} : { color: false }) }).start();
  });
  return {
    update(next) {
      text = next;
      if (spinning && spinner) spinner.text = next;
    },
    stop() {
      // Once only: a second stop would move the cursor on a line the remote now owns.
      if (!spinning) return;
      spinning = false;
      spinner?.stop();
    },
  };
}
