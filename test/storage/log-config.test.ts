import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { DEFAULT_LOG_CONFIG, parseKafkaLogConfigs, resolveLogConfig } from '../../src/storage/log-config.js';

describe('log config', () => {
  it('defaults to Kafka\'s topic defaults', () => {
    expect(resolveLogConfig()).toEqual({
      segmentBytes: 1_073_741_824,
      segmentMs: 604_800_000,
      segmentIndexBytes: 10_485_760,
      indexIntervalBytes: 4096,
      retentionMs: 604_800_000,
      retentionBytes: -1,
      flushMessages: null,
      flushMs: null,
      maxMessageBytes: 1_048_588,
      messageTimestampType: 'CreateTime',
      messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
      messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
      cleanupCompact: false,
      deleteRetentionMs: 86_400_000,
      minCompactionLagMs: 0,
      maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
      minCleanableDirtyRatio: 0.5,
      compressionType: 'producer',
    });
    expect(Object.isFrozen(DEFAULT_LOG_CONFIG)).toBe(true);
  });

  it('keeps overrides and checks each against its range', () => {
    const config = resolveLogConfig({ segmentBytes: 4096, retentionMs: -1, flushMs: 0, flushMessages: 1 });
    expect(config).toMatchObject({ segmentBytes: 4096, retentionMs: -1, flushMs: 0, flushMessages: 1 });
    for (const bad of [
      { segmentBytes: 2 ** 31 },
      { segmentBytes: 1.5 },
      { segmentMs: 0 },
      { segmentIndexBytes: 11 },
      { indexIntervalBytes: -1 },
      { retentionBytes: -7 },
      { flushMs: -1 },
      { maxMessageBytes: '1000' as unknown as number },
    ]) {
      expect(() => resolveLogConfig(bad)).toThrow(InvalidConfigError);
    }
    expect(() => resolveLogConfig(null as unknown as object)).toThrow(/must be an object/);
  });

  it('translates Kafka topic configs, mapping Long.MAX_VALUE flush settings to never', () => {
    const { logConfig, otherNames } = parseKafkaLogConfigs({
      'segment.bytes': '1048576',
      'retention.ms': '-1',
      'flush.messages': '9223372036854775807',
      'flush.ms': 1000,
      'message.timestamp.type': 'LogAppendTime',
      'cleanup.policy': 'compact',
      'compression.type': 'lz4',
      'message.timestamp.before.max.ms': '9223372036854775807',
      'message.timestamp.after.max.ms': '3600000',
    });
    expect(logConfig).toEqual({
      segmentBytes: 1_048_576,
      retentionMs: -1,
      flushMessages: null,
      flushMs: 1000,
      messageTimestampType: 'LogAppendTime',
      cleanupCompact: true,
      compressionType: 'lz4',
      messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
      messageTimestampAfterMaxMs: 3_600_000,
    });
    expect(otherNames).toEqual([]);
    expect(resolveLogConfig(logConfig).segmentBytes).toBe(1_048_576);
    expect(() => parseKafkaLogConfigs({ 'segment.ms': '7 days' })).toThrow(/segment\.ms must be an integer/);
  });
});
