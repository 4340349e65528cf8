/** JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups against kafkajs. */
import { describe, expect, it } from 'vitest';
import { DescribeGroups } from '../../../src/protocol/api/describe-groups.js';
import { Heartbeat } from '../../../src/protocol/api/heartbeat.js';
import { JoinGroup } from '../../../src/protocol/api/join-group.js';
import { LeaveGroup } from '../../../src/protocol/api/leave-group.js';
import { ListGroups } from '../../../src/protocol/api/list-groups.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { SyncGroup } from '../../../src/protocol/api/sync-group.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const subscription = Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115]);
const assignment = Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 1, 0, 0, 0, 0]);

describe('JoinGroup', () => {
  const args = {
    groupId: 'g',
    sessionTimeout: 30000,
    rebalanceTimeout: 60000,
    memberId: '',
    groupInstanceId: 'static-1',
    protocolType: 'consumer',
    groupProtocols: [
      { name: 'RoundRobinAssigner', metadata: subscription },
      { name: 'range', metadata: Buffer.alloc(0) },
    ],
  };

  it.each([0, 1, 2, 3, 4, 5])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('joinGroup', version, args));
    if (request.apiKey !== 11) throw new Error('not a JoinGroup request');
    expect(request.body).toMatchObject({ groupId: 'g', sessionTimeoutMs: 30000, memberId: '', protocolType: 'consumer' });
    expect(request.body.rebalanceTimeoutMs).toBe(version >= 1 ? 60000 : -1);
    expect(request.body.groupInstanceId).toBe(version >= 5 ? 'static-1' : null);
    expect(request.body.protocols.map((p) => [p.name, [...p.metadata]])).toEqual([
      ['RoundRobinAssigner', [...subscription]],
      ['range', []],
    ]);
  });

  const response = {
    throttleTimeMs: 3,
    errorCode: 0,
    generationId: 7,
    protocolName: 'RoundRobinAssigner',
    leader: 'member-1',
    memberId: 'member-2',
    members: [
      { memberId: 'member-1', groupInstanceId: 'static-1', metadata: subscription },
      { memberId: 'member-2', metadata: subscription },
    ],
  };

  it.each([0, 1, 2, 3, 4, 5])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('joinGroup', JoinGroup, version, response, { parse: true });
    expect(decoded).toMatchObject({ errorCode: 0, generationId: 7, groupProtocol: 'RoundRobinAssigner', leaderId: 'member-1', memberId: 'member-2' });
    const members = decoded.members as { memberId: string; memberMetadata: Buffer; groupInstanceId?: string | null }[];
    expect(members.map((m) => [m.memberId, [...m.memberMetadata]])).toEqual([
      ['member-1', [...subscription]],
      ['member-2', [...subscription]],
    ]);
    if (version >= 5) expect(members.map((m) => m.groupInstanceId)).toEqual(['static-1', null]);
  });

  it('kafkajs sees MEMBER_ID_REQUIRED (v4+) with the id to rejoin with', async () => {
    const required = { errorCode: 79, protocolName: '', leader: '', memberId: 'assigned-id', members: [] };
    await expect(decodeWithKafkajs('joinGroup', JoinGroup, 4, required, { parse: true })).rejects.toMatchObject({
      type: 'MEMBER_ID_REQUIRED',
      memberId: 'assigned-id',
    });
  });
});

describe('SyncGroup', () => {
  it.each([0, 1, 2, 3])('decodes kafkajs v%i requests', async (version) => {
    const args = {
      groupId: 'g',
      generationId: 7,
      memberId: 'member-1',
      groupInstanceId: 'static-1',
      groupAssignment: [{ memberId: 'member-1', memberAssignment: assignment }],
    };
    const request = decodeRequest(await kafkajsRequestFrame('syncGroup', version, args));
    if (request.apiKey !== 14) throw new Error('not a SyncGroup request');
    expect(request.body).toMatchObject({ groupId: 'g', generationId: 7, memberId: 'member-1', protocolType: null, protocolName: null });
    expect(request.body.groupInstanceId).toBe(version >= 3 ? 'static-1' : null);
    expect(request.body.assignments.map((a) => [a.memberId, [...a.assignment]])).toEqual([['member-1', [...assignment]]]);
  });

  it.each([0, 1, 2, 3])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('syncGroup', SyncGroup, version, { throttleTimeMs: 1, errorCode: 0, assignment }, { parse: true });
    expect(decoded.errorCode).toBe(0);
    expect([...(decoded.memberAssignment as Buffer)]).toEqual([...assignment]);
  });
});

describe('Heartbeat', () => {
  it.each([0, 1, 2, 3])('decodes kafkajs v%i requests', async (version) => {
    const args = { groupId: 'g', groupGenerationId: 7, memberId: 'member-1', groupInstanceId: 'static-1' };
    const request = decodeRequest(await kafkajsRequestFrame('heartbeat', version, args));
    expect(request.body).toEqual({
      groupId: 'g',
      generationId: 7,
      memberId: 'member-1',
      groupInstanceId: version >= 3 ? 'static-1' : null,
    });
  });

  it.each([0, 1, 2, 3])('encodes v%i responses kafkajs reads, errors included', async (version) => {
    expect(await decodeWithKafkajs('heartbeat', Heartbeat, version, { errorCode: 0, throttleTimeMs: 2 }, { parse: true })).toMatchObject({
      errorCode: 0,
    });
    await expect(decodeWithKafkajs('heartbeat', Heartbeat, version, { errorCode: 27 }, { parse: true })).rejects.toMatchObject({
      type: 'REBALANCE_IN_PROGRESS',
    });
  });
});

describe('LeaveGroup', () => {
  it.each([0, 1, 2])('decodes kafkajs v%i requests (one member)', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('leaveGroup', version, { groupId: 'g', memberId: 'member-1' }));
    expect(request.body).toEqual({ groupId: 'g', memberId: 'member-1', members: [] });
  });

  it('decodes kafkajs v3 requests (a batch of members)', async () => {
    const args = { groupId: 'g', members: [{ memberId: 'member-1', groupInstanceId: 'static-1' }, { memberId: 'member-2' }] };
    const request = decodeRequest(await kafkajsRequestFrame('leaveGroup', 3, args));
    expect(request.body).toEqual({
      groupId: 'g',
      memberId: '',
      members: [
        { memberId: 'member-1', groupInstanceId: 'static-1', reason: null },
        { memberId: 'member-2', groupInstanceId: null, reason: null },
      ],
    });
  });

  it.each([0, 1, 2])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('leaveGroup', LeaveGroup, version, { errorCode: 0, throttleTimeMs: 4 }, { parse: true });
    expect(decoded.errorCode).toBe(0);
  });

  it('encodes v3 responses with per-member results kafkajs reads', async () => {
    const body = { throttleTimeMs: 4, errorCode: 0, members: [{ memberId: 'member-1', groupInstanceId: 'static-1', errorCode: 0 }] };
    const decoded = await decodeWithKafkajs('leaveGroup', LeaveGroup, 3, body, { parse: true });
    expect(decoded).toMatchObject({ clientSideThrottleTime: 4, members: [{ memberId: 'member-1', groupInstanceId: 'static-1', errorCode: 0 }] });
  });
});

describe('DescribeGroups', () => {
  it.each([0, 1, 2])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('describeGroups', version, { groupIds: ['g1', 'g2'] }));
    expect(request.body).toEqual({ groups: ['g1', 'g2'], includeAuthorizedOperations: false });
  });

  it.each([0, 1, 2])('encodes v%i responses kafkajs reads', async (version) => {
    const body = {
      throttleTimeMs: 1,
      groups: [
        {
          errorCode: 0,
          groupId: 'g1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'RoundRobinAssigner',
          members: [
            { memberId: 'm1', clientId: 'c1', clientHost: '/127.0.0.1', memberMetadata: subscription, memberAssignment: assignment },
          ],
        },
      ],
    };
    const decoded = await decodeWithKafkajs('describeGroups', DescribeGroups, version, body, { parse: true });
    const [group] = decoded.groups as Record<string, unknown>[];
    expect(group).toMatchObject({ errorCode: 0, groupId: 'g1', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    const [member] = group.members as Record<string, unknown>[];
    expect(member).toMatchObject({ memberId: 'm1', clientId: 'c1', clientHost: '/127.0.0.1' });
    expect([...(member.memberAssignment as Buffer)]).toEqual([...assignment]);
  });
});

describe('ListGroups', () => {
  it.each([0, 1, 2])('decodes kafkajs v%i requests (an empty body)', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('listGroups', version, {}));
    expect(request.body).toEqual({ statesFilter: [], typesFilter: [] });
  });

  it.each([0, 1, 2])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { throttleTimeMs: 1, errorCode: 0, groups: [{ groupId: 'g1', protocolType: 'consumer' }] };
    const decoded = await decodeWithKafkajs('listGroups', ListGroups, version, body, { parse: true });
    expect(decoded).toMatchObject({ errorCode: 0, groups: [{ groupId: 'g1', protocolType: 'consumer' }] });
  });
});
