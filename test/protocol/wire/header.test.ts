import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import {
  peekApiKeyAndVersion,
  readRequestHeader,
  readResponseHeader,
  writeRequestHeader,
  writeResponseHeader,
} from '../../../src/protocol/wire/header.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const require = createRequire(import.meta.url);

describe('request headers', () => {
  it('reads the v1 header kafkajs frames every request with', async () => {
    const createRequest = require('kafkajs/src/protocol/request.js');
    const heartbeatV0 = require('kafkajs/src/protocol/requests/heartbeat/v0/request.js');
    const request = heartbeatV0({ groupId: 'g', groupGenerationId: 1, memberId: 'm' });
    const frame: Buffer = (await createRequest({ correlationId: 42, clientId: 'my-app', request })).buffer;
    const r = new Reader(frame, 4);
    expect(readRequestHeader(r, 1)).toEqual({ apiKey: 12, apiVersion: 0, correlationId: 42, clientId: 'my-app' });
    expect(r.string()).toBe('g');
  });

  it('writes v2 with a NON-compact client id followed by tagged fields', () => {
    const w = new Writer();
    writeRequestHeader(w, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'c' }, 2);
    // api key 18 | version 3 | correlation id 1 | client id: int16 length 1, "c" | no tagged fields
    expect(w.toBuffer().toString('hex')).toBe('0012' + '0003' + '00000001' + '000163' + '00');
    expect(readRequestHeader(new Reader(w.toBuffer()), 2)).toEqual({
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: 'c',
    });
  });

  it('skips tagged fields a client adds to a v2 header', () => {
    // ... | client id null | one tagged field: tag 5, 2 bytes | then the body starts with 0x77
    const r = new Reader(Buffer.from('000300090000000a' + 'ffff' + '01' + '05' + '02' + 'abcd' + '77', 'hex'));
    expect(readRequestHeader(r, 2)).toEqual({ apiKey: 3, apiVersion: 9, correlationId: 10, clientId: null });
    expect(r.int8()).toBe(0x77);
  });

  it('reads and writes v0 (no client id)', () => {
    const w = new Writer();
    writeRequestHeader(w, { apiKey: 7, apiVersion: 0, correlationId: 3, clientId: null }, 0);
    expect(w.toBuffer().toString('hex')).toBe('0007000000000003');
    expect(readRequestHeader(new Reader(w.toBuffer()), 0).clientId).toBeNull();
  });

  it('peeks the api key and version without consuming them', () => {
    const r = new Reader(Buffer.from('0001000b00000001ffff', 'hex'));
    expect(peekApiKeyAndVersion(r)).toEqual({ apiKey: 1, apiVersion: 11 });
    expect(r.pos).toBe(0);
  });

  it('throws ProtocolError on a truncated header', () => {
    expect(() => readRequestHeader(new Reader(Buffer.from('000100', 'hex')), 1)).toThrow(ProtocolError);
    expect(() => readRequestHeader(new Reader(Buffer.from('0001000b000000010005ab', 'hex')), 1)).toThrow(
      /request header v1/,
    );
  });
});

describe('response headers', () => {
  it('v0 is the correlation id; v1 adds an empty tagged-field section', () => {
    const w0 = new Writer();
    writeResponseHeader(w0, 0x01020304, 0);
    expect(w0.toBuffer().toString('hex')).toBe('01020304');
    const w1 = new Writer();
    writeResponseHeader(w1, 5, 1);
    expect(w1.toBuffer().toString('hex')).toBe('0000000500');
    expect(readResponseHeader(new Reader(w1.toBuffer()), 1)).toBe(5);
    expect(readResponseHeader(new Reader(w0.toBuffer()), 0)).toBe(0x01020304);
  });
});
