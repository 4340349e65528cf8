/** The server's settings: defaults as Kafka's, and every invalid value refused with the setting named. */
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { resolveServerConfig } from '../../src/server/config.js';

describe('resolveServerConfig', () => {
  it('defaults to loopback, port 9092 and Kafka\'s socket.request.max.bytes and connections.max.idle.ms', () => {
    expect(resolveServerConfig()).toMatchObject({
      host: '127.0.0.1',
      port: 9092,
      advertisedHost: '127.0.0.1',
      nodeId: 0,
      clusterId: null,
      socketRequestMaxBytes: 104_857_600,
      idleTimeoutMs: 600_000,
      fetchMaxBytes: 57_671_680,
      connectionsMaxPerIp: 0x7fff_ffff,
      sasl: null,
      maxIncrementalFetchSessionCacheSlots: 1_000,
      minIncrementalFetchSessionEvictionMs: 120_000,
      maxIncrementalFetchSessionCachePartitions: 100_000,
      authorizer: null,
    });
    expect(resolveServerConfig({ authorizer: {} }).authorizer).toEqual({ superUsers: [], allowEveryoneIfNoAclFound: false });
  });

  it('refuses invalid settings, naming them', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ prot: 1 }, /unknown KafkaServer option "prot"/],
      [{ port: 70000 }, /port must be an integer/],
      [{ socketRequestMaxBytes: -1 }, /socketRequestMaxBytes/],
      [{ maxInFlightRequestsPerConnection: 0 }, /maxInFlightRequestsPerConnection/],
      [{ clusterId: 'short' }, /clusterId must be 22 characters/],
      [{ sasl: { mechanisms: ['GSSAPI'], credentialsFile: 'f.json' } }, /GSSAPI.*not supported/],
      [{ sasl: { mechanisms: [], credentialsFile: 'f.json' } }, /at least one/],
      [{ sasl: { mechanisms: ['PLAIN'] } }, /credentialsFile/],
      [{ authorizer: { superUsers: ['admin'] } }, /"admin" is not a principal/],
      [{ authorizer: { superUsers: 'User:admin' } }, /superUsers must be an array/],
      [{ authorizer: { allowEveryoneIfNoAclFound: 'yes' } }, /allowEveryoneIfNoAclFound must be true or false/],
      [{ authorizer: { superUser: ['User:admin'] } }, /unknown authorizer option "superUser"/],
      [{ requestObserver: { requestDone: () => {} } }, /requestObserver must be an object with requestCompleted/],
      [{ logger: {} }, /logger/],
      [{ fetchMaxBytes: 1023 }, /fetchMaxBytes must be an integer from 1024/],
      [{ connectionsMaxPerIp: 0 }, /connectionsMaxPerIp/],
      [{ maxQueuedResponseBytesPerConnection: 0 }, /maxQueuedResponseBytesPerConnection/],
      [{ requestReceiveTimeoutMs: 0 }, /requestReceiveTimeoutMs/],
      [{ maxIncrementalFetchSessionCacheSlots: -1 }, /maxIncrementalFetchSessionCacheSlots must be an integer from 0/],
      [{ maxIncrementalFetchSessionCachePartitions: 1.5 }, /maxIncrementalFetchSessionCachePartitions must be an integer/],
      [{ minIncrementalFetchSessionEvictionMs: -1 }, /minIncrementalFetchSessionEvictionMs must be an integer from 0/],
      [{ queuedMaxBytes: 1_000_000, socketRequestMaxBytes: 2_000_000 }, /queuedMaxBytes \(1000000\) must be at least socketRequestMaxBytes \(2000000\)/],
    ];
    for (const [options, message] of cases) {
      expect(() => resolveServerConfig(options as never)).toThrow(InvalidConfigError);
      expect(() => resolveServerConfig(options as never)).toThrow(message);
    }
  });
});
