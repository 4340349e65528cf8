/**
 * The opening thread's side of one handle (Sluice.handle): answers the attached thread's control
 * plane (thread-messages.ts) from the broker, and owns the attachment's ring pairs in the shard
 * pool. The attachment ends, and its rings are released, when either side closes the port: the
 * attached Sluice's close(), its thread ending or crashing (Node closes a dead thread's ports), or
 * the opening Sluice's close().
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Broker } from '../broker/broker.js';
import { InvalidRequestError } from '../errors.js';
import { serializeError } from '../shard/shard-messages.js';
import type { AttachedRingPair } from '../shard/shard-pool.js';
import type { AttachedRequest, HostMessage, PlacementAnswer, PlacementRequest, SluiceHandle } from './thread-messages.js';

export class ThreadHost {
  readonly handle: SluiceHandle;
  private readonly broker: Broker;
  private readonly port: MessagePort;
  private attachmentId: number | null = null;
  private syncPort: MessagePort | null = null;
  private closed = false;
  private readonly onEnd: (host: ThreadHost) => void;

  constructor(broker: Broker, onEnd: (host: ThreadHost) => void) {
    this.broker = broker;
    this.onEnd = onEnd;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.handle = Object.freeze({ kind: 'sluice-handle', port: port2 });
    port1.on('message', (message: AttachedRequest) => this.onRequest(message));
    port1.on('close', () => this.end());
    // An unused handle must not keep the process alive; an attached thread keeps its own side.
    port1.unref();
  }

  /** The opening Sluice is closing: tell the attached thread, release its rings. */
  close(): void {
    if (this.closed) return;
    this.post({ op: 'closed' });
    this.end();
  }

  private onRequest(message: AttachedRequest): void {
    if (message.op === 'attach') this.attach(message.syncPort, message.syncWord);
    else if (message.op === 'initProducerId') void this.initProducerId(message.id, message.request);
    else if (message.op === 'detach') this.end();
  }

  private attach(syncPort: MessagePort, syncWord: SharedArrayBuffer): void {
    if (this.attachmentId !== null) {
      this.post({ op: 'refused', error: serializeError(new InvalidRequestError('this handle is attached already: make one handle per thread')) });
      return;
    }
    try {
      const attachment = this.broker.shards.attach((pair: AttachedRingPair) => this.post({ op: 'rings', pair }));
      this.attachmentId = attachment.id;
      this.syncPort = syncPort;
      const word = new Int32Array(syncWord);
      syncPort.on('message', (request: PlacementRequest) => void this.answerPlacement(request, word));
      syncPort.unref();
      this.post({ op: 'attached', rings: attachment.rings, stateTable: attachment.stateTable });
    } catch (error) {
      this.post({ op: 'refused', error: serializeError(error) });
    }
  }

  private async answerPlacement(request: PlacementRequest, word: Int32Array): Promise<void> {
    let answer: PlacementAnswer;
    try {
      answer = { id: request.id, placement: await this.broker.topicPlacement(request.topic, request.autoCreate) };
    } catch (error) {
      answer = { id: request.id, error: serializeError(error) };
    }
    if (this.closed) return;
    this.syncPort?.postMessage(answer);
    // Posted first: the attached thread, woken, finds the answer on its port.
    Atomics.store(word, 0, request.id);
    Atomics.notify(word, 0);
  }

  private async initProducerId(id: number, request: unknown): Promise<void> {
    try {
      const result = await this.broker.initProducerId(request as Parameters<Broker['initProducerId']>[0]);
      this.post({ op: 'reply', id, result });
    } catch (error) {
      this.post({ op: 'reply', id, error: serializeError(error) });
    }
  }

  private post(message: HostMessage): void {
    if (!this.closed) this.port.postMessage(message);
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.attachmentId !== null) this.broker.shards.detach(this.attachmentId);
    this.syncPort?.close();
    this.port.close();
    this.onEnd(this);
  }
}
