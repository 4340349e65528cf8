/**
 * Bridges to kafkajs 2.2.4's own protocol code, the real client the API codecs are checked
 * against: its request encoders produce the bytes a kafkajs client sends, its response decoders
 * read what Sluice answers the way a kafkajs client would.
 */
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { AnyApi, ResponseInputOf } from '../../../src/protocol/api/api.js';
import { encodeResponse } from '../../../src/protocol/api/registry.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const require = createRequire(import.meta.url);
const REQUESTS = 'kafkajs/src/protocol/requests';

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<unknown>;
}

export const KAFKAJS_CLIENT_ID = 'kafkajs-interop';
export const KAFKAJS_CORRELATION_ID = 4242;

/** kafkajs's request object for `api` (its directory name) at `version`. */
export function kafkajsRequest(api: string, version: number, args: unknown): KafkajsRequest {
  const build = require(`${REQUESTS}/${api}/v${version}/request.js`) as (args: unknown) => KafkajsRequest;
  const request = build(args);
  expect(request.apiVersion).toBe(version);
  return request;
}

/**
 * The frame kafkajs sends for that request, without its 4-byte size prefix (which is checked
 * against the frame's length): what the socket layer hands to decodeRequest.
 */
export async function kafkajsRequestFrame(api: string, version: number, args: unknown): Promise<Buffer> {
  const createRequest = require('kafkajs/src/protocol/request.js') as (options: unknown) => Promise<{ buffer: Buffer }>;
  const request = kafkajsRequest(api, version, args);
  const framed = (await createRequest({ correlationId: KAFKAJS_CORRELATION_ID, clientId: KAFKAJS_CLIENT_ID, request })).buffer;
  expect(framed.readInt32BE(0)).toBe(framed.length - 4);
  return Buffer.from(framed.subarray(4));
}

/**
 * Encodes a response with Sluice, then decodes it with kafkajs's decoder for that version, fed
 * what kafkajs's connection feeds it: the bytes after the size prefix and the correlation id.
 * Returns kafkajs's decoded value (and, with `parse`, runs its error checks too).
 */
export async function decodeWithKafkajs<A extends AnyApi>(
  kafkajsApi: string,
  api: A,
  version: number,
  body: ResponseInputOf<A>,
  options: { parse?: boolean } = {},
): Promise<Record<string, unknown>> {
  const writer = new Writer();
  encodeResponse(writer, api, version, KAFKAJS_CORRELATION_ID, body);
  const frame = writer.toBuffer();
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  expect(frame.readInt32BE(4)).toBe(KAFKAJS_CORRELATION_ID);
  const response = require(`${REQUESTS}/${kafkajsApi}/v${version}/response.js`) as {
    decode(payload: Buffer): Promise<Record<string, unknown>>;
    parse(decoded: Record<string, unknown>): Promise<Record<string, unknown>>;
  };
  const decoded = await response.decode(Buffer.from(frame.subarray(8)));
  return options.parse ? response.parse(decoded) : decoded;
}
