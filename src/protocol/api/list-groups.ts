/**
 * ListGroups (key 16): the groups a broker coordinates; v4+ can filter them by state.
 * Spec: ListGroupsRequest.json / ListGroupsResponse.json. Flexible from v3.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string } from '../wire/schema.js';

export const ListGroups = new Api({
  name: 'ListGroups',
  apiKey: 16,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  request: {
    /** Empty: every state. */
    statesFilter: array(string(), { versions: '4+', optional: true }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16(),
    groups: array({
      groupId: string(),
      protocolType: string(),
      groupState: string({ versions: '4+' }),
    }),
  },
});

export type ListGroupsRequest = RequestOf<typeof ListGroups>;
export type ListGroupsRequestInput = RequestInputOf<typeof ListGroups>;
export type ListGroupsResponse = ResponseOf<typeof ListGroups>;
export type ListGroupsResponseInput = ResponseInputOf<typeof ListGroups>;
