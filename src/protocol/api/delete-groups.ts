/**
 * DeleteGroups (key 42): deletes groups without members, with their committed offsets.
 * Spec: DeleteGroupsRequest.json / DeleteGroupsResponse.json. Flexible from v2. Version 1 only
 * changed quota behaviour (the response is sent before throttling); v3's per-group errorMessage
 * is not served.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string } from '../wire/schema.js';

export const DeleteGroups = new Api({
  name: 'DeleteGroups',
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,
  request: {
    groupsNames: array(string()),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    results: array({
      groupId: string(),
      errorCode: int16(),
    }),
  },
});

export type DeleteGroupsRequest = RequestOf<typeof DeleteGroups>;
export type DeleteGroupsRequestInput = RequestInputOf<typeof DeleteGroups>;
export type DeleteGroupsResponse = ResponseOf<typeof DeleteGroups>;
export type DeleteGroupsResponseInput = ResponseInputOf<typeof DeleteGroups>;
