/**
 * Connector and task states as Kafka Connect reports them (AbstractStatus.State), with the
 * worker that runs each and, for FAILED, the failure's stack trace.
 */
export const STATES = ['UNASSIGNED', 'RUNNING', 'PAUSED', 'STOPPED', 'FAILED', 'RESTARTING'] as const;
export type State = (typeof STATES)[number];

export interface TaskId {
  readonly connector: string;
  readonly task: number;
}

export interface Status {
  readonly state: State;
  readonly workerId: string;
  readonly trace?: string;
}

/** What a running connector or task tells about itself. */
export interface StatusListener {
  onRunning(): void;
  onPaused(): void;
  onStopped(): void;
  onFailure(error: unknown): void;
  /** A task sent a record to (source) or read one from (sink) this topic (KIP-558's active topics); called for every record or batch, so cheap when already known. */
  onTopicActive(topic: string): void;
}

export function traceOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
