import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  buildBatch,
  makeTempDir,
  removeTempDir,
  scanLogFiles,
  type ScannedBatch,
  readLog,
} from './helpers.js';

const INT32_MAX = 0x7fff_ffff;
let dir: string;

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  removeTempDir(dir);
});

function openLog(config: Partial<LogConfig>, logger = new CapturingLogger(), at = dir): PartitionLog {
  return PartitionLog.open(at, config, { logger });
}

/** Appends `count` batches of varied sizes and timestamps. */
function fill(log: PartitionLog, count: number): void {
  for (let i = 0; i < count; i++) {
    log.append(buildBatch({ records: 1 + (i % 3), valueBytes: 20 + i, fill: i, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + i }));
  }
}

function snapshot(at: string): Map<string, Buffer> {
  return new Map(readdirSync(at).map((name) => [name, readFileSync(join(at, name))]));
}

/** Replaces the directory's content with `files`, with some of them replaced by `edits`. */
function restore(files: Map<string, Buffer>, edits: Record<string, Buffer> = {}): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name));
  for (const [name, bytes] of files) writeFileSync(join(dir, name), edits[name] ?? bytes);
}

function readAll(log: PartitionLog): Buffer {
  const parts: Buffer[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const result = readLog(log, offset, 1 << 20);
    parts.push(result.bytes);
    offset = result.nextOffset;
  }
  return Buffer.concat(parts);
}

function concatBytes(batches: ScannedBatch[]): Buffer {
  return Buffer.concat(batches.map((batch) => batch.bytes));
}

function expectReadsMatchFiles(log: PartitionLog): void {
  for (const batch of scanLogFiles(dir)) {
    expect(readLog(log, batch.baseOffset, 1).bytes.equals(batch.bytes)).toBe(true);
    expect(readLog(log, batch.lastOffset, 1).bytes.equals(batch.bytes)).toBe(true);
  }
}

describe('crash recovery of the active segment', () => {
  const config = { segmentBytes: 1500, indexIntervalBytes: 100 };

  it('recovers exactly the valid prefix when the file is cut at every byte inside its last batch', () => {
    const log = openLog(config);
    fill(log, 30);
    log.close();
    const files = snapshot(dir);
    const batches = scanLogFiles(dir);
    const last = batches[batches.length - 1];
    expect(new Set(batches.map((batch) => batch.file)).size).toBeGreaterThan(1);
    const survivors = concatBytes(batches.slice(0, -1));

    for (let cut = last.position; cut < last.position + last.sizeBytes; cut++) {
      restore(files, { [last.file]: files.get(last.file)!.subarray(0, cut) });
      const logger = new CapturingLogger();
      const recovered = openLog(config, logger);
      expect(recovered.logEndOffset).toBe(last.baseOffset);
      expect(recovered.recovery.bytesTruncated).toBe(cut - last.position);
      if (cut > last.position) expect(logger.warnings.some((message) => message.includes('recovery cut'))).toBe(true);
      expect(concatBytes(scanLogFiles(dir)).equals(survivors)).toBe(true);
      expect(readAll(recovered).equals(survivors)).toBe(true);
      // The checkpointed recovery point was past the surviving data: it must come down before new appends.
      expect(readFileSync(join(dir, 'recovery-point.checkpoint'), 'utf8')).toBe(`0\n${last.baseOffset}\n`);
      expect(recovered.append(buildBatch({ records: 2 })).baseOffset).toBe(last.baseOffset);
      recovered.close();
    }
  });

  it('drops the last batch when any byte it covers by length, magic or CRC is flipped, and keeps the rest', () => {
    const log = openLog(config);
    fill(log, 12);
    log.close();
    const files = snapshot(dir);
    const batches = scanLogFiles(dir);
    const last = batches[batches.length - 1];
    const survivors = concatBytes(batches.slice(0, -1));

    for (let byte = 8; byte < last.sizeBytes; byte++) {
      const damaged = Buffer.from(files.get(last.file)!);
      damaged[last.position + byte] ^= 0xff;
      restore(files, { [last.file]: damaged });
      const recovered = openLog(config);
      if (byte >= 12 && byte < 16) {
        // partitionLeaderEpoch is outside the CRC in Kafka's format: a flip there is undetectable.
        expect(recovered.logEndOffset).toBe(last.lastOffset + 1);
        expect(readLog(recovered, last.baseOffset, 1).bytes.equals(damaged.subarray(last.position))).toBe(true);
      } else {
        expect(recovered.logEndOffset).toBe(last.baseOffset);
        expect(recovered.recovery.bytesTruncated).toBe(last.sizeBytes);
        expect(readAll(recovered).equals(survivors)).toBe(true);
      }
      recovered.close();
    }
  });

  it('catches a flipped baseOffset (outside the CRC) when offsets stop ascending or leave the segment', () => {
    const log = openLog(config);
    fill(log, 12);
    log.close();
    const files = snapshot(dir);
    const batches = scanLogFiles(dir);
    const last = batches[batches.length - 1];
    const previous = batches[batches.length - 2];
    const segmentBase = Number(last.file.slice(0, 20));

    for (let byte = 0; byte < 8; byte++) {
      const damaged = Buffer.from(files.get(last.file)!);
      damaged[last.position + byte] ^= 0xff;
      const flippedBase = damaged.readBigInt64BE(last.position);
      restore(files, { [last.file]: damaged });
      const recovered = openLog(config);
      const detectable =
        flippedBase <= BigInt(previous.lastOffset) ||
        flippedBase + BigInt(last.lastOffset - last.baseOffset) - BigInt(segmentBase) > BigInt(INT32_MAX);
      // A base offset moved forward within range looks like a gap left by compaction: it is kept.
      const expectedEnd = detectable ? last.baseOffset : Number(flippedBase) + last.lastOffset - last.baseOffset + 1;
      expect(recovered.logEndOffset).toBe(expectedEnd);
      recovered.close();
    }
  });

  it('cuts at a corrupt batch in the middle of the segment, keeping every batch before it', () => {
    const log = openLog({ indexIntervalBytes: 100 });
    fill(log, 20);
    log.close();
    const files = snapshot(dir);
    const batches = scanLogFiles(dir);
    const victim = batches[9];
    const damaged = Buffer.from(files.get(victim.file)!);
    damaged[victim.position + victim.sizeBytes - 3] ^= 0x10;
    restore(files, { [victim.file]: damaged });
    const logger = new CapturingLogger();
    const recovered = openLog({ indexIntervalBytes: 100 }, logger);
    expect(recovered.logEndOffset).toBe(victim.baseOffset);
    expect(readAll(recovered).equals(concatBytes(batches.slice(0, 9)))).toBe(true);
    expect(logger.warnings.join('\n')).toMatch(/CRC mismatch/);
    expectReadsMatchFiles(recovered);
    recovered.close();
  });
});

describe('recovery point', () => {
  it('validates only the active segment after a clean close, and the unflushed segments after a crash', () => {
    const config = { segmentBytes: 600, flushMessages: 40 };
    const log = openLog(config);
    fill(log, 60);
    // A crash image: the files as they are while the log is still open.
    const crashed = makeTempDir();
    cpSync(dir, crashed, { recursive: true });
    const flushedOffset = log.flushedOffset;
    const segments = log.segmentInfos();
    log.close();

    const clean = openLog(config);
    expect(clean.recovery.segmentsRecovered).toBe(1);
    clean.close();

    const checkpoint = readFileSync(join(crashed, 'recovery-point.checkpoint'), 'utf8');
    const recoveryPoint = Number(checkpoint.split('\n')[1]);
    expect(recoveryPoint).toBeGreaterThan(0);
    expect(recoveryPoint).toBeLessThanOrEqual(flushedOffset);
    const fromSegment = segments.filter((segment) => segment.baseOffset <= recoveryPoint).length - 1;
    const afterCrash = openLog(config, new CapturingLogger(), crashed);
    expect(afterCrash.recovery.recoveryPointOffset).toBe(recoveryPoint);
    expect(afterCrash.recovery.segmentsRecovered).toBe(segments.length - fromSegment);
    expect(afterCrash.recovery.segmentsRecovered).toBeLessThan(segments.length);
    expect(afterCrash.logEndOffset).toBe(segments[segments.length - 1].nextOffset);
    afterCrash.close();
    removeTempDir(crashed);
  });

  it('cuts a corrupt unflushed segment and deletes the later ones, as offsets must stay contiguous', () => {
    const config = { segmentBytes: 600 };
    const log = openLog(config);
    fill(log, 40);
    const crashed = makeTempDir();
    cpSync(dir, crashed, { recursive: true });
    log.close();
    const batches = scanLogFiles(crashed);
    const files = [...new Set(batches.map((batch) => batch.file))];
    expect(files.length).toBeGreaterThanOrEqual(3);
    const victim = batches.filter((batch) => batch.file === files[1])[2];
    const damaged = readFileSync(join(crashed, victim.file));
    damaged[victim.position + 40] ^= 0x01;
    writeFileSync(join(crashed, victim.file), damaged);

    const logger = new CapturingLogger();
    const recovered = openLog(config, logger, crashed);
    expect(recovered.logEndOffset).toBe(victim.baseOffset);
    expect(recovered.recovery.segmentsDeleted).toBe(files.length - 2);
    for (const later of files.slice(2)) expect(existsSync(join(crashed, later))).toBe(false);
    expect(logger.warnings.filter((message) => message.startsWith('deleted segment')).length).toBe(files.length - 2);
    expect(recovered.append(buildBatch()).baseOffset).toBe(victim.baseOffset);
    recovered.close();
    removeTempDir(crashed);
  });

  it('refuses to open when a flushed segment below the recovery point has a broken batch chain', () => {
    const config = { segmentBytes: 600 };
    const log = openLog(config);
    fill(log, 40);
    log.close();
    const batches = scanLogFiles(dir);
    const firstFile = batches[0].file;
    const lastOfFirst = batches.filter((batch) => batch.file === firstFile).at(-1)!;
    const damaged = readFileSync(join(dir, firstFile));
    damaged.writeInt32BE(0x7fff0000, lastOfFirst.position + 8);
    writeFileSync(join(dir, firstFile), damaged);
    expect(() => openLog(config)).toThrow(CorruptFileError);
    expect(() => openLog(config)).toThrow(/below the recovery point/);
  });

  it('treats an unreadable recovery point checkpoint as none: everything is validated', () => {
    const log = openLog({ segmentBytes: 600 });
    fill(log, 30);
    const segmentCount = log.segmentInfos().length;
    log.close();
    writeFileSync(join(dir, 'recovery-point.checkpoint'), 'garbage');
    const logger = new CapturingLogger();
    const reopened = openLog({ segmentBytes: 600 }, logger);
    expect(reopened.recovery.segmentsRecovered).toBe(segmentCount);
    expect(logger.warnings.join()).toMatch(/recovery-point\.checkpoint/);
    reopened.close();
  });

  it('refuses an unreadable log start offset checkpoint, which cannot be guessed', () => {
    const log = openLog({});
    log.append(buildBatch());
    log.close();
    writeFileSync(join(dir, 'log-start-offset.checkpoint'), '0\nseven\n');
    expect(() => openLog({})).toThrow(CorruptFileError);
  });

  it('restarts the log empty at its start offset when the recovered end falls below it', () => {
    const log = openLog({});
    log.append(buildBatch({ records: 4 }));
    log.append(buildBatch({ records: 4 }));
    log.deleteRecordsBefore(8);
    log.close();
    const [first] = scanLogFiles(dir);
    const logFile = join(dir, first.file);
    writeFileSync(logFile, readFileSync(logFile).subarray(0, first.sizeBytes + 10));
    const logger = new CapturingLogger();
    const reopened = openLog({}, logger);
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([8, 8]);
    expect(logger.warnings.join()).toMatch(/restarting the log empty at 8/);
    expect(reopened.append(buildBatch()).baseOffset).toBe(8);
    reopened.close();
  });
});

describe('index repair', () => {
  const config = { segmentBytes: 800, indexIntervalBytes: 60 };

  function buildClosedLog(): { files: Map<string, Buffer>; segmentFiles: string[] } {
    const log = openLog(config);
    fill(log, 40);
    // Give the active segment a few index entries too.
    while (log.segmentInfos().length < 3 || log.segmentInfos().at(-1)!.offsetIndexEntries < 3) {
      log.append(buildBatch({ records: 2, valueBytes: 30 }));
    }
    log.close();
    const segmentFiles = [...new Set(scanLogFiles(dir).map((batch) => batch.file.slice(0, 20)))];
    expect(segmentFiles.length).toBeGreaterThanOrEqual(3);
    return { files: snapshot(dir), segmentFiles };
  }

  const damages: [string, (bytes: Buffer) => Buffer][] = [
    ['missing', () => Buffer.alloc(0)],
    ['torn (not whole entries)', (bytes) => bytes.subarray(0, bytes.length - 5)],
    ['pointing past the log end', (bytes) => withInt32(bytes, bytes.length - 4, 0x7fff_0000)],
    ['not increasing', (bytes) => Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8), bytes.subarray(16)])],
    ['filled with garbage', (bytes) => Buffer.alloc(bytes.length, 0xa5)],
  ];

  for (const [damage, apply] of damages) {
    for (const which of ['a flushed segment', 'the active segment'] as const) {
      it(`rebuilds an offset index that is ${damage}, in ${which}, byte for byte`, () => {
        const { files, segmentFiles } = buildClosedLog();
        const base = which === 'a flushed segment' ? segmentFiles[0] : segmentFiles.at(-1)!;
        const indexName = `${base}.index`;
        const original = files.get(indexName)!;
        expect(original.length).toBeGreaterThanOrEqual(24);
        restore(files, { [indexName]: apply(original) });
        if (damage === 'missing') rmSync(join(dir, indexName));
        const logger = new CapturingLogger();
        const log = openLog(config, logger);
        expect(log.recovery.indexesRebuilt).toBe(1);
        expect(readFileSync(join(dir, indexName)).equals(original)).toBe(true);
        expectReadsMatchFiles(log);
        log.close();
      });
    }
  }

  it('rebuilds a time index that is torn or decreasing, byte for byte', () => {
    const { files, segmentFiles } = buildClosedLog();
    for (const damage of ['torn', 'decreasing']) {
      const name = `${segmentFiles[1]}.timeindex`;
      const original = files.get(name)!;
      expect(original.length).toBeGreaterThanOrEqual(24);
      const swapped = Buffer.concat([original.subarray(12, 24), original.subarray(0, 12), original.subarray(24)]);
      const damaged = damage === 'torn' ? original.subarray(0, original.length - 1) : swapped;
      restore(files, { [name]: damaged });
      const logger = new CapturingLogger();
      const log = openLog(config, logger);
      expect(log.recovery.indexesRebuilt).toBe(1);
      expect(logger.warnings.join()).toMatch(/timeindex/);
      expect(readFileSync(join(dir, name)).equals(original)).toBe(true);
      log.close();
    }
  });

  it('answers correctly past a plausible but wrong entry: the reader falls back to a scan of the segment', () => {
    const { files, segmentFiles } = buildClosedLog();
    const indexName = `${segmentFiles[0]}.index`;
    const original = files.get(indexName)!;
    // Shift the first entry's position by one byte: still increasing and inside the log.
    const damaged = withInt32(original, 4, original.readInt32BE(4) + 1);
    restore(files, { [indexName]: damaged });
    const logger = new CapturingLogger();
    const log = openLog(config, logger);
    expect(log.recovery.indexesRebuilt).toBe(0);
    const key = Number(segmentFiles[0]) + original.readInt32BE(0);
    const expected = scanLogFiles(dir).find((batch) => batch.baseOffset <= key && batch.lastOffset >= key)!;
    expect(readLog(log, key, 1).bytes.equals(expected.bytes)).toBe(true);
    log.close();
  });
});

describe('partition directory contents', () => {
  it('removes index files without a log and interrupted checkpoint writes, and leaves other files alone', () => {
    const log = openLog({});
    log.append(buildBatch());
    log.close();
    writeFileSync(join(dir, '00000000000000000500.index'), Buffer.alloc(8));
    writeFileSync(join(dir, '00000000000000000500.timeindex'), Buffer.alloc(12));
    writeFileSync(join(dir, 'log-start-offset.checkpoint.tmp'), '0\n4');
    writeFileSync(join(dir, 'partition.metadata'), 'version: 0');
    const reopened = openLog({});
    expect([...reopened.recovery.filesRemoved].sort()).toEqual([
      '00000000000000000500.index',
      '00000000000000000500.timeindex',
      'log-start-offset.checkpoint.tmp',
    ]);
    expect(existsSync(join(dir, '00000000000000000500.index'))).toBe(false);
    expect(existsSync(join(dir, 'partition.metadata'))).toBe(true);
    expect(reopened.logEndOffset).toBe(1);
    reopened.close();
  });

  it('refuses files named like segments that are not 20-digit base offsets', () => {
    openLog({}).close();
    writeFileSync(join(dir, '12.log'), Buffer.alloc(0));
    expect(() => openLog({})).toThrow(CorruptFileError);
    expect(() => openLog({})).toThrow(/20 digits/);
  });

  it('rebuilds the indexes of a log whose index files are both missing', () => {
    const log = openLog({ indexIntervalBytes: 50 });
    fill(log, 20);
    log.close();
    const index = readFileSync(join(dir, '00000000000000000000.index'));
    const timeIndex = readFileSync(join(dir, '00000000000000000000.timeindex'));
    rmSync(join(dir, '00000000000000000000.index'));
    rmSync(join(dir, '00000000000000000000.timeindex'));
    const reopened = openLog({ indexIntervalBytes: 50 });
    expect(readFileSync(join(dir, '00000000000000000000.index')).equals(index)).toBe(true);
    expect(readFileSync(join(dir, '00000000000000000000.timeindex')).equals(timeIndex)).toBe(true);
    expectReadsMatchFiles(reopened);
    reopened.close();
  });
});

function withInt32(bytes: Buffer, position: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeInt32BE(value, position);
  return copy;
}
