import ora, { type Ora } from 'ora';
import type { Writable } from 'node:stream';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

/** Spinners running now: a prompt (the MFA code) stops them before it asks. */
const running = new Set<Progress>();

export function stopAllProgress(): void {
  for (const progress of [...running]) progress.stop();
}

/** A spinner on stderr, only where stderr is a terminal and --quiet was not given. */
export function startProgress(stderr: Writable, text: string, enabled: boolean): Progress {
  if (!enabled || !(stderr as { isTTY?: boolean }).isTTY) return { update() {}, stop() {} };
  const progress = spinner(stderr, text);
  running.add(progress);
  return {
    update: (next) => progress.update(next),
    stop() {
      running.delete(progress);
      progress.stop();
    },
  };
}

function spinner(stderr: Writable, text: string): Progress {
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
