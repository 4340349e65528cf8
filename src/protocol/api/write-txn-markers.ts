/**
 * WriteTxnMarkers (key 27): the transaction coordinator asks a partition's leader to append the
 * commit or abort markers of a producer's transaction (an inter-broker API, as Kafka's
 * TransactionMarkerChannelManager sends it). Spec: WriteTxnMarkersRequest.json /
 * WriteTxnMarkersResponse.json. Flexible from v1; the bodies never change. The response has no
 * throttle time.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int64, string } from '../wire/schema.js';

export const WriteTxnMarkers = new Api({
  name: 'WriteTxnMarkers',
  apiKey: 27,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 1,
  request: {
    markers: array({
      producerId: int64(),
      producerEpoch: int16(),
      transactionResult: bool(),
      topics: array({
        name: string(),
        partitionIndexes: array(int32()),
      }),
      coordinatorEpoch: int32(),
    }),
  },
  response: {
    markers: array({
      producerId: int64(),
      topics: array({
        name: string(),
        partitions: array({
          partitionIndex: int32(),
          errorCode: int16(),
        }),
      }),
    }),
  },
});

export type WriteTxnMarkersRequest = RequestOf<typeof WriteTxnMarkers>;
export type WriteTxnMarkersRequestInput = RequestInputOf<typeof WriteTxnMarkers>;
export type WriteTxnMarkersResponse = ResponseOf<typeof WriteTxnMarkers>;
export type WriteTxnMarkersResponseInput = ResponseInputOf<typeof WriteTxnMarkers>;
