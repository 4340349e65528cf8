/**
 * SaslHandshake (key 17): the client picks a SASL mechanism; the response lists those enabled.
 * Spec: SaslHandshakeRequest.json / SaslHandshakeResponse.json. Never flexible.
 *
 * After a v0 handshake the SASL tokens follow as bare size-prefixed frames; after v1 they travel
 * in SaslAuthenticate requests.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, string } from '../wire/schema.js';

export const SaslHandshake = new Api({
  name: 'SaslHandshake',
  apiKey: 17,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: null,
  request: {
    mechanism: string(),
  },
  response: {
    errorCode: int16(),
    mechanisms: array(string()),
  },
});

export type SaslHandshakeRequest = RequestOf<typeof SaslHandshake>;
export type SaslHandshakeRequestInput = RequestInputOf<typeof SaslHandshake>;
export type SaslHandshakeResponse = ResponseOf<typeof SaslHandshake>;
export type SaslHandshakeResponseInput = ResponseInputOf<typeof SaslHandshake>;
