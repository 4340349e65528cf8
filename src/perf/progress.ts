/**
 * Live progress of a perf run on stderr, so stdout carries nothing but the table or the JSON.
 * The bar appears only once a run has lasted a second (short runs stay quiet) and only when
 * stderr is a terminal; `update` is cheap enough to call per batch: it stores a number, and the
 * bar redraws on its own timer.
 */
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';

export const PROGRESS_DELAY_MS = 1000;

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export const NO_PROGRESS: Progress = { update: () => {}, stop: () => {} };

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return NO_PROGRESS;
  let done = 0;
  let bar: cliProgress.SingleBar | null = null;
  const startMs = performance.now();
  const elapsed = (): { elapsed: string } => ({ elapsed: ((performance.now() - startMs) / 1000).toFixed(1) });
  const timer = setTimeout(() => {
    bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} records | {elapsed} s`,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, done, elapsed());
  }, PROGRESS_DELAY_MS);
  timer.unref();
  return {
    update(value: number): void {
      done = value;
      bar?.update(Math.min(value, total), elapsed());
    },
    stop(): void {
      clearTimeout(timer);
      bar?.stop();
      bar = null;
    },
  };
}
