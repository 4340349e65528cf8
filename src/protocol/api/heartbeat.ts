/**
 * Heartbeat (key 12): a member says it is alive; the error code tells it when to rejoin.
 * Spec: HeartbeatRequest.json / HeartbeatResponse.json. Flexible from v4.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { int16, int32, string } from '../wire/schema.js';

export const Heartbeat = new Api({
  name: 'Heartbeat',
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 4,
  request: {
    groupId: string(),
    generationId: int32(),
    memberId: string(),
    groupInstanceId: string({ versions: '3+', nullable: '3+', default: null }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16(),
  },
});

export type HeartbeatRequest = RequestOf<typeof Heartbeat>;
export type HeartbeatRequestInput = RequestInputOf<typeof Heartbeat>;
export type HeartbeatResponse = ResponseOf<typeof Heartbeat>;
export type HeartbeatResponseInput = ResponseInputOf<typeof Heartbeat>;
