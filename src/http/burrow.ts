/**
 * Burrow's HTTP API (LinkedIn Burrow v3, core/internal/httpserver), so Burrow's clients,
 * exporters and dashboards read Sluice's consumer lag as they read Burrow's: the same paths, the
 * same JSON field names, the same status strings and HTTP codes.
 *
 *   GET /burrow/admin                                   "GOOD" (health check)
 *   GET /burrow/admin/ready                             "READY"
 *   GET /v3/kafka                                       { clusters: [name] }
 *   GET /v3/kafka/{cluster}                             { module }: the Kafka listeners, offset-refresh
 *   GET /v3/kafka/{cluster}/topic                       { topics }
 *   GET /v3/kafka/{cluster}/topic/{topic}               { offsets }: each partition's end
 *   GET /v3/kafka/{cluster}/topic/{topic}/consumers     { consumers } with offsets on the topic
 *   GET /v3/kafka/{cluster}/consumer                    { consumers }
 *   GET /v3/kafka/{cluster}/consumer/{group}            { topics }: each partition's window of commits
 *   GET /v3/kafka/{cluster}/consumer/{group}/status     { status }: partitions not OK only
 *   GET /v3/kafka/{cluster}/consumer/{group}/lag        { status }: every partition
 *
 * Every JSON answer has Burrow's "error", "message" and "request" { url, host }. There is one
 * cluster, named by the `clusterName` option. The statuses are Broker.groupLag's (broker/lag.ts,
 * Burrow's evaluator rules) in Burrow's spelling: OK, WARN, STOP, STALL, REWIND per partition,
 * and a committed offset outside the log (Sluice's OUT_OF_RANGE, which Burrow has no word for)
 * as ERR; a group is OK, WARN or ERR, NOTFOUND (HTTP 404) when it does not exist.
 *
 * Described only what the caller may DESCRIBE (access.ts): topics and groups it may not are
 * left out of lists, a group it may not is answered 403, and a group's partitions of topics it
 * may not describe are left out, as Kafka's OffsetFetch leaves them out.
 */
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AclCaller } from '../broker/acl/acl-authorizer.js';
import type { Broker } from '../broker/broker.js';
import type { GroupLagDescription, PartitionLagDescription } from '../broker/broker-api.js';
import { decodeAssignment } from '../broker/consumer-protocol.js';
import type { CommitWindowEntry, PartitionLagStatus } from '../broker/lag.js';
import { GroupIdNotFoundError } from '../errors.js';
import type { HttpAccess } from './access.js';

/** Burrow's protocol.StatusConstant strings. */
export type BurrowStatus = 'NOTFOUND' | 'OK' | 'WARN' | 'ERR' | 'STOP' | 'STALL' | 'REWIND';

/** Burrow's numeric codes of the statuses (StatusConstant), which its exporters publish. */
export const BURROW_STATUS_CODE: Readonly<Record<BurrowStatus, number>> = {
  NOTFOUND: 0,
  OK: 1,
  WARN: 2,
  ERR: 3,
  STOP: 4,
  STALL: 5,
  REWIND: 6,
};

const PARTITION_STATUS: Readonly<Record<PartitionLagStatus, BurrowStatus>> = {
  OK: 'OK',
  WARNING: 'WARN',
  STOPPED: 'STOP',
  STALLED: 'STALL',
  REWIND: 'REWIND',
  OUT_OF_RANGE: 'ERR',
};

/** Burrow's ConsumerOffset. */
interface BurrowConsumerOffset {
  offset: number;
  timestamp: number;
  observedAt: number;
  lag: number;
}

/** Burrow's PartitionStatus. */
export interface BurrowPartitionStatus {
  topic: string;
  partition: number;
  owner: string;
  client_id: string;
  status: BurrowStatus;
  start: BurrowConsumerOffset | null;
  end: BurrowConsumerOffset | null;
  current_lag: number;
  complete: number;
}

/** Burrow's ConsumerGroupStatus. */
export interface BurrowGroupStatus {
  cluster: string;
  group: string;
  status: BurrowStatus;
  complete: number;
  partitions: BurrowPartitionStatus[];
  partition_count: number;
  maxlag: BurrowPartitionStatus | null;
  totallag: number;
}

export interface BurrowContext {
  readonly broker: Broker;
  readonly clusterName: string;
  readonly access: HttpAccess;
  /** host:port of the Kafka listeners serving the broker (Burrow's cluster "servers"). */
  readonly servers: () => string[];
}

const HOST = hostname();

/** Burrow's httpResponseRequestInfo: the path asked (without the query) and this host's name. */
function requestInfo(request: FastifyRequest): { url: string; host: string } {
  const query = request.url.indexOf('?');
  return { url: query < 0 ? request.url : request.url.slice(0, query), host: HOST };
}

function reply(request: FastifyRequest, response: FastifyReply, code: number, body: Record<string, unknown>): FastifyReply {
  return response.code(code).type('application/json').send({ error: false, ...body, request: requestInfo(request) });
}

export function replyError(request: FastifyRequest, response: FastifyReply, code: number, message: string): FastifyReply {
  return response.code(code).type('application/json').send({ error: true, message, request: requestInfo(request) });
}

/** The burrow group status of a judged partition list: the worst, STOP/STALL/REWIND/ERR counting as ERR. */
function groupStatus(partitions: readonly BurrowPartitionStatus[]): BurrowStatus {
  let status: BurrowStatus = 'OK';
  for (const partition of partitions) {
    if (partition.status === 'WARN' && status === 'OK') status = 'WARN';
    else if (partition.status !== 'OK' && partition.status !== 'WARN') return 'ERR';
  }
  return status;
}

function consumerOffset(entry: CommitWindowEntry): BurrowConsumerOffset;
function consumerOffset(entry: CommitWindowEntry | null): BurrowConsumerOffset | null;
function consumerOffset(entry: CommitWindowEntry | null): BurrowConsumerOffset | null {
  return entry === null ? null : { offset: entry.offset, timestamp: entry.timestampMs, observedAt: entry.observedAtMs, lag: entry.lag };
}

/**
 * Burrow's status of a group from the broker's lag report, over the partitions `visible`
 * keeps; `showAll` false keeps only partitions not OK in `partitions` (Burrow's /status), the
 * totals and maxlag always count every visible partition.
 */
export function burrowGroupStatus(
  cluster: string,
  report: GroupLagDescription,
  owners: ReadonlyMap<string, { owner: string; clientId: string }>,
  showAll: boolean,
  visible: (partition: PartitionLagDescription) => boolean = () => true,
): BurrowGroupStatus {
  const partitions: BurrowPartitionStatus[] = [];
  for (const p of report.partitions) {
    if (!visible(p)) continue;
    const owner = owners.get(partitionKey(p.topic, p.partition));
    partitions.push({
      topic: p.topic,
      partition: p.partition,
      owner: owner?.owner ?? '',
      client_id: owner?.clientId ?? '',
      status: PARTITION_STATUS[p.status],
      start: consumerOffset(p.start),
      end: consumerOffset(p.end),
      current_lag: p.lag,
      complete: p.complete,
    });
  }
  let maxlag: BurrowPartitionStatus | null = null;
  let totallag = 0;
  let complete = 0;
  for (const p of partitions) {
    totallag += p.current_lag;
    if (maxlag === null || p.current_lag > maxlag.current_lag) maxlag = p;
    if (p.complete === 1) complete++;
  }
  return {
    cluster,
    group: report.groupId,
    status: groupStatus(partitions),
    complete: partitions.length === 0 ? 0 : complete / partitions.length,
    partitions: showAll ? partitions : partitions.filter((p) => p.status !== 'OK'),
    partition_count: partitions.length,
    maxlag,
    totallag,
  };
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Who consumes each partition now (Burrow's owner and client_id): the members of a classic
 * consumer group that is Stable, from their assignments; none otherwise.
 */
/** The consumer groups `caller` may describe, sorted by id. */
export function describableGroups(broker: Broker, access: HttpAccess, caller: AclCaller): string[] {
  // A cluster broker that is not the group coordinator has none.
  if (!broker.coordinates('group')) return [];
  return broker.groups
    .listGroups()
    .map((group) => group.groupId)
    .filter((groupId) => access.mayDescribe(caller, 'GROUP', groupId))
    .sort();
}

/** Of those, the groups with committed offsets on `topic`: its consumers, as Burrow lists them. */
export function groupsReadingTopic(broker: Broker, access: HttpAccess, caller: AclCaller, topic: string): string[] {
  return describableGroups(broker, access, caller).filter((groupId) => lagOrNull(broker, groupId)?.partitions.some((p) => p.topic === topic) === true);
}

export function ownersOf(broker: Broker, groupId: string): Map<string, { owner: string; clientId: string }> {
  const owners = new Map<string, { owner: string; clientId: string }>();
  const group = broker.groups.describeGroup(groupId);
  if (group.protocolType !== 'consumer') return owners;
  for (const member of group.members) {
    let assigned;
    try {
      assigned = decodeAssignment(member.assignment).assignedPartitions;
    } catch {
      // A client's own assignment format under protocol type "consumer": its owners stay unknown.
      continue;
    }
    for (const { topic, partitions } of assigned) {
      for (const partition of partitions) owners.set(partitionKey(topic, partition), { owner: member.clientHost, clientId: member.clientId });
    }
  }
  return owners;
}

export function registerBurrowRoutes(app: FastifyInstance, context: BurrowContext): void {
  const { broker, clusterName, access, servers } = context;

  app.get('/burrow/admin', async (_request, response) => response.type('text/plain').send('GOOD'));
  app.get('/burrow/admin/ready', async (_request, response) => response.type('text/plain').send('READY'));

  app.get('/v3/kafka', async (request, response) => reply(request, response, 200, { message: 'cluster list returned', clusters: [clusterName] }));

  // Burrow's cluster module detail: the listeners clients bootstrap from; offsets are read live, the
  // log ends sampled for the STOP rule every lagEndOffsetSampleIntervalMs (Burrow's offset-refresh).
  app.get('/v3/kafka/:cluster', async (request: FastifyRequest<{ Params: { cluster: string } }>, response) => {
    if (request.params.cluster !== clusterName) return replyError(request, response, 404, 'cluster module not found');
    return reply(request, response, 200, {
      message: 'cluster module detail returned',
      module: {
        'class-name': 'sluice',
        servers: servers(),
        'client-profile': { name: '', 'client-id': '', 'kafka-version': '', tls: null, sasl: null },
        'topic-refresh': 0,
        'offset-refresh': broker.config.lagEndOffsetSampleIntervalMs / 1000,
      },
    });
  });

  /** Runs `handle` for the one cluster; Burrow's 404 for any other name. */
  const inCluster =
    <P extends { cluster: string }>(notFound: string, handle: (request: FastifyRequest<{ Params: P }>, response: FastifyReply) => FastifyReply) =>
    async (request: FastifyRequest<{ Params: P }>, response: FastifyReply) =>
      (request.params as { cluster: string }).cluster === clusterName ? handle(request, response) : replyError(request, response, 404, notFound);

  const describableTopics = (request: FastifyRequest): string[] =>
    broker
      .listTopics()
      .map((topic) => topic.name)
      .filter((name) => access.mayDescribe(request.caller, 'TOPIC', name))
      .sort();

  app.get(
    '/v3/kafka/:cluster/topic',
    inCluster<{ cluster: string }>('cluster not found', (request, response) =>
      reply(request, response, 200, { message: 'topic list returned', topics: describableTopics(request) }),
    ),
  );

  app.get(
    '/v3/kafka/:cluster/topic/:topic',
    inCluster<{ cluster: string; topic: string }>('cluster or topic not found', (request, response) => {
      const { topic } = request.params;
      const metadata = broker.listTopics().find((candidate) => candidate.name === topic);
      if (metadata === undefined || !access.mayDescribe(request.caller, 'TOPIC', topic)) {
        return replyError(request, response, 404, 'cluster or topic not found');
      }
      const offsets = Array.from({ length: metadata.partitionCount }, (_, partition) => broker.partitionOffsets(topic, partition).highWatermark);
      return reply(request, response, 200, { message: 'topic offsets returned', offsets });
    }),
  );

  app.get(
    '/v3/kafka/:cluster/topic/:topic/consumers',
    inCluster<{ cluster: string; topic: string }>('cluster not found', (request, response) => {
      const { topic } = request.params;
      const consumers = access.mayDescribe(request.caller, 'TOPIC', topic)
        ? groupsReadingTopic(broker, access, request.caller, topic)
        : [];
      return reply(request, response, 200, { message: 'consumers of topic returned', consumers });
    }),
  );

  app.get(
    '/v3/kafka/:cluster/consumer',
    inCluster<{ cluster: string }>('cluster not found', (request, response) =>
      reply(request, response, 200, { message: 'consumer list returned', consumers: describableGroups(broker, access, request.caller) }),
    ),
  );

  // Burrow's consumer detail: per topic, one entry per partition (by partition id), each with the
  // window of commits oldest first, null for the slots not filled yet (Burrow's ring of intervals).
  app.get(
    '/v3/kafka/:cluster/consumer/:group',
    inCluster<{ cluster: string; group: string }>('cluster or consumer not found', (request, response) => {
      const { group } = request.params;
      if (!access.mayDescribe(request.caller, 'GROUP', group)) {
        return replyError(request, response, 403, `not authorized to describe consumer group "${group}"`);
      }
      const report = lagOrNull(broker, group);
      if (report === null) return replyError(request, response, 404, 'cluster or consumer not found');
      const owners = ownersOf(broker, group);
      const windowSize = broker.config.lagWindowSize;
      const topics: Record<string, object[]> = {};
      for (const p of report.partitions) {
        if (!access.mayDescribe(request.caller, 'TOPIC', p.topic)) continue;
        topics[p.topic] ??= Array.from({ length: broker.topicMetadata(p.topic).partitionCount }, () => ({
          offsets: [],
          owner: '',
          client_id: '',
          'current-lag': 0,
        }));
        const entries = broker.lagWindow(group, p.topic, p.partition).map(consumerOffset);
        const owner = owners.get(partitionKey(p.topic, p.partition));
        topics[p.topic][p.partition] = {
          offsets: [...Array<null>(windowSize - entries.length).fill(null), ...entries],
          owner: owner?.owner ?? '',
          client_id: owner?.clientId ?? '',
          'current-lag': p.lag,
        };
      }
      return reply(request, response, 200, { message: 'consumer detail returned', topics });
    }),
  );

  const status = (showAll: boolean) => async (request: FastifyRequest<{ Params: { cluster: string; group: string } }>, response: FastifyReply) => {
    const { cluster, group } = request.params;
    const notFound = (): FastifyReply =>
      reply(request, response, 404, {
        message: 'consumer status returned',
        status: { cluster, group, status: 'NOTFOUND', complete: 1, partitions: [], partition_count: 0, maxlag: null, totallag: 0 },
      });
    if (cluster !== clusterName) return notFound();
    if (!access.mayDescribe(request.caller, 'GROUP', group)) {
      return replyError(request, response, 403, `not authorized to describe consumer group "${group}"`);
    }
    const report = lagOrNull(broker, group);
    if (report === null) return notFound();
    const visible = (p: PartitionLagDescription): boolean => access.mayDescribe(request.caller, 'TOPIC', p.topic);
    return reply(request, response, 200, {
      message: 'consumer status returned',
      status: burrowGroupStatus(clusterName, report, ownersOf(broker, group), showAll, visible),
    });
  };
  app.get('/v3/kafka/:cluster/consumer/:group/status', status(false));
  app.get('/v3/kafka/:cluster/consumer/:group/lag', status(true));
}

/** The group's lag report, or null when the broker knows no such group. */
export function lagOrNull(broker: Broker, groupId: string): GroupLagDescription | null {
  try {
    return broker.groupLag(groupId);
  } catch (error) {
    if (error instanceof GroupIdNotFoundError) return null;
    throw error;
  }
}
