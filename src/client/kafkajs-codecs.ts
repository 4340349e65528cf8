/**
 * kafkajs ships gzip only: its LZ4, Snappy and ZSTD slots throw until a codec is plugged in.
 * Sluice's own codecs speak Kafka's formats (LZ4 frames, snappy-java's framing and raw snappy
 * blocks, zstd frames), so the CLI and the perf tools plug them in wherever they talk to a server
 * through kafkajs, for sending and for reading.
 */
import type * as KafkaJS from 'kafkajs';
import {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compressRecords,
  decompressRecords,
  type CompressionType,
} from '../protocol/compression.js';

type KafkajsCodecs = Pick<typeof KafkaJS, 'CompressionCodecs' | 'CompressionTypes'>;

/** The shape kafkajs calls: compress gets its encoder (the records in `buffer`), decompress the bytes. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Registers lz4, snappy and zstd on a kafkajs module object (its codec table is module-global). */
export function registerKafkajsCodecs(kafkajs: KafkajsCodecs): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.LZ4] = codecFor('lz4');
  CompressionCodecs[CompressionTypes.Snappy] = codecFor('snappy');
  CompressionCodecs[CompressionTypes.ZSTD] = codecFor('zstd');
}

/** kafkajs's CompressionTypes value for a codec name. */
export function kafkajsCompressionType(kafkajs: KafkajsCodecs, codec: CompressionType): number {
  const { CompressionTypes } = kafkajs;
  switch (codec) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    case 'lz4':
      return CompressionTypes.LZ4;
    case 'zstd':
      return CompressionTypes.ZSTD;
  }
}

function codecFor(codec: Exclude<CompressionType, 'none' | 'gzip'>): () => KafkajsCodec {
  return () => ({
    compress: async (encoder: { buffer: Buffer }) => compressRecords(codec, encoder.buffer),
    decompress: async (buffer: Buffer) =>
      decompressRecords(COMPRESSION_CODEC_IDS[codec], buffer, DEFAULT_MAX_DECOMPRESSED_BYTES, 0),
  });
}
