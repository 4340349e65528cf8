import { describe, expect, expectTypeOf, it } from 'vitest';
import * as sluice from '../src/index.js';
import type {
  AccumulatorStats,
  Batch,
  ConsumedMessage,
  KafkaServerOptions,
  ManualAssignment,
  RunOptions,
  SendOffsetsRequest,
  SubscribeOptions,
  TopicPartitionOffset,
} from '../src/index.js';
import { CONSUMER_EVENTS, Consumer } from '../src/client/consumer.js';
import type { ConsumedMessage as ConsumedMessageClass } from '../src/client/fetcher.js';
import { Transaction } from '../src/client/producer.js';
import { KafkaServer } from '../src/server/server.js';
import { json, msgpack, string } from '../src/client/serializers.js';

describe('the package entry point', () => {
  it('exports the classes and values of the embedded API and the protocol server', () => {
    expect(sluice.Transaction).toBe(Transaction);
    expect(sluice.Consumer).toBe(Consumer);
    expect(sluice.CONSUMER_EVENTS).toBe(CONSUMER_EVENTS);
    expect(sluice.KafkaServer).toBe(KafkaServer);
    expect([sluice.json, sluice.msgpack, sluice.string]).toEqual([json, msgpack, string]);
  });

  it('exports the types their signatures use', () => {
    expectTypeOf<ConsumedMessage<string, string>>().toEqualTypeOf<ConsumedMessageClass<string, string>>();
    expectTypeOf<Parameters<Transaction['sendOffsets']>[0]>().toEqualTypeOf<SendOffsetsRequest>();
    expectTypeOf<Parameters<Consumer['assign']>[0]>().toEqualTypeOf<ManualAssignment[]>();
    expectTypeOf<Parameters<Consumer['seek']>[0]>().toEqualTypeOf<TopicPartitionOffset>();
    expectTypeOf<Parameters<Consumer['subscribe']>[0]>().toEqualTypeOf<SubscribeOptions>();
    expectTypeOf<Parameters<Consumer<string, string>['run']>[0]>().toEqualTypeOf<RunOptions<string, string>>();
    expectTypeOf<ReturnType<sluice.Producer['stats']>>().toEqualTypeOf<AccumulatorStats>();
    expectTypeOf<ConstructorParameters<typeof KafkaServer>[1]>().toEqualTypeOf<KafkaServerOptions | undefined>();
    expectTypeOf<Batch<Buffer, Buffer>['messages'][number]>().toEqualTypeOf<ConsumedMessageClass<Buffer, Buffer>>();
  });
});
