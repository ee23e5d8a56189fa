import ora, { type Ora } from 'ora';
import type { Writable } from 'node:stream';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

/** A spinner on stderr, only where stderr is a terminal and --quiet was not given. */
export function startProgress(stderr: Writable, text: string, enabled: boolean): Progress {
  if (!enabled || !(stderr as { isTTY?: boolean }).isTTY) return { update() {}, stop() {} };
  const spinner: Ora = ora({ text, stream: stderr as NodeJS.WritableStream, discardStdin: false }).start();
  let running = true;
  return {
    update(next) {
      if (running) spinner.text = next;
    },
    stop() {
      // Once only: a second stop would move the cursor on a line the remote now owns.
      if (!running) return;
      running = false;
      spinner.stop();
    },
  };
}
