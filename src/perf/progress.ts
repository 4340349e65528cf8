/**
 * Live progress of a long command on stderr (perf, tune, produce from a large input, consume with
 * a large --max-messages), so stdout carries nothing but its data, table or JSON. The line gives
 * the rate and, when the end is known, the share done and the time left:
 *
 *   produce [##########----------] 50% | 1,000,000 records | 512,000 records/s | 48.6 MB/s | ETA 2s
 *
 * It appears only when stderr is a terminal (nothing on a pipe or in a file) and only once a run
 * has lasted `delayMs` (short runs stay quiet); it is erased when the run ends. `update` is cheap
 * enough to call per batch: it stores numbers, and the line redraws on its own timer.
 */
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import { formatCount as count } from '../format.js';

export const PROGRESS_DELAY_MS = 1000;
const BAR_CELLS = 20;
const REDRAWS_PER_SECOND = 5;

export interface Progress {
  /** `done` in the progress's unit; `records` when that unit is bytes (records are counted apart). */
  update(done: number, records?: number): void;
  stop(): void;
}

export const NO_PROGRESS: Progress = { update: () => {}, stop: () => {} };

export interface ProgressOptions {
  /** What `done` counts: records, or bytes of the input (then the line also shows MB/s). */
  unit: 'records' | 'bytes';
  /** The `done` at which the run ends, or null when it cannot be known (input from a pipe). */
  total: number | null;
  /** Default stderr. */
  stream?: NodeJS.WriteStream;
  /** How long a run lasts before the line appears. Default PROGRESS_DELAY_MS. */
  delayMs?: number;
}

/** What the progress line is drawn from: counts so far and the time they took. */
export interface ProgressState {
  label: string;
  unit: 'records' | 'bytes';
  done: number;
  total: number | null;
  /** Records so far: `done` itself when the unit is records. */
  records: number;
  elapsedMs: number;
}

export function createProgress(label: string, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return NO_PROGRESS;
  const { unit, total } = options;
  let done = 0;
  let records = 0;
  let bar: cliProgress.SingleBar | null = null;
  const startMs = performance.now();
  const line = (): string => formatProgressLine({ label, unit, done, total, records, elapsedMs: performance.now() - startMs });
  const timer = setTimeout(() => {
    bar = new cliProgress.SingleBar({
      stream,
      format: line,
      hideCursor: true,
      clearOnComplete: true,
      fps: REDRAWS_PER_SECOND,
    });
    // cli-progress wants a total; the line is ours, so an unknown one only has to be positive.
    bar.start(total ?? 1, 0);
  }, options.delayMs ?? PROGRESS_DELAY_MS);
  timer.unref();
  return {
    update(value: number, recordCount?: number): void {
      done = value;
      records = unit === 'records' ? value : (recordCount ?? records);
    },
    stop(): void {
      clearTimeout(timer);
      bar?.stop();
      bar = null;
    },
  };
}

/** The progress line for `state`: share done and ETA only when the total is known. */
export function formatProgressLine(state: ProgressState): string {
  const { label, unit, done, total, records } = state;
  const seconds = state.elapsedMs / 1000;
  const parts: string[] = [];
  if (total !== null && total > 0) {
    const share = Math.min(done / total, 1);
    const cells = Math.round(share * BAR_CELLS);
    parts.push(`${label} [${'#'.repeat(cells)}${'-'.repeat(BAR_CELLS - cells)}] ${Math.floor(share * 100)}%`);
  } else {
    parts.push(label);
  }
  parts.push(unit === 'records' && total !== null ? `${count(records)}/${count(total)} records` : `${count(records)} records`);
  parts.push(seconds > 0 ? `${count(records / seconds)} records/s` : '- records/s');
  if (unit === 'bytes') parts.push(seconds > 0 ? `${(done / seconds / 1e6).toFixed(1)} MB/s` : '- MB/s');
  if (total !== null) {
    const perSecond = seconds > 0 ? done / seconds : 0;
    parts.push(done >= total ? 'ETA 0s' : perSecond > 0 ? `ETA ${formatDuration((total - done) / perSecond)}` : 'ETA -');
  } else {
    parts.push(`${formatDuration(seconds)} elapsed`);
  }
  return parts.join(' | ');
}

/** 42s, 3m05s, 2h07m: whole seconds, the two largest units. */
export function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
