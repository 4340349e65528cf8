/**
 * DescribeLogDirs (key 35): the broker's log directories and the size of each partition in them.
 * Spec: DescribeLogDirsRequest.json / DescribeLogDirsResponse.json. Flexible from v2; v3 adds a
 * top-level error code, v4 the volume's total and usable bytes.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int64, string } from '../wire/schema.js';

export const DescribeLogDirs = new Api({
  name: 'DescribeLogDirs',
  apiKey: 35,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 2,
  request: {
    /** null: every partition. */
    topics: array({ topic: string(), partitions: array(int32()) }, { nullable: '0+' }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16({ versions: '3+', default: 0 }),
    results: array({
      errorCode: int16(),
      logDir: string(),
      topics: array({
        name: string(),
        partitions: array({
          partitionIndex: int32(),
          partitionSize: int64(),
          offsetLag: int64(),
          isFutureKey: bool(),
        }),
      }),
      totalBytes: int64({ versions: '4+', default: -1 }),
      usableBytes: int64({ versions: '4+', default: -1 }),
    }),
  },
});

export type DescribeLogDirsRequest = RequestOf<typeof DescribeLogDirs>;
export type DescribeLogDirsRequestInput = RequestInputOf<typeof DescribeLogDirs>;
export type DescribeLogDirsResponse = ResponseOf<typeof DescribeLogDirs>;
export type DescribeLogDirsResponseInput = ResponseInputOf<typeof DescribeLogDirs>;
