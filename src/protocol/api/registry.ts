/**
 * Every API Sluice serves, by key, and the framing around their bodies:
 *
 *   request frame   int32 size | request header | request body
 *   response frame  int32 size | response header | response body
 *
 * `decodeRequest` takes a request frame WITHOUT its size prefix (the socket layer has already
 * used it to cut the frame); `encodeResponse` writes a whole response frame WITH its size prefix.
 * `encodeRequest` / `decodeResponse` are the client-side mirror images.
 *
 * The header version follows from the API's first flexible version (Kafka's generated
 * ApiMessageType#requestHeaderVersion / #responseHeaderVersion), with two exceptions: ApiVersions
 * responses always use header v0 (KIP-511), and ControlledShutdown v0 requests header v0.
 */
import { ProtocolError, UnsupportedVersionError } from '../../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import type { Infer } from '../wire/schema.js';
import {
  peekApiKeyAndVersion,
  readRequestHeader,
  readResponseHeader,
  writeRequestHeader,
  writeResponseHeader,
  type RequestHeader,
  type RequestHeaderVersion,
  type ResponseHeaderVersion,
} from '../wire/header.js';
import type { AnyApi, Api, RequestInputOf, ResponseInputOf, ResponseOf } from './api.js';
import { AddOffsetsToTxn } from './add-offsets-to-txn.js';
import { AddPartitionsToTxn } from './add-partitions-to-txn.js';
import { ApiVersions } from './api-versions.js';
import { CreatePartitions } from './create-partitions.js';
import { CreateTopics } from './create-topics.js';
import { DeleteGroups } from './delete-groups.js';
import { DeleteTopics } from './delete-topics.js';
import { DescribeConfigs } from './describe-configs.js';
import { DescribeGroups } from './describe-groups.js';
import { EndTxn } from './end-txn.js';
import { WriteTxnMarkers } from './write-txn-markers.js';
import { Fetch } from './fetch.js';
import { FindCoordinator } from './find-coordinator.js';
import { Heartbeat } from './heartbeat.js';
import { InitProducerId } from './init-producer-id.js';
import { JoinGroup } from './join-group.js';
import { LeaveGroup } from './leave-group.js';
import { ListGroups } from './list-groups.js';
import { ListOffsets } from './list-offsets.js';
import { Metadata } from './metadata.js';
import { OffsetCommit } from './offset-commit.js';
import { OffsetDelete } from './offset-delete.js';
import { OffsetFetch } from './offset-fetch.js';
import { Produce } from './produce.js';
import { SaslAuthenticate } from './sasl-authenticate.js';
import { SaslHandshake } from './sasl-handshake.js';
import { SyncGroup } from './sync-group.js';
import { TxnOffsetCommit } from './txn-offset-commit.js';
import { DescribeProducers } from './describe-producers.js';
import { DescribeTransactions } from './describe-transactions.js';
import { ListTransactions } from './list-transactions.js';
import { AlterConfigs } from './alter-configs.js';
import { DeleteRecords } from './delete-records.js';
import { DescribeCluster } from './describe-cluster.js';
import { ElectLeaders } from './elect-leaders.js';
import { DescribeLogDirs } from './describe-log-dirs.js';
import { IncrementalAlterConfigs } from './incremental-alter-configs.js';
import { DescribeAcls } from './describe-acls.js';
import { CreateAcls } from './create-acls.js';
import { DeleteAcls } from './delete-acls.js';
import { OffsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { ConsumerGroupHeartbeat } from './consumer-group-heartbeat.js';
import { ConsumerGroupDescribe } from './consumer-group-describe.js';

/** Every API Sluice serves, in api-key order. */
export const APIS = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  DeleteRecords,
  InitProducerId,
  OffsetForLeaderEpoch,
  AddPartitionsToTxn,
  AddOffsetsToTxn,
  EndTxn,
  WriteTxnMarkers,
  TxnOffsetCommit,
  DescribeAcls,
  CreateAcls,
  DeleteAcls,
  DescribeConfigs,
  AlterConfigs,
  DescribeLogDirs,
  SaslAuthenticate,
  CreatePartitions,
  DeleteGroups,
  ElectLeaders,
  IncrementalAlterConfigs,
  OffsetDelete,
  DescribeCluster,
  DescribeProducers,
  DescribeTransactions,
  ListTransactions,
  ConsumerGroupHeartbeat,
  ConsumerGroupDescribe,
] as const;

type ServedApi = (typeof APIS)[number];

const CONTROLLED_SHUTDOWN_KEY = 7;

const byKey: (AnyApi | undefined)[] = [];
for (const api of APIS) {
  if (byKey[api.apiKey] !== undefined) throw new Error(`API key ${api.apiKey} is registered twice`);
  byKey[api.apiKey] = api;
}

/** The module serving `apiKey`, or undefined if Sluice does not serve it. */
export function apiByKey(apiKey: number): AnyApi | undefined {
  return Number.isInteger(apiKey) && apiKey >= 0 ? byKey[apiKey] : undefined;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): RequestHeaderVersion {
  if (apiKey === CONTROLLED_SHUTDOWN_KEY && apiVersion === 0) return 0;
  return apiByKey(apiKey)?.isFlexible(apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): ResponseHeaderVersion {
  if (apiKey === ApiVersions.apiKey) return 0;
  return apiByKey(apiKey)?.isFlexible(apiVersion) ? 1 : 0;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/**
 * The `apiKeys` list of an ApiVersions response. `maxVersionCaps` lowers the advertised maximum
 * of some APIs (api key -> max version), for a broker that does not implement everything a
 * codec can carry (for example Fetch v13, which needs topic ids).
 */
export function supportedApiVersions(maxVersionCaps: ReadonlyMap<number, number> = new Map()): ApiVersionRange[] {
  for (const [apiKey, cap] of maxVersionCaps) {
    const api = apiByKey(apiKey);
    if (api === undefined) throw new RangeError(`cannot cap API key ${apiKey}: Sluice does not serve it`);
    if (!(Number.isInteger(cap) && cap >= api.minVersion)) {
      throw new RangeError(`cannot cap ${api.name} at version ${cap}: its lowest served version is ${api.minVersion}`);
    }
  }
  return APIS.map((api) => ({
    apiKey: api.apiKey,
    minVersion: api.minVersion,
    maxVersion: Math.min(api.maxVersion, maxVersionCaps.get(api.apiKey) ?? api.maxVersion),
  }));
}

/** A decoded request: its header fields and, narrowed by `apiKey`, its body. */
export type DecodedRequest = ServedApi extends infer A
  ? A extends Api<infer Req, infer _Res, infer Key>
    ? { apiKey: Key; apiVersion: number; correlationId: number; clientId: string; body: Infer<Req> }
    : never
  : never;

/**
 * Decodes a request frame (without its size prefix), by Kafka's rules (RequestHeader#parse,
 * RequestContext#parseRequest, the generated message readers):
 *  - the header version follows the API's flexible versions, also for a version Sluice does not
 *    serve, so an ApiVersions request of a newer version has its header read whole;
 *  - unknown tagged fields, in the header and anywhere in the body, are skipped;
 *  - bytes after the end of a known body are ignored, as Kafka's readers never look past the
 *    last field (librdkafka's all-topics Metadata v9+ requests carry 3 such bytes);
 *  - a null client id reads as the empty string.
 * Throws ProtocolError when the header or body is malformed, and UnsupportedVersionError (with
 * the correlation id) for an API or version Sluice does not serve: an ApiVersions request of an
 * unknown version is answered with a v0 ApiVersions response holding UNSUPPORTED_VERSION,
 * anything else closes the connection, as Kafka does.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const reader = new Reader(frame);
  const { apiKey, apiVersion } = peekApiKeyAndVersion(reader);
  const api = apiByKey(apiKey);
  if (api === undefined || !api.supports(apiVersion)) {
    const header = readRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
    throw new UnsupportedVersionError({
      apiKey,
      apiVersion,
      apiName: api?.name,
      minVersion: api?.minVersion,
      maxVersion: api?.maxVersion,
      correlationId: header.correlationId,
    });
  }
  const { correlationId, clientId } = readRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
  const body = api.decodeRequest(reader, apiVersion);
  return { apiKey, apiVersion, correlationId, clientId: clientId ?? '', body } as DecodedRequest;
}

/** Writes a whole response frame: size prefix, header for this API and version, body. */
export function encodeResponse<A extends AnyApi>(
  writer: Writer,
  api: A,
  apiVersion: number,
  correlationId: number,
  body: ResponseInputOf<A>,
): void {
  api.checkVersion(apiVersion);
  const sizeAt = writer.reserveInt32();
  writeResponseHeader(writer, correlationId, responseHeaderVersion(api.apiKey, apiVersion));
  api.encodeResponse(writer, apiVersion, body);
  writer.patchInt32(sizeAt, writer.length - sizeAt - 4);
}

/** Writes a whole request frame: size prefix, header for this API and version, body. */
export function encodeRequest<A extends AnyApi>(
  writer: Writer,
  api: A,
  header: Omit<RequestHeader, 'apiKey'>,
  body: RequestInputOf<A>,
): void {
  api.checkVersion(header.apiVersion);
  const sizeAt = writer.reserveInt32();
  writeRequestHeader(writer, { ...header, apiKey: api.apiKey }, requestHeaderVersion(api.apiKey, header.apiVersion));
  api.encodeRequest(writer, header.apiVersion, body);
  writer.patchInt32(sizeAt, writer.length - sizeAt - 4);
}

/** Decodes a response frame (without its size prefix) to a request of `api` at `apiVersion`. */
export function decodeResponse<A extends AnyApi>(
  frame: Buffer,
  api: A,
  apiVersion: number,
): { correlationId: number; body: ResponseOf<A> } {
  const reader = new Reader(frame);
  const correlationId = readResponseHeader(reader, responseHeaderVersion(api.apiKey, apiVersion));
  const body = api.decodeResponse(reader, apiVersion) as ResponseOf<A>;
  if (reader.remaining !== 0) throw trailingBytes(reader, `${api.name}Response v${apiVersion}`);
  return { correlationId, body };
}

function trailingBytes(reader: Reader, message: string): ProtocolError {
  return new ProtocolError(reader.pos, `the end of ${message}`, `${reader.remaining} byte(s) follow it`);
}
