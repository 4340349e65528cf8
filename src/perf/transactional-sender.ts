/**
 * Sends inside transactions for `--transactional`, as Kafka's producer perf tool does with
 * --transaction-duration-ms: a transaction stays open for that long, then is committed and the
 * next one opened. A send that arrives while a commit is under way waits for the new
 * transaction, so the cost of commits shows in the latency of the records held back.
 */
import { performance } from 'node:perf_hooks';
import type { PerfMessage } from './send-loop.js';

/** What the sender needs of a producer (the embedded one; kafkajs's has the same shape). */
export interface TransactionalProducer {
  transaction(): Promise<OpenTransaction>;
}

export interface OpenTransaction {
  send(record: { topic: string; messages: PerfMessage[] }): Promise<unknown>;
  commit(): Promise<void>;
}

export class TransactionalSender {
  private transaction: OpenTransaction | null = null;
  private openedMs = 0;
  /** Set while one transaction is committed and the next opened. */
  private rotating: Promise<void> | null = null;
  private committed = 0;

  constructor(
    private readonly producer: TransactionalProducer,
    private readonly topic: string,
    private readonly durationMs: number,
  ) {}

  /** Transactions committed so far. */
  get commits(): number {
    return this.committed;
  }

  readonly send = async (messages: PerfMessage[]): Promise<unknown> => {
    if (this.rotating === null && (this.transaction === null || performance.now() - this.openedMs >= this.durationMs)) {
      this.rotating = this.rotate();
    }
    if (this.rotating !== null) await this.rotating;
    return this.transaction!.send({ topic: this.topic, messages });
  };

  /** Commits the open transaction (after its sends settle), if any. */
  async finish(): Promise<void> {
    if (this.rotating !== null) await this.rotating;
    if (this.transaction === null) return;
    const last = this.transaction;
    this.transaction = null;
    await last.commit();
    this.committed++;
  }

  private async rotate(): Promise<void> {
    try {
      const previous = this.transaction;
      if (previous !== null) {
        await previous.commit();
        this.committed++;
      }
      this.transaction = await this.producer.transaction();
      this.openedMs = performance.now();
    } finally {
      this.rotating = null;
    }
  }
}
