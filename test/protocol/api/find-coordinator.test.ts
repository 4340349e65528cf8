import { describe, expect, it } from 'vitest';
import { COORDINATOR_KEY_TYPE_TRANSACTION, FindCoordinator } from '../../../src/protocol/api/find-coordinator.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

describe('FindCoordinator requests from kafkajs', () => {
  it('v0: a group id', async () => {
    const request = decodeRequest(await kafkajsRequestFrame('findCoordinator', 0, { groupId: 'group-1' }));
    expect(request.body).toEqual({ key: 'group-1', keyType: 0, coordinatorKeys: [] });
  });

  it.each([1, 2])('v%i: a key and its type', async (version) => {
    const request = decodeRequest(
      await kafkajsRequestFrame('findCoordinator', version, { coordinatorKey: 'tx-1', coordinatorType: COORDINATOR_KEY_TYPE_TRANSACTION }),
    );
    expect(request.body).toEqual({ key: 'tx-1', keyType: 1, coordinatorKeys: [] });
  });

  it('v4: a batch of keys, answered per key (KIP-699)', () => {
    const w = new Writer();
    FindCoordinator.encodeRequest(w, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    // key type 0 | keys: compact array of 2, "a", "b" | no tagged fields
    expect(w.toBuffer().toString('hex')).toBe('00' + '03' + '0261' + '0262' + '00');
    expect(FindCoordinator.decodeRequest(new Reader(w.toBuffer()), 4)).toEqual({ key: '', keyType: 0, coordinatorKeys: ['a', 'b'] });
  });
});

describe('FindCoordinator responses read by kafkajs', () => {
  const body = { throttleTimeMs: 8, errorCode: 0, errorMessage: null, nodeId: 1, host: 'localhost', port: 9092 };

  it.each([0, 1, 2])('v%i', async (version) => {
    const decoded = await decodeWithKafkajs('findCoordinator', FindCoordinator, version, body, { parse: true });
    expect(decoded).toMatchObject({ errorCode: 0, coordinator: { nodeId: 1, host: 'localhost', port: 9092 } });
    if (version >= 1) expect(decoded.errorMessage).toBeNull();
    if (version === 1) expect(decoded.throttleTime).toBe(8);
    if (version === 2) expect(decoded.clientSideThrottleTime).toBe(8);
  });

  it('kafkajs sees COORDINATOR_NOT_AVAILABLE', async () => {
    const failed = { ...body, errorCode: 15, errorMessage: 'loading' };
    await expect(decodeWithKafkajs('findCoordinator', FindCoordinator, 1, failed, { parse: true })).rejects.toMatchObject({
      type: 'GROUP_COORDINATOR_NOT_AVAILABLE',
    });
  });
});
