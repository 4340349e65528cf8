/** SaslHandshake and SaslAuthenticate against kafkajs, with its PLAIN mechanism's real token. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { SaslAuthenticate } from '../../../src/protocol/api/sasl-authenticate.js';
import { SaslHandshake } from '../../../src/protocol/api/sasl-handshake.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const require = createRequire(import.meta.url);

describe('SaslHandshake', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('saslHandshake', version, { mechanism: 'PLAIN' }));
    expect(request.body).toEqual({ mechanism: 'PLAIN' });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('saslHandshake', SaslHandshake, version, { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-512'] }, { parse: true });
    expect(decoded.enabledMechanisms).toEqual(['PLAIN', 'SCRAM-SHA-512']);
  });
});

describe('SaslAuthenticate', () => {
  it.each([0, 1])('decodes kafkajs v%i requests carrying a PLAIN token', async (version) => {
    const plain = require('kafkajs/src/protocol/sasl/plain/index.js') as {
      request(options: unknown): { encode(): Promise<Buffer> };
    };
    const authBytes = await plain.request({ username: 'alice', password: 'secret' }).encode();
    const request = decodeRequest(await kafkajsRequestFrame('saslAuthenticate', version, { authBytes }));
    if (request.apiKey !== 36) throw new Error('not a SaslAuthenticate request');
    expect(request.body.authBytes.toString()).toBe('\u0000alice\u0000secret');
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { errorCode: 0, errorMessage: null, authBytes: Buffer.from('server-final'), sessionLifetimeMs: 3600000 };
    const decoded = await decodeWithKafkajs('saslAuthenticate', SaslAuthenticate, version, body, { parse: true });
    expect(decoded.errorMessage).toBeNull();
    // kafkajs re-wraps the token with its int32 length.
    expect((decoded.authBytes as Buffer).subarray(4).toString()).toBe('server-final');
    if (version >= 1) expect(decoded.sessionLifetimeMs).toBe('3600000');
  });

  it('kafkajs sees SASL_AUTHENTICATION_FAILED with the message', async () => {
    const body = { errorCode: 58, errorMessage: 'bad password', authBytes: Buffer.alloc(0) };
    await expect(decodeWithKafkajs('saslAuthenticate', SaslAuthenticate, 1, body, { parse: true })).rejects.toThrow(/bad password/);
  });
});
