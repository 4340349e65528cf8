/**
 * Kafka's TransactionMarkerChannelManager: the transaction coordinator's connections to the
 * leaders of the partitions its transactions touched, over which it sends WriteTxnMarkers. One
 * connection per destination broker, one request at a time on it (ReplicaClient's rule); a
 * failed connection is dropped and opened again by the next send. A partition answered with an
 * error fails the send, and the coordinator retries the markers with backoff, after the cluster
 * view has had time to learn the partition's new leader.
 */
import { ClusterError } from '../errors.js';
import type { TopicPartitionRef } from '../broker/group-types.js';
import type { TxnMarker } from '../broker/transaction-types.js';
import { ErrorCode } from '../protocol/api/error-codes.js';
import { WriteTxnMarkers } from '../protocol/api/write-txn-markers.js';
import type { ClusterEndpoint } from '../server/cluster-view.js';
import { ReplicaClient } from './replica-client.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** WriteTxnMarkers v1, the flexible version Kafka 3.x brokers send. */
const WRITE_TXN_MARKERS_VERSION = 1;

interface Channel {
  client: Promise<ReplicaClient>;
  /** The last request sent or queued on the connection. */
  queue: Promise<unknown>;
}

export class TxnMarkerChannels {
  private readonly channels = new Map<number, Channel>();
  private closed = false;

  constructor(
    private readonly brokerId: number,
    private readonly endpointOf: (brokerId: number) => ClusterEndpoint | null,
  ) {}

  /** Sends the marker for `partitions` to broker `leader`, which leads them; throws unless every partition took it. */
  async send(leader: number, partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void> {
    if (this.closed) throw new ClusterError('the transaction marker channels are closed');
    const channel = this.channel(leader);
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions) {
      const list = topics.get(topic) ?? [];
      list.push(partition);
      topics.set(topic, list);
    }
    const body = {
      markers: [
        {
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          coordinatorEpoch: marker.coordinatorEpoch,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
    };
    const sent = channel.queue.then(async () => (await channel.client).send(WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, body));
    channel.queue = sent.catch(() => undefined);
    let response;
    try {
      response = await sent;
    } catch (error) {
      // The connection failed (the leader died, say): the next send opens a new one.
      if (this.channels.get(leader) === channel) this.channels.delete(leader);
      void channel.client.then((client) => client.close(), () => undefined);
      throw new ClusterError(`sending transaction markers to broker ${leader}: ${(error as Error).message}`);
    }
    const failed: string[] = [];
    for (const result of response.markers) {
      for (const topic of result.topics) {
        for (const { partitionIndex, errorCode } of topic.partitions) if (errorCode !== ErrorCode.NONE) failed.push(`${topic.name}-${partitionIndex}: error code ${errorCode}`);
      }
    }
    if (failed.length > 0) throw new ClusterError(`broker ${leader} did not write the transaction markers of ${failed.join(', ')}`);
  }

  private channel(leader: number): Channel {
    let channel = this.channels.get(leader);
    if (channel !== undefined) return channel;
    const endpoint = this.endpointOf(leader);
    const client =
      endpoint === null
        ? Promise.reject(new ClusterError(`broker ${leader} has no endpoint registered`))
        : ReplicaClient.connect(endpoint.host, endpoint.port, `broker-${this.brokerId}-txn-markers`, CONNECT_TIMEOUT_MS);
    client.catch(() => undefined);
    channel = { client, queue: Promise.resolve() };
    this.channels.set(leader, channel);
    return channel;
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels.values()) void channel.client.then((client) => client.close(), () => undefined);
    this.channels.clear();
  }
}
