/**
 * Waiting on conditions and promises with a deadline, never for a fixed time: a loaded 2-core
 * machine can stall a thread for seconds, so a test waits for the signal it needs and fails with
 * a message naming what did not happen.
 */

export interface DeadlineOptions {
  /** How long to wait before failing; generous by default, as a loaded host stalls threads for seconds. */
  timeoutMs?: number;
  /** What is being waited for, for the failure message. */
  what?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 10;

/** Waits until `check` holds, checking every 10 ms until the deadline. */
export async function eventually(check: () => boolean | Promise<boolean>, options: DeadlineOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${options.what ?? 'condition'} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Resolves with `promise`'s value, or fails once the deadline passes first. */
export async function within<T>(promise: Promise<T>, options: DeadlineOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${options.what ?? 'promise'} did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
