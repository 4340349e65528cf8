/**
 * Metadata (key 3): brokers, topics, partitions and their leaders.
 * Spec: MetadataRequest.json / MetadataResponse.json. Flexible from v9.
 *
 * `topics` in the request: null asks for every topic, [] for none (v1+). Version 0 has no null
 * and used [] for "every topic"; decoding maps a v0 [] to null and encoding writes null as [] at
 * v0, so callers see one meaning at every version.
 * Versions 10 and 11 carry topic ids but Kafka never served lookups by id before v12.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import type { Reader } from '../wire/reader.js';
import type { Writer } from '../wire/writer.js';
import { array, bool, int16, int32, string, uuid } from '../wire/schema.js';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

const request = {
  topics: array(
    {
      topicId: uuid({ versions: '10+', optional: true }),
      name: string({ nullable: '10+' }),
    },
    { nullable: '1+' },
  ),
  allowAutoTopicCreation: bool({ versions: '4+', default: true }),
  includeClusterAuthorizedOperations: bool({ versions: '8-10', default: false }),
  includeTopicAuthorizedOperations: bool({ versions: '8+', default: false }),
};

const response = {
  throttleTimeMs: int32({ versions: '3+', optional: true }),
  brokers: array({
    nodeId: int32(),
    host: string(),
    port: int32(),
    rack: string({ versions: '1+', nullable: '1+', default: null }),
  }),
  clusterId: string({ versions: '2+', nullable: '2+', default: null }),
  controllerId: int32({ versions: '1+', default: -1 }),
  topics: array({
    errorCode: int16(),
    name: string({ nullable: '12+' }),
    topicId: uuid({ versions: '10+', optional: true }),
    isInternal: bool({ versions: '1+', default: false }),
    partitions: array({
      errorCode: int16(),
      partitionIndex: int32(),
      leaderId: int32(),
      leaderEpoch: int32({ versions: '7+', default: -1 }),
      replicaNodes: array(int32()),
      isrNodes: array(int32()),
      offlineReplicas: array(int32(), { versions: '5+', optional: true }),
    }),
    topicAuthorizedOperations: int32({ versions: '8+', default: AUTHORIZED_OPERATIONS_UNKNOWN }),
  }),
  clusterAuthorizedOperations: int32({ versions: '8-10', default: AUTHORIZED_OPERATIONS_UNKNOWN }),
};

/** Metadata with the v0 "empty list means every topic" rule folded into null. */
export class MetadataApi extends Api<typeof request, typeof response, 3> {
  override decodeRequest(reader: Reader, version: number) {
    const body = super.decodeRequest(reader, version);
    if (version === 0 && body.topics !== null && body.topics.length === 0) body.topics = null;
    return body;
  }

  override encodeRequest(writer: Writer, version: number, body: RequestInputOf<Api<typeof request, typeof response, 3>>): void {
    super.encodeRequest(writer, version, version === 0 && body.topics === null ? { ...body, topics: [] } : body);
  }
}

export const Metadata = new MetadataApi({
  name: 'Metadata',
  apiKey: 3,
  minVersion: 0,
  maxVersion: 12,
  firstFlexibleVersion: 9,
  request,
  response,
});

export type MetadataRequest = RequestOf<typeof Metadata>;
export type MetadataRequestInput = RequestInputOf<typeof Metadata>;
export type MetadataResponse = ResponseOf<typeof Metadata>;
export type MetadataResponseInput = ResponseInputOf<typeof Metadata>;
