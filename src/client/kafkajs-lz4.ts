/**
 * kafkajs ships without an LZ4 codec (its slot throws). Sluice's own codec speaks Kafka's LZ4
 * frame format, so the CLI and the perf tools plug it in wherever they talk to a server through
 * kafkajs, for sending and for reading.
 */
import type * as KafkaJS from 'kafkajs';
import {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compressRecords,
  decompressRecords,
} from '../protocol/compression.js';

type KafkajsCodecs = Pick<typeof KafkaJS, 'CompressionCodecs' | 'CompressionTypes'>;

export function registerKafkajsLz4(kafkajs: KafkajsCodecs): void {
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compressRecords('lz4', encoder.buffer),
    decompress: async (buffer: Buffer) =>
      decompressRecords(COMPRESSION_CODEC_IDS.lz4, buffer, DEFAULT_MAX_DECOMPRESSED_BYTES, 0),
  });
}
