/**
 * ApiVersions: the APIs this server has handlers for, at the versions they serve. A v3+ request
 * whose client software name or version breaks Kafka's pattern is answered INVALID_REQUEST, as
 * Kafka does, still with the list so the client can go on.
 */
import { ApiVersions } from '../../protocol/api/api-versions.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { defineHandler } from './handler.js';

/** Kafka's ApiVersionsRequest#isValid pattern for clientSoftwareName / clientSoftwareVersion. */
const SOFTWARE_TEXT = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsHandler = defineHandler({
  api: ApiVersions,
  handle(ctx, request) {
    const valid =
      ctx.apiVersion < 3 || (SOFTWARE_TEXT.test(request.clientSoftwareName) && SOFTWARE_TEXT.test(request.clientSoftwareVersion));
    return {
      errorCode: valid ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
      apiKeys: ctx.server.apiVersions,
      throttleTimeMs: 0,
    };
  },
});
