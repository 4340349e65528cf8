import { describe, expect, it } from 'vitest';
import { ApiVersions } from '../../../src/protocol/api/api-versions.js';
import { decodeRequest, supportedApiVersions } from '../../../src/protocol/api/registry.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

describe('ApiVersions against kafkajs', () => {
  it.each([0, 1, 2])('decodes kafkajs v%i requests (an empty body)', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('apiVersions', version, {}));
    expect(request).toMatchObject({ apiKey: 18, apiVersion: version, correlationId: 4242, clientId: 'kafkajs-interop' });
    expect(request.body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' });
  });

  it.each([0, 1, 2])('encodes v%i responses kafkajs reads, with the full served list', async (version) => {
    const apiKeys = supportedApiVersions();
    const decoded = await decodeWithKafkajs('apiVersions', ApiVersions, version, { errorCode: 0, apiKeys, throttleTimeMs: 3 }, { parse: true });
    expect(decoded.errorCode).toBe(0);
    expect(decoded.apiVersions).toEqual(apiKeys);
    // kafkajs v2 moves the broker's throttle time to clientSideThrottleTime; v0 has none.
    const throttle = version === 0 ? 0 : version === 1 ? decoded.throttleTime : decoded.clientSideThrottleTime;
    expect(throttle).toBe(version === 0 ? 0 : 3);
  });
});
