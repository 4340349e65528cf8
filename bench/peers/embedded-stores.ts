/**
 * In-process persistent stores as peers, the ones a Node user would pick for an embedded queue
 * instead of Sluice: LMDB through lmdb-js and SQLite through better-sqlite3. Each appends the
 * workload's records under increasing sequence numbers, one transaction per send call (the
 * batch the other peers pipeline), then reads every record back in sequence order. Neither
 * fsyncs at commit, so an acknowledged transaction is in the page cache, as Sluice's acks 1
 * append is: LMDB with `noSync`, SQLite in WAL mode with `synchronous = OFF`.
 *
 * The read pass is timed on its own; a second, untimed pass then checks that the store returns
 * exactly the values sent, in the order sent, so a row cannot come from a store that lost or
 * reordered records.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { open } from 'lmdb';
import type { PerfMessage } from '../../src/perf/send-loop.js';
import { measureSends, type PeerMeasurement, type PeerWorkload } from './workload.js';

/** A store's append and read-back passes over the same records. */
interface EmbeddedStore {
  /** Appends `values` in one transaction, after every value appended before. */
  append(values: PerfMessage[]): void;
  /** Every value in sequence order. */
  readAll(): Iterable<Uint8Array>;
  close(): void;
}

export async function runLmdb(dir: string, workload: PeerWorkload): Promise<PeerMeasurement> {
  const db = open<Buffer, number>({ path: path.join(dir, 'lmdb'), keyEncoding: 'uint32', encoding: 'binary', compression: false, noSync: true });
  let next = 0;
  return measureStore(
    {
      append(messages) {
        db.transactionSync(() => {
          for (const message of messages) db.putSync(next++, message.value);
        });
      },
      *readAll() {
        for (const { value } of db.getRange({ start: 0 })) yield value;
      },
      close() {
        db.close();
      },
    },
    workload,
  );
}

export async function runSqlite(dir: string, workload: PeerWorkload): Promise<PeerMeasurement> {
  const db = new Database(path.join(dir, 'records.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec('CREATE TABLE records (seq INTEGER PRIMARY KEY, value BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO records (value) VALUES (?)');
  const appendAll = db.transaction((messages: PerfMessage[]) => {
    for (const message of messages) insert.run(message.value);
  });
  const select = db.prepare('SELECT value FROM records ORDER BY seq').pluck();
  return measureStore(
    {
      append: (messages) => appendAll(messages),
      readAll: () => select.iterate() as Iterable<Buffer>,
      close: () => db.close(),
    },
    workload,
  );
}

async function measureStore(store: EmbeddedStore, workload: PeerWorkload): Promise<PeerMeasurement> {
  try {
    const sent: Buffer[] = [];
    const measurement = await measureSends(async (messages) => {
      store.append(messages);
      for (const message of messages) sent.push(message.value);
    }, workload);
    const start = process.hrtime.bigint();
    let records = 0;
    let bytes = 0;
    for (const value of store.readAll()) {
      records += 1;
      bytes += value.length;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    checkReadBack(store, sent);
    measurement.read = { records, seconds, recordsPerSec: records / seconds, mbPerSec: bytes / seconds / 1e6 };
    return measurement;
  } finally {
    store.close();
  }
}

function checkReadBack(store: EmbeddedStore, sent: Buffer[]): void {
  let index = 0;
  for (const value of store.readAll()) {
    if (index >= sent.length) throw new Error(`the store returned more than the ${sent.length} records appended`);
    if (!sent[index].equals(value)) throw new Error(`record ${index} read back differs from the one appended`);
    index += 1;
  }
  if (index !== sent.length) throw new Error(`the store returned ${index} of the ${sent.length} records appended`);
}
