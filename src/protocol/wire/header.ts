/**
 * Kafka request and response headers (RequestHeader.json, ResponseHeader.json).
 *
 *   request v0   api_key int16, api_version int16, correlation_id int32
 *   request v1   + client_id nullable string (int16 length)
 *   request v2   + tagged fields. The client id stays a NON-compact string even though v2 is
 *                flexible: a broker must read the header of any ApiVersions request, whatever
 *                its version, before it knows which versions the client speaks.
 *   response v0  correlation_id int32
 *   response v1  + tagged fields
 *
 * Which header version goes with which (api key, api version) is decided in ../api/registry.ts
 * from each API's first flexible version.
 */
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export type RequestHeaderVersion = 0 | 1 | 2;
export type ResponseHeaderVersion = 0 | 1;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null in header v0, and when the client sends none. */
  clientId: string | null;
}

/** Reads just the api key and version that open every request, to choose the header version. */
export function peekApiKeyAndVersion(reader: Reader): { apiKey: number; apiVersion: number } {
  const start = reader.pos;
  reader.context = 'request header';
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  reader.pos = start;
  reader.context = '';
  return { apiKey, apiVersion };
}

export function readRequestHeader(reader: Reader, headerVersion: RequestHeaderVersion): RequestHeader {
  reader.context = `request header v${headerVersion}`;
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const clientId = headerVersion >= 1 ? reader.nullableString() : null;
  if (headerVersion >= 2) reader.skipTaggedFields();
  reader.context = '';
  return { apiKey, apiVersion, correlationId, clientId };
}

export function writeRequestHeader(writer: Writer, header: RequestHeader, headerVersion: RequestHeaderVersion): void {
  writer.context = `request header v${headerVersion}`;
  writer.int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId);
  if (headerVersion >= 1) writer.nullableString(header.clientId);
  if (headerVersion >= 2) writer.emptyTaggedFields();
  writer.context = '';
}

export function readResponseHeader(reader: Reader, headerVersion: ResponseHeaderVersion): number {
  reader.context = `response header v${headerVersion}`;
  const correlationId = reader.int32();
  if (headerVersion >= 1) reader.skipTaggedFields();
  reader.context = '';
  return correlationId;
}

export function writeResponseHeader(writer: Writer, correlationId: number, headerVersion: ResponseHeaderVersion): void {
  writer.context = `response header v${headerVersion}`;
  writer.int32(correlationId);
  if (headerVersion >= 1) writer.emptyTaggedFields();
  writer.context = '';
}
