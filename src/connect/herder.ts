/**
 * The standalone herder (Kafka's StandaloneHerder): the connectors of one worker, their configs,
 * target states (STARTED, PAUSED, STOPPED) and statuses, and every operation the REST API offers
 * on them. Operations run one at a time, so a REST call never sees a connector half started.
 * Connector configs live in memory, as Kafka's standalone worker keeps them: they come from the
 * properties files given at start (and REST calls); source offsets outlive the process.
 */
import { ConnectRestError } from '../errors.js';
import { activeTopicsInfo, requireTopicTracking, type ActiveTopicsInfo } from './active-topics.js';
import type { Props } from './api.js';
import type { ConfigInfos } from './config-def.js';
import { CONNECTOR_CLASS_CONFIG, NAME_CONFIG, patchConfig } from './connector-config.js';
import { modifyConnectorOffsets, requireStopped, type OffsetEntries } from './connector-offsets.js';
import { checkName, invalidConfigError, pluginConfigDefinitions, pluginInfos, validateConnectorConfig, type PluginInfo } from './connector-validation.js';
import { traceOf, type State, type Status, type StatusListener, type TaskId } from './status.js';
import type { ConnectorType, RunningConnector, RunningTask, Worker } from './worker.js';

export type TargetState = 'STARTED' | 'PAUSED' | 'STOPPED';

export interface ConnectorInfo {
  name: string;
  config: Record<string, string>;
  tasks: { connector: string; task: number }[];
  type: ConnectorType;
}

export interface StateInfo {
  state: State;
  worker_id: string;
  trace?: string;
}

export interface ConnectorStateInfo {
  name: string;
  connector: StateInfo;
  tasks: (StateInfo & { id: number })[];
  type: ConnectorType;
}

export interface ConnectorOffsets {
  offsets: { partition: Record<string, unknown>; offset: Record<string, unknown> }[];
}

interface TaskEntry {
  runner: RunningTask | null;
  status: Status;
}

interface ConnectorEntry {
  readonly name: string;
  config: Record<string, string>;
  type: ConnectorType;
  target: TargetState;
  running: RunningConnector | null;
  status: Status;
  taskConfigs: Props[];
  readonly tasks: Map<number, TaskEntry>;
  /** Bumped on every (re)start, so a late status from a stopped generation is ignored. */
  generation: number;
}

function stateInfo(status: Status): StateInfo {
  return { state: status.state, worker_id: status.workerId, ...(status.trace === undefined ? {} : { trace: status.trace }) };
}

const notFound = (name: string): ConnectRestError => new ConnectRestError(404, `Connector ${name} not found`);

export class StandaloneHerder {
  private readonly connectors = new Map<string, ConnectorEntry>();
  /** Per connector, the topics its tasks used (KIP-558), as Kafka's in-memory status store keeps them. */
  private readonly activeTopics = new Map<string, Set<string>>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(readonly worker: Worker) {}

  get workerId(): string {
    return this.worker.workerId;
  }

  /** Runs `work` after every operation before it. */
  private serially<T>(work: () => Promise<T>, evenWhenClosed = false): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed && !evenWhenClosed) throw new ConnectRestError(503, 'The worker is shutting down');
      return work();
    });
    this.queue = next.catch(() => {});
    return next;
  }

  connectorNames(): string[] {
    return [...this.connectors.keys()].sort();
  }

  private entry(name: string): ConnectorEntry {
    const entry = this.connectors.get(name);
    if (entry === undefined) throw notFound(name);
    return entry;
  }

  connectorInfo(name: string): ConnectorInfo {
    const entry = this.entry(name);
    return { name, config: { ...entry.config }, tasks: entry.taskConfigs.map((_, task) => ({ connector: name, task })), type: entry.type };
  }

  connectorConfig(name: string): Record<string, string> {
    return { ...this.entry(name).config };
  }

  connectorStatus(name: string): ConnectorStateInfo {
    const entry = this.entry(name);
    return {
      name,
      connector: stateInfo(entry.status),
      tasks: [...entry.tasks].sort(([a], [b]) => a - b).map(([id, task]) => ({ id, ...stateInfo(task.status) })),
      type: entry.type,
    };
  }

  taskStatus(name: string, task: number): StateInfo & { id: number } {
    const found = this.entry(name).tasks.get(task);
    if (found === undefined) throw new ConnectRestError(404, `Task ${name}-${task} not found`);
    return { id: task, ...stateInfo(found.status) };
  }

  taskConfigs(name: string): { id: { connector: string; task: number }; config: Props }[] {
    return this.entry(name).taskConfigs.map((config, task) => ({ id: { connector: name, task }, config: { ...config } }));
  }

  connectorOffsets(name: string): Promise<ConnectorOffsets> {
    const entry = this.entry(name);
    if (entry.type === 'source') {
      return Promise.resolve({
        offsets: this.worker.offsets.connectorOffsets(name).map(({ partition, offset }) => ({ partition: { ...partition }, offset: { ...offset } })),
      });
    }
    return this.worker.cluster.committedOffsets(`connect-${name}`).then((committed) => ({
      offsets: committed
        .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
        .map(({ topic, partition, offset }) => ({ partition: { kafka_topic: topic, kafka_partition: partition }, offset: { kafka_offset: offset } })),
    }));
  }

  /** KIP-875: alters (entries) or resets (null) the offsets of a STOPPED connector. */
  modifyConnectorOffsets(name: string, entries: OffsetEntries | null): Promise<{ message: string }> {
    return this.serially(async () => {
      const entry = this.entry(name);
      requireStopped(name, entry.target === 'STOPPED' && entry.tasks.size === 0);
      return modifyConnectorOffsets(this.worker, name, entry.config, entry.type, entries);
    });
  }

  connectorActiveTopics(name: string): ActiveTopicsInfo {
    requireTopicTracking(this.worker.config, false);
    return activeTopicsInfo(name, this.activeTopics.get(name) ?? []);
  }

  resetConnectorActiveTopics(name: string): void {
    requireTopicTracking(this.worker.config, true);
    this.activeTopics.delete(name);
  }

  plugins(connectorsOnly: boolean): PluginInfo[] {
    return pluginInfos(this.worker.plugins, connectorsOnly);
  }

  pluginConfig(pluginName: string): ConfigInfos['configs'][number]['definition'][] {
    return pluginConfigDefinitions(this.worker.plugins, pluginName);
  }

  validate(config: Props, pluginName?: string): ConfigInfos {
    return validateConnectorConfig(this.worker, config, pluginName);
  }

  /** Creates or replaces a connector; `created` says which. */
  putConnectorConfig(name: string, config: Record<string, string>, allowReplace: boolean): Promise<{ created: boolean; info: ConnectorInfo }> {
    return this.serially(async () => {
      checkName(name);
      if (config[NAME_CONFIG] !== undefined && config[NAME_CONFIG] !== name) {
        throw new ConnectRestError(400, `Connector name configuration (${config[NAME_CONFIG]}) doesn't match connector name in the URL (${name})`);
      }
      const full: Record<string, string> = { ...config, [NAME_CONFIG]: name };
      const infos = this.validate(full);
      if (infos.error_count > 0) throw invalidConfigError(infos);
      const existing = this.connectors.get(name);
      if (existing !== undefined && !allowReplace) throw new ConnectRestError(409, `Connector ${name} already exists`);
      const type: ConnectorType = this.worker.plugins.connector(full[CONNECTOR_CLASS_CONFIG]!).type === 'sink' ? 'sink' : 'source';
      if (existing !== undefined) {
        await this.stopAll(existing);
        existing.config = full;
        existing.type = type;
        await this.startAll(existing);
        return { created: false, info: this.connectorInfo(name) };
      }
      const entry: ConnectorEntry = {
        name,
        config: full,
        type,
        target: 'STARTED',
        running: null,
        status: { state: 'UNASSIGNED', workerId: this.workerId },
        taskConfigs: [],
        tasks: new Map(),
        generation: 0,
      };
      this.connectors.set(name, entry);
      await this.startAll(entry);
      return { created: true, info: this.connectorInfo(name) };
    });
  }

  /** KIP-477: merges the patch into the connector's config (a null removes a setting) and applies it as a PUT would. */
  async patchConnectorConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    const patched = patchConfig(this.connectorConfig(name), patch);
    return (await this.putConnectorConfig(name, patched, true)).info;
  }

  deleteConnector(name: string): Promise<void> {
    return this.serially(async () => {
      const entry = this.entry(name);
      await this.stopAll(entry);
      this.connectors.delete(name);
      this.activeTopics.delete(name);
    });
  }

  /**
   * Restarts the connector and, with includeTasks, its tasks; with onlyFailed, only those FAILED.
   * Resolves with the status showing what restarts as RESTARTING, or null when nothing but the
   * connector was asked for (Kafka answers that with 204).
   */
  restartConnector(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<ConnectorStateInfo | null> {
    return this.serially(async () => {
      const entry = this.entry(name);
      const restartConnector = !onlyFailed || entry.status.state === 'FAILED';
      const tasks = includeTasks ? [...entry.tasks].filter(([, task]) => !onlyFailed || task.status.state === 'FAILED').map(([id]) => id) : [];
      const plan = this.connectorStatus(name);
      if (restartConnector) plan.connector.state = 'RESTARTING';
      for (const task of plan.tasks) if (tasks.includes(task.id)) task.state = 'RESTARTING';
      if (entry.target !== 'STOPPED') {
        if (restartConnector) {
          await this.stopConnectorInstance(entry);
          await this.startConnectorInstance(entry);
        }
        for (const id of tasks) {
          await this.stopTask(entry, id);
          await this.startTask(entry, id);
        }
      }
      return includeTasks || onlyFailed ? plan : null;
    });
  }

  restartTask(name: string, task: number): Promise<void> {
    return this.serially(async () => {
      const entry = this.entry(name);
      if (!entry.tasks.has(task)) throw new ConnectRestError(404, `Task ${name}-${task} not found`);
      await this.stopTask(entry, task);
      await this.startTask(entry, task);
    });
  }

  pauseConnector(name: string): Promise<void> {
    return this.serially(async () => {
      const entry = this.entry(name);
      if (entry.target === 'STOPPED') {
        entry.target = 'PAUSED';
        await this.startAll(entry);
        return;
      }
      entry.target = 'PAUSED';
      if (entry.running !== null) entry.status = { state: 'PAUSED', workerId: this.workerId };
      for (const task of entry.tasks.values()) task.runner?.pause();
    });
  }

  resumeConnector(name: string): Promise<void> {
    return this.serially(async () => {
      const entry = this.entry(name);
      const wasStopped = entry.target === 'STOPPED';
      entry.target = 'STARTED';
      if (wasStopped) {
        await this.startAll(entry);
        return;
      }
      if (entry.running !== null) entry.status = { state: 'RUNNING', workerId: this.workerId };
      for (const task of entry.tasks.values()) task.runner?.resume();
    });
  }

  /** KIP-875: the connector and its tasks shut down, its task configs emptied; resume or pause starts it again. */
  stopConnector(name: string): Promise<void> {
    return this.serially(async () => {
      const entry = this.entry(name);
      await this.stopAll(entry);
      entry.target = 'STOPPED';
      entry.taskConfigs = [];
      entry.status = { state: 'STOPPED', workerId: this.workerId };
    });
  }

  /** Stops every connector and task (their offsets flushed) and refuses further operations. */
  close(): Promise<void> {
    const done = this.serially(async () => {
      for (const entry of this.connectors.values()) await this.stopAll(entry);
    }, true);
    this.closed = true;
    return done;
  }

  private async startAll(entry: ConnectorEntry): Promise<void> {
    if (entry.target === 'STOPPED') return;
    if (!(await this.startConnectorInstance(entry))) return;
    try {
      entry.taskConfigs = await this.worker.taskConfigs(entry.running!, entry.config);
    } catch (error) {
      this.connectorFailed(entry, error);
      return;
    }
    for (let task = 0; task < entry.taskConfigs.length; task++) await this.startTask(entry, task);
  }

  private async stopAll(entry: ConnectorEntry): Promise<void> {
    for (const id of [...entry.tasks.keys()]) await this.stopTask(entry, id);
    entry.tasks.clear();
    await this.stopConnectorInstance(entry);
  }

  private async startConnectorInstance(entry: ConnectorEntry): Promise<boolean> {
    const generation = ++entry.generation;
    try {
      entry.running = await this.worker.startConnector(entry.name, entry.config, {
        requestTaskReconfiguration: () => void this.reconfigure(entry.name, generation),
        raiseError: (error) => {
          if (entry.generation === generation) this.connectorFailed(entry, error);
        },
      });
      entry.status = { state: entry.target === 'PAUSED' ? 'PAUSED' : 'RUNNING', workerId: this.workerId };
      return true;
    } catch (error) {
      this.connectorFailed(entry, error);
      return false;
    }
  }

  private connectorFailed(entry: ConnectorEntry, error: unknown): void {
    entry.status = { state: 'FAILED', workerId: this.workerId, trace: traceOf(error) };
    this.worker.log.error(`connector ${entry.name} failed: ${(error as Error).message ?? String(error)}`);
  }

  private async stopConnectorInstance(entry: ConnectorEntry): Promise<void> {
    const running = entry.running;
    entry.running = null;
    entry.generation += 1;
    if (running === null) return;
    try {
      await running.connector.stop();
    } catch (error) {
      this.worker.log.error(`connector ${entry.name} failed to stop: ${(error as Error).message}`);
    }
    entry.status = { state: 'UNASSIGNED', workerId: this.workerId };
  }

  private reconfigure(name: string, generation: number): void {
    void this.serially(async () => {
      const entry = this.connectors.get(name);
      if (entry === undefined || entry.generation !== generation || entry.running === null) return;
      const configs = await this.worker.taskConfigs(entry.running, entry.config);
      if (JSON.stringify(configs) === JSON.stringify(entry.taskConfigs)) return;
      for (const id of [...entry.tasks.keys()]) await this.stopTask(entry, id);
      entry.tasks.clear();
      entry.taskConfigs = configs;
      for (let task = 0; task < configs.length; task++) await this.startTask(entry, task);
    }).catch((error: unknown) => {
      const entry = this.connectors.get(name);
      if (entry !== undefined) this.connectorFailed(entry, error);
    });
  }

  private async startTask(entry: ConnectorEntry, task: number): Promise<void> {
    const id: TaskId = { connector: entry.name, task };
    const slot: TaskEntry = { runner: null, status: { state: 'UNASSIGNED', workerId: this.workerId } };
    entry.tasks.set(task, slot);
    const current = (): boolean => entry.tasks.get(task) === slot;
    const set = (state: State, trace?: string): void => {
      if (current()) slot.status = { state, workerId: this.workerId, ...(trace === undefined ? {} : { trace }) };
    };
    const listener: StatusListener = {
      onRunning: () => set(entry.target === 'PAUSED' ? 'PAUSED' : 'RUNNING'),
      onPaused: () => set('PAUSED'),
      onStopped: () => set('UNASSIGNED'),
      onFailure: (error) => {
        set('FAILED', traceOf(error));
        this.worker.log.error(`task ${entry.name}-${task} failed: ${(error as Error)?.message ?? String(error)}`);
      },
      onTopicActive: (topic) => {
        if (!this.worker.config.topicTracking.enabled || !current()) return;
        let topics = this.activeTopics.get(entry.name);
        if (topics === undefined) this.activeTopics.set(entry.name, (topics = new Set()));
        topics.add(topic);
      },
    };
    try {
      slot.runner = await this.worker.startTask(id, entry.config, entry.taskConfigs[task]!, listener);
      if (entry.target === 'PAUSED') slot.runner.pause();
    } catch (error) {
      listener.onFailure(error);
    }
  }

  private async stopTask(entry: ConnectorEntry, task: number): Promise<void> {
    const slot = entry.tasks.get(task);
    if (slot?.runner === null || slot === undefined) return;
    const runner = slot.runner;
    slot.runner = null;
    try {
      await runner.stop();
    } catch (error) {
      this.worker.log.error(`task ${entry.name}-${task} failed to stop: ${(error as Error).message}`);
    }
  }
}

