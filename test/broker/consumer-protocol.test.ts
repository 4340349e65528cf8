import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../../src/broker/consumer-protocol.js';
import { InvalidRequestError, ProtocolError } from '../../src/errors.js';

// kafkajs's AssignerProtocol is an independent implementation of the v0 subscription and of the
// assignment layout (identical in v0-v3): our bytes must be its bytes, both ways.
const require = createRequire(import.meta.url);
const { MemberMetadata, MemberAssignment } = require('kafkajs/src/consumer/assignerProtocol.js') as {
  MemberMetadata: {
    encode(input: { version: number; topics: string[]; userData?: Buffer }): Buffer;
    decode(buf: Buffer): { version: number; topics: string[]; userData: Buffer };
  };
  MemberAssignment: {
    encode(input: { version: number; assignment: Record<string, number[]>; userData?: Buffer }): Buffer;
    decode(buf: Buffer): { version: number; assignment: Record<string, number[]>; userData: Buffer } | null;
  };
};

/** Builds expected bytes field by field, independently of the codec under test. */
class Bytes {
  private readonly parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    this.int16(Buffer.byteLength(s));
    this.parts.push(Buffer.from(s));
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const owned = [
  { topic: 'orders', partitions: [0, 2] },
  { topic: 'payments', partitions: [1] },
];

describe('Subscription', () => {
  it('lays out v3 exactly as ConsumerProtocolSubscription.json defines it', () => {
    const expected = new Bytes()
      .int16(3)
      .int32(2)
      .string('orders')
      .string('payments')
      .bytes(Buffer.from([7, 8]))
      .int32(2)
      .string('orders')
      .int32(2)
      .int32(0)
      .int32(2)
      .string('payments')
      .int32(1)
      .int32(1)
      .int32(42)
      .string('rack-a')
      .build();
    const encoded = encodeSubscription({
      topics: ['orders', 'payments'],
      userData: Buffer.from([7, 8]),
      ownedPartitions: owned,
      generationId: 42,
      rackId: 'rack-a',
    });
    expect(encoded).toEqual(expected);
    expect(decodeSubscription(expected)).toEqual({
      version: 3,
      topics: ['orders', 'payments'],
      userData: Buffer.from([7, 8]),
      ownedPartitions: owned,
      generationId: 42,
      rackId: 'rack-a',
    });
  });

  it('drops the fields a lower version cannot carry and decodes them as their defaults', () => {
    const full = {
      topics: ['orders'],
      userData: null,
      ownedPartitions: owned,
      generationId: 9,
      rackId: 'rack-b',
    };
    const v0 = encodeSubscription(full, 0);
    expect(v0).toEqual(new Bytes().int16(0).int32(1).string('orders').bytes(null).build());
    expect(decodeSubscription(v0)).toEqual({ version: 0, topics: ['orders'], userData: null, ownedPartitions: [], generationId: -1, rackId: null });
    const v1 = decodeSubscription(encodeSubscription(full, 1));
    expect(v1).toMatchObject({ version: 1, ownedPartitions: owned, generationId: -1, rackId: null });
    const v2 = decodeSubscription(encodeSubscription(full, 2));
    expect(v2).toMatchObject({ version: 2, ownedPartitions: owned, generationId: 9, rackId: null });
  });

  it('produces the bytes kafkajs produces for v0, and kafkajs reads ours', () => {
    const userData = Buffer.from('hello');
    const ours = encodeSubscription({ topics: ['a', 'b'], userData }, 0);
    expect(ours).toEqual(MemberMetadata.encode({ version: 0, topics: ['a', 'b'], userData }));
    expect(MemberMetadata.decode(ours)).toEqual({ version: 0, topics: ['a', 'b'], userData });
    // kafkajs leaves out userData as zero bytes, not null: we read it as an empty buffer.
    const theirs = MemberMetadata.encode({ version: 0, topics: ['t'] });
    expect(decodeSubscription(theirs)).toMatchObject({ version: 0, topics: ['t'], userData: Buffer.alloc(0) });
  });

  it('reads a newer version with the newest layout it knows and ignores what follows (Kafka rule)', () => {
    const v5 = Buffer.concat([
      new Bytes().int16(5).build(),
      encodeSubscription({ topics: ['x'], generationId: 3, rackId: null }).subarray(2),
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    ]);
    expect(decodeSubscription(v5)).toMatchObject({ version: 5, topics: ['x'], generationId: 3 });
  });

  it('copies userData out of the buffer it decodes', () => {
    const encoded = encodeSubscription({ topics: ['x'], userData: Buffer.from([1, 2, 3]) }, 0);
    const decoded = decodeSubscription(encoded);
    encoded.fill(0);
    expect(decoded.userData).toEqual(Buffer.from([1, 2, 3]));
  });

  it('rejects malformed bytes with ProtocolError naming the position', () => {
    const good = encodeSubscription({ topics: ['orders'], ownedPartitions: owned, generationId: 1 });
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => decodeSubscription(good.subarray(0, cut)), `cut at ${cut}`).toThrow(ProtocolError);
    }
    expect(() => decodeSubscription(new Bytes().int16(-1).build())).toThrow(/version >= 0/);
    expect(() => decodeSubscription(new Bytes().int16(0).int32(-1).bytes(null).build())).toThrow(ProtocolError);
    // A forged count larger than the bytes could hold fails before allocating.
    expect(() => decodeSubscription(new Bytes().int16(0).int32(0x7fffffff).build())).toThrow(ProtocolError);
  });

  it('rejects invalid arguments with InvalidRequestError', () => {
    expect(() => encodeSubscription({ topics: ['t'] }, 4)).toThrow(InvalidRequestError);
    expect(() => encodeSubscription({ topics: [7 as unknown as string] })).toThrow(InvalidRequestError);
    expect(() => encodeSubscription({ topics: ['t'], ownedPartitions: [{ topic: 't', partitions: [-1] }] })).toThrow(
      /partition -1/,
    );
    expect(() => encodeSubscription({ topics: ['t'], generationId: -2 })).toThrow(InvalidRequestError);
    expect(() => encodeSubscription({ topics: ['x'.repeat(40_000)] })).toThrow(/at most 32767/);
  });
});

describe('Assignment', () => {
  it('lays out every version as ConsumerProtocolAssignment.json defines it', () => {
    for (const version of [0, 1, 2, 3]) {
      const expected = new Bytes()
        .int16(version)
        .int32(1)
        .string('orders')
        .int32(3)
        .int32(0)
        .int32(1)
        .int32(5)
        .bytes(null)
        .build();
      const encoded = encodeAssignment({ assignedPartitions: [{ topic: 'orders', partitions: [0, 1, 5] }] }, version);
      expect(encoded).toEqual(expected);
      expect(decodeAssignment(encoded)).toEqual({
        version,
        assignedPartitions: [{ topic: 'orders', partitions: [0, 1, 5] }],
        userData: null,
      });
    }
  });

  it('agrees with kafkajs both ways', () => {
    const assignment = { a: [0, 2, 4], b: [1] };
    const userData = Buffer.from([9]);
    const ours = encodeAssignment(
      { assignedPartitions: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })), userData },
      1,
    );
    expect(ours).toEqual(MemberAssignment.encode({ version: 1, assignment, userData }));
    expect(MemberAssignment.decode(ours)).toEqual({ version: 1, assignment, userData });
    const theirs = MemberAssignment.encode({ version: 0, assignment });
    expect(decodeAssignment(theirs)).toEqual({
      version: 0,
      assignedPartitions: [
        { topic: 'a', partitions: [0, 2, 4] },
        { topic: 'b', partitions: [1] },
      ],
      userData: Buffer.alloc(0),
    });
  });

  it('decodes zero bytes (a member the leader left out) as an empty assignment', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ version: 0, assignedPartitions: [], userData: null });
  });

  it('rejects truncated bytes and bad arguments', () => {
    const good = encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [3] }] });
    for (let cut = 1; cut < good.length; cut++) expect(() => decodeAssignment(good.subarray(0, cut))).toThrow(ProtocolError);
    expect(() => encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [1.5] }] })).toThrow(InvalidRequestError);
    expect(() => encodeAssignment({ assignedPartitions: 'x' as unknown as [] })).toThrow(InvalidRequestError);
  });
});
