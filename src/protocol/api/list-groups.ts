/**
 * ListGroups (key 16): the groups a broker coordinates; v4+ can filter them by state (KIP-518),
 * v5+ by type (KIP-848), and the response then names each group's type.
 * Spec: ListGroupsRequest.json / ListGroupsResponse.json. Flexible from v3.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string } from '../wire/schema.js';

/** Kafka's GroupType name of a group speaking the classic (JoinGroup/SyncGroup) protocol. */
export const GROUP_TYPE_CLASSIC = 'classic';
/** Kafka's GroupType name of a group speaking the KIP-848 consumer protocol (ConsumerGroupHeartbeat). */
export const GROUP_TYPE_CONSUMER = 'consumer';

export const ListGroups = new Api({
  name: 'ListGroups',
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 3,
  request: {
    /** Empty: every state. */
    statesFilter: array(string(), { versions: '4+', optional: true }),
    /** Empty: every type. */
    typesFilter: array(string(), { versions: '5+', optional: true }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16(),
    groups: array({
      groupId: string(),
      protocolType: string(),
      groupState: string({ versions: '4+' }),
      groupType: string({ versions: '5+' }),
    }),
  },
});

export type ListGroupsRequest = RequestOf<typeof ListGroups>;
export type ListGroupsRequestInput = RequestInputOf<typeof ListGroups>;
export type ListGroupsResponse = ResponseOf<typeof ListGroups>;
export type ListGroupsResponseInput = ResponseInputOf<typeof ListGroups>;
