/**
 * SaslAuthenticate (key 36): one SASL token exchange, after a v1 SaslHandshake.
 * Spec: SaslAuthenticateRequest.json / SaslAuthenticateResponse.json. Flexible from v2.
 * v1 adds the session lifetime (KIP-368): 0 means the session does not expire.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { bytes, int16, int64, string } from '../wire/schema.js';

export const SaslAuthenticate = new Api({
  name: 'SaslAuthenticate',
  apiKey: 36,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,
  request: {
    authBytes: bytes(),
  },
  response: {
    errorCode: int16(),
    errorMessage: string({ nullable: '0+', default: null }),
    authBytes: bytes(),
    sessionLifetimeMs: int64({ versions: '1+', default: 0 }),
  },
});

export type SaslAuthenticateRequest = RequestOf<typeof SaslAuthenticate>;
export type SaslAuthenticateRequestInput = RequestInputOf<typeof SaslAuthenticate>;
export type SaslAuthenticateResponse = ResponseOf<typeof SaslAuthenticate>;
export type SaslAuthenticateResponseInput = ResponseInputOf<typeof SaslAuthenticate>;
