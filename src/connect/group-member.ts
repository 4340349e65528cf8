/**
 * A distributed worker's membership of its group (Kafka's WorkerGroupMember with the eager
 * protocol): the Kafka group protocol spoken directly over a socket to the group coordinator,
 * with protocol type "connect", so workers with the same group.id find each other through any
 * Kafka-protocol broker. The leader computes every member's assignment; before each rejoin a
 * member gives up all its work (eager rebalancing); a member that stops heartbeating is removed by
 * the coordinator after session.timeout.ms and the others are reassigned its work.
 */
import { connect, type Socket } from 'node:net';
import { ConnectError } from '../errors.js';
import type { AnyApi, RequestInputOf, ResponseOf } from '../protocol/api/api.js';
import { FindCoordinator } from '../protocol/api/find-coordinator.js';
import { Heartbeat } from '../protocol/api/heartbeat.js';
import { JoinGroup } from '../protocol/api/join-group.js';
import { LeaveGroup } from '../protocol/api/leave-group.js';
import { decodeResponse, encodeRequest } from '../protocol/api/registry.js';
import { SyncGroup } from '../protocol/api/sync-group.js';
import { Writer } from '../protocol/wire/writer.js';
import { FrameSplitter } from '../server/connection.js';

export const CONNECT_PROTOCOL_TYPE = 'connect';
/** Not Kafka's "default"/"sessioned" (whose metadata is ConnectProtocol binary): a Java worker in the group fails to join instead of misreading ours. */
export const SLUICE_CONNECT_PROTOCOL = 'sluice-eager-json-v1';
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const RETRY_BACKOFF_MS = 500;

const ERRORS = {
  NONE: 0,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  MEMBER_ID_REQUIRED: 79,
} as const;

/** One connection to a broker, requests answered in order. */
class WireConnection {
  private readonly splitter = new FrameSplitter(MAX_FRAME_BYTES);
  private readonly waiting: { resolve(frame: Buffer): void; reject(error: Error): void }[] = [];
  private nextCorrelationId = 1;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.splitter.append(chunk);
      for (let frame = this.splitter.next(); frame !== null; frame = this.splitter.next()) this.waiting.shift()?.resolve(frame);
    });
    const fail = (error: Error): void => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new ConnectError('the connection to the group coordinator closed')));
  }

  static open(host: string, port: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => resolve(new WireConnection(socket)));
      socket.once('error', reject);
    });
  }

  async send<A extends AnyApi>(api: A, version: number, body: RequestInputOf<A>): Promise<ResponseOf<A>> {
    if (this.closed) throw new ConnectError('the connection to the group coordinator is closed');
    const correlationId = this.nextCorrelationId++;
    const writer = new Writer();
    encodeRequest(writer, api, { apiVersion: version, correlationId, clientId: 'sluice-connect' }, body);
    const frame = new Promise<Buffer>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.socket.write(Buffer.from(writer.toBuffer()));
    const decoded = decodeResponse(await frame, api, version);
    if (decoded.correlationId !== correlationId) throw new ConnectError(`response correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export interface GroupMemberOptions {
  readonly bootstrapServers: readonly string[];
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export interface GroupMemberCallbacks {
  /** This member's JoinGroup metadata. */
  metadata(): Buffer;
  /** Leader only: each member's assignment. */
  assign(members: readonly { memberId: string; metadata: Buffer }[], leaderId: string): Map<string, Buffer>;
  /** Before (re)joining: give up all work. */
  revoke(): Promise<void>;
  /** After a rebalance: this member's assignment. */
  assigned(assignment: Buffer, generation: number, memberId: string, leaderId: string): Promise<void>;
  error(error: unknown): void;
}

export class ConnectGroupMember {
  private connection: WireConnection | null = null;
  private memberId = '';
  private generation = -1;
  private needJoin = true;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly options: GroupMemberOptions,
    private readonly callbacks: GroupMemberCallbacks,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Asks the group to rebalance: this member rejoins at once. */
  requestRejoin(): void {
    this.needJoin = true;
    this.wake?.();
  }

  /** Leaves the group (the others rebalance at once) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // On a connection of its own: the member's may be waiting on a JoinGroup, answered in order.
    if (this.memberId !== '') {
      const leave = await this.coordinator().catch(() => null);
      await leave?.send(LeaveGroup, 3, { groupId: this.options.groupId, members: [{ memberId: this.memberId, groupInstanceId: null }] }).catch(() => {});
      leave?.close();
    }
    this.connection?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.connection ??= await this.coordinator();
        if (this.needJoin) {
          this.needJoin = false;
          await this.callbacks.revoke();
          await this.join(this.connection);
          continue;
        }
        await this.pause(this.options.heartbeatIntervalMs);
        if (this.stopped || this.needJoin) continue;
        const { errorCode } = await this.connection.send(Heartbeat, 3, { groupId: this.options.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null });
        this.handleError(errorCode, 'Heartbeat');
      } catch (error) {
        this.connection?.close();
        this.connection = null;
        this.needJoin = true;
        if (!this.stopped) {
          this.callbacks.error(error);
          await this.pause(RETRY_BACKOFF_MS);
        }
      }
    }
  }

  private handleError(errorCode: number, what: string): void {
    if (errorCode === ERRORS.NONE) return;
    if (errorCode === ERRORS.REBALANCE_IN_PROGRESS || errorCode === ERRORS.ILLEGAL_GENERATION) {
      this.needJoin = true;
      return;
    }
    if (errorCode === ERRORS.UNKNOWN_MEMBER_ID) {
      this.memberId = '';
      this.needJoin = true;
      return;
    }
    if (errorCode === ERRORS.NOT_COORDINATOR || errorCode === ERRORS.COORDINATOR_NOT_AVAILABLE || errorCode === ERRORS.COORDINATOR_LOAD_IN_PROGRESS) {
      throw new ConnectError(`${what}: the group coordinator moved or is loading (error ${errorCode}); looking it up again`);
    }
    throw new ConnectError(`${what} of group ${this.options.groupId} failed with Kafka error code ${errorCode}`);
  }

  private async coordinator(): Promise<WireConnection> {
    const [host, port] = splitHostPort(this.options.bootstrapServers[0]!);
    const bootstrap = await WireConnection.open(host, port);
    try {
      const found = await bootstrap.send(FindCoordinator, 2, { key: this.options.groupId, keyType: 0 });
      if (found.errorCode !== ERRORS.NONE) throw new ConnectError(`FindCoordinator for group ${this.options.groupId} failed with Kafka error code ${found.errorCode}`);
      return await WireConnection.open(found.host, found.port);
    } finally {
      bootstrap.close();
    }
  }

  /** JoinGroup (again with the id the coordinator hands out, KIP-394), then SyncGroup with the leader's assignments. */
  private async join(connection: WireConnection): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const joined = await connection.send(JoinGroup, 5, {
        groupId: this.options.groupId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: CONNECT_PROTOCOL_TYPE,
        protocols: [{ name: SLUICE_CONNECT_PROTOCOL, metadata: this.callbacks.metadata() }],
      });
      if (joined.errorCode === ERRORS.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      this.handleError(joined.errorCode, 'JoinGroup');
      if (joined.errorCode !== ERRORS.NONE) continue;
      this.memberId = joined.memberId;
      this.generation = joined.generationId;
      const assignments =
        joined.leader === this.memberId
          ? [...this.callbacks.assign(joined.members.map((member) => ({ memberId: member.memberId, metadata: Buffer.from(member.metadata) })), joined.leader)].map(([memberId, assignment]) => ({ memberId, assignment }))
          : [];
      const synced = await connection.send(SyncGroup, 3, { groupId: this.options.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null, assignments });
      this.handleError(synced.errorCode, 'SyncGroup');
      if (synced.errorCode !== ERRORS.NONE) continue;
      this.needJoin = false;
      await this.callbacks.assigned(Buffer.from(synced.assignment), this.generation, this.memberId, joined.leader);
      return;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at === -1 || !Number.isInteger(port)) throw new ConnectError(`bootstrap.servers entry "${address}" is not host:port`);
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), port];
}
