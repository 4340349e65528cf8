/**
 * Codecs nobody here wrote, plugged into kafkajs's module-global codec table, so that kafkajs's
 * own encoders and decoders serve as an independent oracle: LZ4 through lz4-kafkajs (the pure-JS
 * `lz4` package underneath), snappy through snappyjs (raw blocks written, as kafkajs-snappy and
 * librdkafka write them; snappy-java's framing read, parsed here from its format) and zstd
 * through @toondepauw/node-zstd (Rust bindings). gzip is kafkajs's own.
 */
import { createRequire } from 'node:module';
import snappyjs from 'snappyjs';

const require = createRequire(import.meta.url);

/** A message of a legacy MessageSet as kafkajs's decoder returns it. */
export interface PeerMessage {
  offset: string;
  magicByte: number;
  attributes: number;
  timestamp?: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** kafkajs's MessageSet v0/v1 encoder, decoder and codec lookup: an independent oracle for message formats 0 and 1. */
export const PeerDecoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
export const PeerMessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (input: {
  messageVersion: number;
  compression?: number;
  entries: { key?: Buffer | null; value: Buffer | null; timestamp?: number; compression?: number }[];
}) => { buffer: Buffer };
export const decodePeerMessageSet = require('kafkajs/src/protocol/messageSet/decoder.js') as (decoder: unknown, size: number) => Promise<PeerMessage[]>;
export const { lookupCodec: lookupPeerCodec } = require('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodec(type: number): { compress(encoder: { buffer: Buffer }): Promise<Buffer> };
};

export type KafkajsCodecTypes = Record<'None' | 'GZIP' | 'Snappy' | 'LZ4' | 'ZSTD', number>;

/** Registers the peer codecs (idempotent) and returns kafkajs's codec table and type ids. */
export function registerPeerCodecs(): { Codecs: Record<number, unknown>; Types: KafkajsCodecTypes } {
  const { Codecs, Types } = require('kafkajs/src/protocol/message/compression/index.js') as {
    Codecs: Record<number, unknown>;
    Types: KafkajsCodecTypes;
  };
  const LZ4Codec = require('lz4-kafkajs') as new () => { codec: unknown };
  // As lz4-kafkajs documents: CompressionCodecs[CompressionTypes.LZ4] = new LZ4().codec
  Codecs[Types.LZ4] = new LZ4Codec().codec;

  const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  Codecs[Types.Snappy] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(snappyjs.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => {
      if (buffer.length < 16 || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) return Buffer.from(snappyjs.uncompress(buffer));
      // snappy-java's framing: a 16-byte header, then (int32 length, raw block) pairs.
      const blocks: Buffer[] = [];
      for (let at = 16; at < buffer.length; at += 4 + buffer.readInt32BE(at)) {
        blocks.push(Buffer.from(snappyjs.uncompress(buffer.subarray(at + 4, at + 4 + buffer.readInt32BE(at)))));
      }
      return Buffer.concat(blocks);
    },
  });
  const zstdPeer = require('@toondepauw/node-zstd') as {
    Encoder: new (level: number) => { encode(data: Buffer): Promise<Buffer> };
    Decoder: new () => { decode(data: Buffer): Promise<Buffer> };
  };
  Codecs[Types.ZSTD] = () => ({
    compress: async (encoder: { buffer: Buffer }) => new zstdPeer.Encoder(3).encode(encoder.buffer),
    decompress: async (buffer: Buffer) => new zstdPeer.Decoder().decode(buffer),
  });
  return { Codecs, Types };
}
