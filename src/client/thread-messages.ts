/**
 * The control plane between the thread that opened a broker and a thread attached to it
 * (Sluice.handle / Sluice.attach): MessagePort messages, structured-cloned. Only what is rare goes
 * here (attaching, topic placement, producer ids, ring pairs after a shard restart, the broker's
 * close); appends and their answers travel the attached thread's own shard rings.
 *
 * Two ports: the handle's port for asynchronous calls and notices, and a second port the attached
 * thread sends in its attach request, on which it reads placement answers synchronously
 * (receiveMessageOnPort, after Atomics.wait on a shared word the host bumps): the producer asks for
 * a topic's partition count synchronously, as Kafka's producer blocks in send() for metadata.
 */
import type { MessagePort } from 'node:worker_threads';
import type { TopicPlacement } from '../broker/broker.js';
import type { AttachedRingPair } from '../shard/shard-pool.js';
import type { SerializedError } from '../shard/shard-messages.js';

/** What Sluice.handle() returns: pass it to one other thread, with `port` in the transfer list. */
export interface SluiceHandle {
  readonly kind: 'sluice-handle';
  readonly port: MessagePort;
}

/** Attached thread -> host, on the handle's port. */
export type AttachedRequest =
  | { op: 'attach'; syncPort: MessagePort; syncWord: SharedArrayBuffer }
  | { op: 'initProducerId'; id: number; request: unknown }
  /**
   * The attached Sluice closed. Said explicitly: closing the port alone does not always reach the
   * other side (a port closed inside a piscina task's thread, which lives on, was seen not to);
   * a thread that ends or crashes closes its ports, and that does.
   */
  | { op: 'detach' };

/** Host -> attached thread, on the handle's port. */
export type HostMessage =
  | { op: 'attached'; rings: AttachedRingPair[]; stateTable: SharedArrayBuffer }
  | { op: 'refused'; error: SerializedError }
  | { op: 'reply'; id: number; result?: unknown; error?: SerializedError }
  /** A restarted shard's new ring pair (the old one was closed). */
  | { op: 'rings'; pair: AttachedRingPair }
  /** The opening thread closed the broker. */
  | { op: 'closed' };

/** Attached thread -> host, on the sync port. */
export interface PlacementRequest {
  id: number;
  topic: string;
  autoCreate: boolean;
}

/** Host -> attached thread, on the sync port, then syncWord[0] = id and a notify. */
export interface PlacementAnswer {
  id: number;
  placement?: TopicPlacement;
  error?: SerializedError;
}
