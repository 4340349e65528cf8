/**
 * SaslHandshake: picks the connection's SASL mechanism. With SASL off, answered ILLEGAL_SASL_STATE
 * as Kafka's PLAINTEXT listeners do; an unsupported mechanism or a second handshake closes the
 * connection after the answer.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { SaslHandshake } from '../../protocol/api/sasl-handshake.js';
import { defineHandler } from './handler.js';

export const saslHandshakeHandler = defineHandler({
  api: SaslHandshake,
  handle(ctx, request) {
    if (ctx.sasl === null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    const outcome = ctx.sasl.handshake(request.mechanism, ctx.apiVersion);
    if (outcome.close) ctx.closeAfterResponse();
    return { errorCode: outcome.errorCode, mechanisms: outcome.mechanisms };
  },
});
