/**
 * Kafka's example connectors with their config names: FileStreamSource reads a file line by line
 * into a topic (source partition {filename}, source offset {position}: the byte just after the
 * line), so that after a restart it resumes after the last line whose offset was stored;
 * FileStreamSink appends each record's value as a line to a file and fsyncs it on flush.
 * Without `file` they read standard input and write standard output, as Kafka's do.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ConnectError } from '../errors.js';
import { SinkConnector, SinkTask, SourceConnector, SourceTask, sourceRecord, type Props, type SinkRecord, type SourceOffset, type SourcePartition, type SourceRecord } from './api.js';
import { atLeast, ConfigDef, nonEmptyString } from './config-def.js';
import { Schemas } from './data.js';

export const FILE_CONFIG = 'file';
export const TOPIC_CONFIG = 'topic';
export const TOPICS_CONFIG = 'topics';
export const TASK_BATCH_SIZE_CONFIG = 'batch.size';
export const DEFAULT_TASK_BATCH_SIZE = 2000;
export const FILENAME_FIELD = 'filename';
export const POSITION_FIELD = 'position';
const VERSION = '1.0.0';
/** How long poll() waits at the end of the file before answering "nothing yet", as Kafka's task. */
const EOF_WAIT_MS = 1000;
const READ_CHUNK_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

const SOURCE_CONFIG_DEF = (): ConfigDef =>
  new ConfigDef()
    .define({ name: FILE_CONFIG, type: 'STRING', defaultValue: null, importance: 'HIGH', documentation: 'Source filename. If not specified, the standard input will be used' })
    .define({ name: TOPIC_CONFIG, type: 'STRING', importance: 'HIGH', validator: nonEmptyString, documentation: 'The topic to publish data to' })
    .define({
      name: TASK_BATCH_SIZE_CONFIG,
      type: 'INT',
      defaultValue: DEFAULT_TASK_BATCH_SIZE,
      validator: atLeast(1),
      importance: 'LOW',
      documentation: 'The maximum number of records the source task can read from the file each time it is polled',
    });

export class FileStreamSourceConnector extends SourceConnector {
  private props: Props = {};

  version(): string {
    return VERSION;
  }

  config(): ConfigDef {
    return SOURCE_CONFIG_DEF();
  }

  start(props: Props): void {
    this.config().parse(props, 'FileStreamSourceConnector configuration');
    this.props = props;
  }

  taskClass(): new () => SourceTask {
    return FileStreamSourceTask;
  }

  /** One task: a file is read from one place. */
  taskConfigs(): Props[] {
    const task: Record<string, string> = { [TOPIC_CONFIG]: this.props[TOPIC_CONFIG]! };
    if (this.props[FILE_CONFIG] !== undefined) task[FILE_CONFIG] = this.props[FILE_CONFIG];
    task[TASK_BATCH_SIZE_CONFIG] = this.props[TASK_BATCH_SIZE_CONFIG] ?? String(DEFAULT_TASK_BATCH_SIZE);
    return [task];
  }

  stop(): void {}

  /** A file's byte positions identify each line, so the task resumes exactly after the last stored one; standard input has none. */
  override exactlyOnceSupport(props: Props): 'SUPPORTED' | 'UNSUPPORTED' {
    return props[FILE_CONFIG] === undefined || props[FILE_CONFIG] === '' ? 'UNSUPPORTED' : 'SUPPORTED';
  }

  /** Kafka's checks: offsets need a file, and each is null (a reset) or a non-negative byte position of a {filename} partition. */
  override alterOffsets(props: Props, offsets: readonly { partition: SourcePartition; offset: SourceOffset | null }[]): boolean {
    if (props[FILE_CONFIG] === undefined || props[FILE_CONFIG] === '') {
      throw new ConnectError(`Offsets cannot be modified if the '${FILE_CONFIG}' configuration is unspecified. This is because stdin is used for input and offsets are not tracked.`);
    }
    for (const { partition, offset } of offsets) {
      // Tombstones clean up anything, stale partitions of earlier configs included.
      if (offset === null) continue;
      if (!(POSITION_FIELD in offset)) throw new ConnectError(`Offset objects should either be null or contain the key '${POSITION_FIELD}'`);
      const position = offset[POSITION_FIELD];
      if (typeof position !== 'number' || !Number.isSafeInteger(position)) throw new ConnectError(`The value for the '${POSITION_FIELD}' key in the offset is expected to be a Long value`);
      if (position < 0) throw new ConnectError(`The value for the '${POSITION_FIELD}' key in the offset should be a non-negative value`);
      if (!(FILENAME_FIELD in partition)) throw new ConnectError(`Partition objects should contain the key '${FILENAME_FIELD}'`);
    }
    return true;
  }
}

export class FileStreamSourceTask extends SourceTask {
  private filename: string | null = null;
  private topic = '';
  private batchSize = DEFAULT_TASK_BATCH_SIZE;
  private file: FileHandle | null = null;
  private stdin: AsyncIterator<Buffer> | null = null;
  /** Byte position in the file of `pending`'s first byte. */
  private position = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private stopped = false;
  private polling = false;
  private wakeUp: (() => void) | null = null;

  version(): string {
    return VERSION;
  }

  start(props: Props): void {
    const config = SOURCE_CONFIG_DEF().parse(props, 'FileStreamSourceTask configuration');
    const file = config[FILE_CONFIG] as string | null;
    this.filename = file === null || file === '' ? null : file;
    this.topic = config[TOPIC_CONFIG] as string;
    this.batchSize = config[TASK_BATCH_SIZE_CONFIG] as number;
    if (this.filename === null) this.stdin = process.stdin[Symbol.asyncIterator]();
  }

  async poll(): Promise<SourceRecord[] | null> {
    this.polling = true;
    try {
      return await this.readLines();
    } finally {
      this.polling = false;
      // stop() leaves the file to the poll in progress, which closes it here.
      if (this.stopped) await this.closeFile();
    }
  }

  private async readLines(): Promise<SourceRecord[] | null> {
    if (this.stopped) return null;
    if (this.filename !== null && this.file === null && !(await this.openFile(this.filename))) return null;
    const records: SourceRecord[] = [];
    while (records.length < this.batchSize && !this.stopped) {
      const newline = this.pending.indexOf(NEWLINE);
      if (newline !== -1) {
        records.push(this.lineRecord(newline));
        continue;
      }
      if (records.length > 0) break;
      const more = await this.read();
      if (more === 0) {
        await this.idle();
        return null;
      }
    }
    return records;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    if (!this.polling) await this.closeFile();
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  /** The file from its stored position; false when it does not exist yet (waited for a while). */
  private async openFile(filename: string): Promise<boolean> {
    try {
      this.file = await open(filename, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConnectError(`cannot open ${filename}: ${(error as Error).message}`, { cause: error });
      await this.idle();
      return false;
    }
    const stored = this.context.offsetStorageReader.offset({ [FILENAME_FIELD]: filename });
    const position = stored?.[POSITION_FIELD];
    if (position !== undefined && position !== null && (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0)) {
      throw new ConnectError(`Offset position is the incorrect type: ${JSON.stringify(position)} for ${filename}`);
    }
    this.position = (position as number | undefined) ?? 0;
    return true;
  }

  private lineRecord(newline: number): SourceRecord {
    const end = newline > 0 && this.pending[newline - 1] === 0x0d ? newline - 1 : newline;
    const line = this.pending.toString('utf8', 0, end);
    this.position += newline + 1;
    this.pending = this.pending.subarray(newline + 1);
    return sourceRecord({
      sourcePartition: this.filename === null ? null : { [FILENAME_FIELD]: this.filename },
      sourceOffset: this.filename === null ? null : { [POSITION_FIELD]: this.position },
      topic: this.topic,
      valueSchema: Schemas.STRING,
      value: line,
      timestamp: Date.now(),
    });
  }

  /** Appends what follows `pending` in the input; resolves with the bytes added (0 at its end for now). */
  private async read(): Promise<number> {
    if (this.stdin !== null) {
      const next = await this.stdin.next();
      if (next.done === true) return 0;
      this.pending = Buffer.concat([this.pending, next.value]);
      return next.value.length;
    }
    const { bytesRead } = await this.file!.read(this.chunk, 0, READ_CHUNK_BYTES, this.position + this.pending.length);
    if (bytesRead > 0) this.pending = Buffer.concat([this.pending, this.chunk.subarray(0, bytesRead)]);
    return bytesRead;
  }

  private idle(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, EOF_WAIT_MS);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

const SINK_CONFIG_DEF = (): ConfigDef =>
  new ConfigDef().define({
    name: FILE_CONFIG,
    type: 'STRING',
    defaultValue: null,
    importance: 'HIGH',
    documentation: 'Destination filename. If not specified, the standard output will be used',
  });

export class FileStreamSinkConnector extends SinkConnector {
  private props: Props = {};

  version(): string {
    return VERSION;
  }

  config(): ConfigDef {
    return SINK_CONFIG_DEF();
  }

  start(props: Props): void {
    this.props = props;
  }

  taskClass(): new () => SinkTask {
    return FileStreamSinkTask;
  }

  taskConfigs(maxTasks: number): Props[] {
    return Array.from({ length: maxTasks }, () => ({ ...this.props }));
  }

  stop(): void {}

  /** The sink keeps no offsets but its consumer group's. */
  override alterOffsets(): boolean {
    return true;
  }
}

export class FileStreamSinkTask extends SinkTask {
  private file: FileHandle | null = null;

  version(): string {
    return VERSION;
  }

  async start(props: Props): Promise<void> {
    const filename = SINK_CONFIG_DEF().parse(props, 'FileStreamSinkTask configuration')[FILE_CONFIG] as string | null;
    if (filename !== null && filename !== '') this.file = await open(filename, 'a');
  }

  async put(records: readonly SinkRecord[]): Promise<void> {
    if (records.length === 0) return;
    let text = '';
    for (const record of records) text += `${valueText(record.value)}\n`;
    if (this.file === null) process.stdout.write(text);
    else await this.file.appendFile(text, 'utf8');
  }

  override async flush(): Promise<void> {
    await this.file?.sync();
  }

  async stop(): Promise<void> {
    await this.file?.close();
    this.file = null;
  }
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
