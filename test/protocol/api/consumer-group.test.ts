/**
 * ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69) against frames written byte by byte
 * from Kafka's message definitions (compact strings and arrays, uuids, a nullable struct), as
 * librdkafka sends and reads them; not through Sluice's own codec.
 */
import { describe, expect, it } from 'vitest';
import { ConsumerGroupDescribe } from '../../../src/protocol/api/consumer-group-describe.js';
import { ConsumerGroupHeartbeat } from '../../../src/protocol/api/consumer-group-heartbeat.js';
import { decodeRequest, encodeResponse } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const TOPIC_ID_BYTES = [...Buffer.alloc(15), 1];

const int16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const int32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
/** Compact (flexible) string: unsigned varint length + 1 (all lengths here fit in one byte), 0 for null. */
const cstr = (s: string | null) => (s === null ? [0] : [s.length + 1, ...Buffer.from(s)]);
const carray = (items: number[][] | null) => (items === null ? [0] : [items.length + 1, ...items.flat()]);
const NO_TAGS = [0];

/** Request header v2: api key, version, correlation id, client id (int16-length string), tagged fields. */
function requestFrame(apiKey: number, apiVersion: number, body: number[]): Buffer {
  return Buffer.from([...int16(apiKey), ...int16(apiVersion), ...int32(7), ...int16(7), ...Buffer.from('rdkafka'), ...NO_TAGS, ...body]);
}

function responseBody(write: (w: Writer) => void): number[] {
  const writer = new Writer();
  write(writer);
  const frame = Buffer.from(writer.toBuffer());
  // size, correlation id, header tagged fields (response header v1), then the body.
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  expect(frame.readInt32BE(4)).toBe(7);
  expect(frame[8]).toBe(0);
  return [...frame.subarray(9)];
}

describe('ConsumerGroupHeartbeat', () => {
  const joinV0 = [
    ...cstr('g'),
    ...cstr(''),
    ...int32(0),
    ...cstr(null),
    ...cstr(null),
    ...int32(300_000),
    ...carray([cstr('orders')]),
    ...cstr(null),
    ...carray([]),
    ...NO_TAGS,
  ];

  it('decodes a v0 join: empty member id, epoch 0, names, no assignor, empty owned partitions', () => {
    const request = decodeRequest(requestFrame(68, 0, joinV0));
    expect(request.apiKey).toBe(68);
    expect(request.body).toEqual({
      groupId: 'g',
      memberId: '',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 300_000,
      subscribedTopicNames: ['orders'],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
  });

  it('decodes a v1 heartbeat as librdkafka sends it: client member id, empty regex, owned partitions by topic id', () => {
    const body = [
      ...cstr('g'),
      ...cstr('kC+zfFD3S6SLiaHFJ+A6Rw'),
      ...int32(5),
      ...cstr('static-1'),
      ...cstr(null),
      ...int32(-1),
      ...carray(null),
      ...cstr(''),
      ...cstr('range'),
      ...carray([[...TOPIC_ID_BYTES, ...carray([int32(0), int32(3)]), ...NO_TAGS]]),
      ...NO_TAGS,
    ];
    const request = decodeRequest(requestFrame(68, 1, body));
    expect(request.body).toEqual({
      groupId: 'g',
      memberId: 'kC+zfFD3S6SLiaHFJ+A6Rw',
      memberEpoch: 5,
      instanceId: 'static-1',
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: '',
      serverAssignor: 'range',
      topicPartitions: [{ topicId: TOPIC_ID, partitions: [0, 3] }],
    });
  });

  it.each([0, 1])('encodes v%i responses with an assignment (int8 1 then the struct) and without one (int8 -1)', (version) => {
    const base = { throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: 'm', memberEpoch: 2, heartbeatIntervalMs: 5000 };
    const withAssignment = responseBody((w) =>
      encodeResponse(w, ConsumerGroupHeartbeat, version, 7, { ...base, assignment: { topicPartitions: [{ topicId: TOPIC_ID, partitions: [1, 2] }] } }),
    );
    const head = [...int32(0), ...int16(0), ...cstr(null), ...cstr('m'), ...int32(2), ...int32(5000)];
    expect(withAssignment).toEqual([...head, 1, ...carray([[...TOPIC_ID_BYTES, ...carray([int32(1), int32(2)]), ...NO_TAGS]]), ...NO_TAGS, ...NO_TAGS]);
    const without = responseBody((w) => encodeResponse(w, ConsumerGroupHeartbeat, version, 7, { ...base, assignment: null }));
    expect(without).toEqual([...head, 0xff, ...NO_TAGS]);
  });

  it('encodes an error with its message and a null member id', () => {
    const bytes = responseBody((w) =>
      encodeResponse(w, ConsumerGroupHeartbeat, 1, 7, {
        throttleTimeMs: 0,
        errorCode: 110,
        errorMessage: 'fenced',
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      }),
    );
    expect(bytes).toEqual([...int32(0), ...int16(110), ...cstr('fenced'), ...cstr(null), ...int32(-1), ...int32(0), 0xff, ...NO_TAGS]);
  });
});

describe('ConsumerGroupDescribe', () => {
  it('decodes a v0 request', () => {
    const request = decodeRequest(requestFrame(69, 0, [...carray([cstr('g'), cstr('h')]), 1, ...NO_TAGS]));
    expect(request.body).toEqual({ groupIds: ['g', 'h'], includeAuthorizedOperations: true });
  });

  it('encodes a v0 response: members with current and target assignments named by id and name', () => {
    const assignment = (partitions: number[]) => ({ topicPartitions: [{ topicId: TOPIC_ID, topicName: 't', partitions }] });
    const bytes = responseBody((w) =>
      encodeResponse(w, ConsumerGroupDescribe, 0, 7, {
        throttleTimeMs: 0,
        groups: [
          {
            errorCode: 0,
            errorMessage: null,
            groupId: 'g',
            groupState: 'Stable',
            groupEpoch: 3,
            assignmentEpoch: 3,
            assignorName: 'uniform',
            members: [
              {
                memberId: 'm',
                instanceId: null,
                rackId: null,
                memberEpoch: 3,
                clientId: 'c',
                clientHost: '/h',
                subscribedTopicNames: ['t'],
                subscribedTopicRegex: null,
                assignment: assignment([0]),
                targetAssignment: assignment([0, 1]),
              },
            ],
            authorizedOperations: -2147483648,
          },
        ],
      }),
    );
    const assignmentBytes = (partitions: number[]) => [
      ...carray([[...TOPIC_ID_BYTES, ...cstr('t'), ...carray(partitions.map(int32)), ...NO_TAGS]]),
      ...NO_TAGS,
    ];
    const member = [
      ...cstr('m'),
      ...cstr(null),
      ...cstr(null),
      ...int32(3),
      ...cstr('c'),
      ...cstr('/h'),
      ...carray([cstr('t')]),
      ...cstr(null),
      ...assignmentBytes([0]),
      ...assignmentBytes([0, 1]),
      ...NO_TAGS,
    ];
    const group = [
      ...int16(0),
      ...cstr(null),
      ...cstr('g'),
      ...cstr('Stable'),
      ...int32(3),
      ...int32(3),
      ...cstr('uniform'),
      ...carray([member]),
      ...int32(-2147483648),
      ...NO_TAGS,
    ];
    expect(bytes).toEqual([...int32(0), ...carray([group]), ...NO_TAGS]);
  });
});
