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
  return {
    update(next) {
      spinner.text = next;
    },
    stop() {
      spinner.stop();
    },
  };
}
