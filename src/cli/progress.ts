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

/** Draws one spinner line: started with a text, given new texts, stopped once. */
export type StartLine = (stderr: Writable, text: string, color: boolean) => Progress;

/**
 * The spinners of one run, on one line: a progress started while another runs (the target's
 * lookup inside forward's "Starting port forwarding") shows its text on the same spinner, and the
 * one before it shows again when it stops. Two ora spinners at once would fight over the line,
 * and ora says so on the terminal ("Multiple concurrent spinners detected", once for each stream
 * it hooks). A prompt (the MFA code, the picker) stops them all before it asks.
 */
export class Spinners {
  /** What each running progress says, in the order they started: the last one's text shows. */
  private readonly texts = new Map<Progress, string>();
  private line: Progress | undefined;

  constructor(private readonly startLine: StartLine = startSpinner) {}

  /**
   * A spinner on stderr, only where stderr is a terminal of a known width and `enabled` (no
   * --quiet). A terminal that reports 0 columns (`docker exec -t`, some CI runners) has no known
   * width: a spinner there would compute an endless number of lines to clear and spin the event
   * loop for ever, deaf to signals. It gets none, and the line stops if its terminal shrinks so.
   */
  start(stderr: Writable, stderrIsTTY: boolean, text: string, enabled: boolean, color = true): Progress {
    if (!enabled || !stderrIsTTY || !hasWidth(stderr)) return idle;
    const progress: Progress = {
      update: (next) => {
        if (!this.texts.has(progress)) return;
        this.texts.set(progress, next);
        this.show();
      },
      stop: () => {
        if (this.texts.delete(progress)) this.show();
      },
    };
    this.texts.set(progress, text);
    if (this.line) {
      this.show();
    } else {
      const spinner = this.startLine(stderr, text, color);
      const onResize = () => !hasWidth(stderr) && this.stopAll();
      stderr.on('resize', onResize);
      this.line = {
        update: (next) => spinner.update(next),
        stop: () => {
          stderr.off('resize', onResize);
          spinner.stop();
        },
      };
    }
    return progress;
  }

  stopAll(): void {
    this.texts.clear();
    this.show();
  }

  /** The newest running progress's text on the line; the line gone once none runs. */
  private show(): void {
    const shown = [...this.texts.values()].at(-1);
    if (shown !== undefined) return this.line?.update(shown);
    this.line?.stop();
    this.line = undefined;
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
