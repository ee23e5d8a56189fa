import ora, { type Ora } from 'ora';
import type { Writable } from 'node:stream';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

const idle: Progress = { update() {}, stop() {} };

/** The spinners of one run: a prompt (the MFA code, the picker) stops them before it asks. */
export class Spinners {
  private readonly running = new Set<Progress>();

  /** A spinner on stderr, only where stderr is a terminal and `enabled` (no --quiet). */
  start(stderr: Writable, stderrIsTTY: boolean, text: string, enabled: boolean): Progress {
    if (!enabled || !stderrIsTTY) return idle;
    const spinner = startSpinner(stderr, text);
    const progress: Progress = {
      update: (next) => spinner.update(next),
      stop: () => {
        this.running.delete(progress);
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

/** A spinner for a command's context: its stderr, its terminal facts, its set of spinners. */
export function startProgress(context: { stderr: Writable; stderrIsTTY: boolean; spinners: Spinners }, text: string, enabled: boolean): Progress {
  return context.spinners.start(context.stderr, context.stderrIsTTY, text, enabled);
}

function startSpinner(stderr: Writable, text: string): Progress {
  const spinner: Ora = ora({ text, stream: stderr as NodeJS.WritableStream, discardStdin: false }).start();
  let spinning = true;
  return {
    update(next) {
      if (spinning) spinner.text = next;
    },
    stop() {
      // Once only: a second stop would move the cursor on a line the remote now owns.
      if (!spinning) return;
      spinning = false;
      spinner.stop();
    },
  };
}
