/**
 * Distributed workers (Kafka's DistributedHerder): workers with the same group.id form a group
 * through the Kafka group protocol (ConnectGroupMember, protocol type "connect"); its leader
 * assigns connectors and tasks round robin, and every rebalance is eager: each worker stops what
 * it ran and starts what it was given. The state lives in compacted topics, as Kafka's:
 *
 *   config.storage.topic (connect-configs, one partition): connector-<name> {"properties"},
 *     task-<name>-<n> {"properties"}, commit-<name> {"tasks"}, target-state-<name> {"state"},
 *     restart-connector-<name> {"include-tasks", "only-failed"}; a null connector-<name> deletes.
 *   status.storage.topic (connect-status): status-connector-<name>, status-task-<name>-<n>
 *     {"state", "trace", "worker_id", "generation"}; status-topic-<topic>:connector-<name>
 *     {"topic": {"name", "connector", "task", "discoverTimestamp"}} (KIP-558's active topics).
 *   offset.storage.topic (connect-offsets): source offsets (TopicOffsetStore).
 *
 * Every worker tails the configs and statuses, so any of them answers reads; writes go to the
 * leader, as Kafka forwards them, which writes the configs topic. The worker running a connector
 * writes its task configs; a change of connectors or tasks makes the leader rebalance the group.
 * Workers need a broker they all reach: bootstrap.servers (an embedded data directory belongs to
 * one process).
 */
import { ConnectError, ConnectRestError } from '../errors.js';
import { activeTopicsInfo, requireTopicTracking, type ActiveTopicsInfo } from './active-topics.js';
import type { Props } from './api.js';
import { clientIdFor, KafkaCluster, type ClusterProducer, type IncomingRecord, type TopicTail } from './cluster.js';
import { CONNECTOR_CLASS_CONFIG, NAME_CONFIG, patchConfig } from './connector-config.js';
import { modifyConnectorOffsets, requireStopped, type OffsetEntries } from './connector-offsets.js';
import { checkName, invalidConfigError, pluginConfigDefinitions, pluginInfos, validateConnectorConfig, type PluginInfo } from './connector-validation.js';
import { exactlyOnceRunners } from './exactly-once.js';
import { ConnectGroupMember } from './group-member.js';
import type { ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, StateInfo, TargetState } from './herder.js';
import type { ConfigInfos } from './config-def.js';
import { TopicOffsetStore } from './offset-store.js';
import { Plugins } from './plugins.js';
import { startRestServer, type RunningRestServer } from './rest-server.js';
import { traceOf, type State, type StatusListener, type TaskId } from './status.js';
import { Worker, type ConnectorType, type RunningConnector, type RunningTask, type WorkerLogger } from './worker.js';
import { DISTRIBUTED_CONFIG_DEF, workerConfig } from './worker-config.js';

interface Assignment {
  leader: string;
  leaderUrl: string;
  connectors: string[];
  tasks: TaskId[];
}

interface StatusRecord {
  state: State;
  trace: string | null;
  worker_id: string;
  generation: number;
}

const taskKey = (connector: string, task: number): string => `${connector}-${task}`;
const TOPIC_STATUS_PREFIX = 'status-topic-';
const TOPIC_STATUS_SEPARATOR = ':connector-';
const topicStatusKey = (topic: string, connector: string): string => `${TOPIC_STATUS_PREFIX}${topic}${TOPIC_STATUS_SEPARATOR}${connector}`;

/** `<prefix><name>-<n>`: the name may hold dashes, the task number is after the last one. */
function splitTaskKey(rest: string): TaskId | null {
  const dash = rest.lastIndexOf('-');
  const task = Number(rest.slice(dash + 1));
  return dash === -1 || !Number.isInteger(task) ? null : { connector: rest.slice(0, dash), task };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

export class DistributedHerder {
  private readonly connectorConfigs = new Map<string, Record<string, string>>();
  private readonly taskConfigsByConnector = new Map<string, Props[]>();
  private readonly pendingTasks = new Map<string, Map<number, Props>>();
  private readonly targets = new Map<string, TargetState>();
  private readonly statuses = new Map<string, StatusRecord>();
  /** Per connector, its active topics as the status topic holds them. */
  private readonly activeTopics = new Map<string, Set<string>>();
  private readonly ownConnectors = new Map<string, RunningConnector | null>();
  private readonly ownTasks = new Map<string, RunningTask | null>();
  private assignment: Assignment | null = null;
  private memberId = '';
  private generation = -1;
  /** Status writes not yet acknowledged (they are sent without waiting, from task callbacks). */
  private readonly statusWrites = new Set<Promise<void>>();
  private queue: Promise<unknown> = Promise.resolve();
  member: ConnectGroupMember | null = null;
  configTail: TopicTail | null = null;
  statusTail: TopicTail | null = null;

  constructor(
    readonly worker: Worker,
    private readonly producer: ClusterProducer,
    private readonly configTopic: string,
    private readonly statusTopic: string,
    private readonly url: () => string,
  ) {}

  get workerId(): string {
    return this.worker.workerId;
  }

  private get isLeader(): boolean {
    return this.assignment !== null && this.assignment.leader === this.memberId;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch((error: unknown) => this.worker.log.error(`distributed herder: ${(error as Error).message}`));
    return next;
  }

  // ---- the topics -----------------------------------------------------------------------------

  /** A record's JSON value; null for a tombstone, undefined (logged) for one this worker cannot read. */
  private valueOf(topic: string, key: string, record: IncomingRecord): Record<string, unknown> | null | undefined {
    if (record.value === null) return null;
    try {
      return JSON.parse(record.value.toString('utf8')) as Record<string, unknown>;
    } catch (error) {
      this.worker.log.error(`skipping record ${key} at offset ${record.offset} of ${topic}: not JSON (${(error as Error).message})`);
      return undefined;
    }
  }

  applyConfig(record: IncomingRecord): void {
    const key = record.key?.toString('utf8') ?? '';
    const value = this.valueOf(this.configTopic, key, record);
    if (value === undefined) return;
    let rebalance = false;
    if (key.startsWith('connector-')) {
      const name = key.slice('connector-'.length);
      if (value === null) {
        this.connectorConfigs.delete(name);
        this.taskConfigsByConnector.delete(name);
        this.targets.delete(name);
      } else {
        this.connectorConfigs.set(name, value.properties as Record<string, string>);
      }
      rebalance = true;
    } else if (key.startsWith('task-') && value !== null) {
      const id = splitTaskKey(key.slice('task-'.length));
      if (id !== null) {
        const pending = this.pendingTasks.get(id.connector) ?? new Map<number, Props>();
        pending.set(id.task, value.properties as Props);
        this.pendingTasks.set(id.connector, pending);
      }
    } else if (key.startsWith('commit-') && value !== null) {
      const name = key.slice('commit-'.length);
      const pending = this.pendingTasks.get(name) ?? new Map<number, Props>();
      this.taskConfigsByConnector.set(name, Array.from({ length: value.tasks as number }, (_, task) => pending.get(task) ?? {}));
      this.pendingTasks.delete(name);
      rebalance = true;
    } else if (key.startsWith('target-state-') && value !== null) {
      const name = key.slice('target-state-'.length);
      const before = this.targets.get(name) ?? 'STARTED';
      const after = value.state as TargetState;
      this.targets.set(name, after);
      if (before === 'STOPPED' || after === 'STOPPED') rebalance = true;
      else if (before !== after) void this.serially(() => this.applyTargetState(name, after));
    } else if (key.startsWith('restart-connector-') && value !== null) {
      const name = key.slice('restart-connector-'.length);
      void this.serially(() => this.restartOwned(name, value['include-tasks'] === true, value['only-failed'] === true));
    }
    if (rebalance && this.isLeader) this.member?.requestRejoin();
  }

  applyStatus(record: IncomingRecord): void {
    const key = record.key?.toString('utf8') ?? '';
    const value = this.valueOf(this.statusTopic, key, record);
    if (key.startsWith(TOPIC_STATUS_PREFIX)) {
      // Kafka's topic names hold no ':', so the first separator ends the topic.
      const separator = key.indexOf(TOPIC_STATUS_SEPARATOR);
      if (separator === -1 || value === undefined) return;
      const topic = key.slice(TOPIC_STATUS_PREFIX.length, separator);
      const connector = key.slice(separator + TOPIC_STATUS_SEPARATOR.length);
      if (value === null) this.activeTopics.get(connector)?.delete(topic);
      else this.rememberTopic(connector, topic);
      return;
    }
    if (value === null) this.statuses.delete(key);
    else if (value !== undefined) this.statuses.set(key, value as unknown as StatusRecord);
  }

  private async writeConfig(entries: { key: string; value: unknown }[]): Promise<void> {
    await this.producer.send(entries.map(({ key, value }) => ({ topic: this.configTopic, partition: 0, key: Buffer.from(key), value: value === null ? null : json(value), headers: {}, timestamp: null })));
    await this.configTail!.readToEnd();
  }

  private rememberTopic(connector: string, topic: string): boolean {
    let topics = this.activeTopics.get(connector);
    if (topics === undefined) this.activeTopics.set(connector, (topics = new Set()));
    if (topics.has(topic)) return false;
    topics.add(topic);
    return true;
  }

  /** The first use of a topic by a task since the last reset becomes a record every worker reads. */
  private recordActiveTopic(id: TaskId, topic: string): void {
    if (!this.worker.config.topicTracking.enabled || !this.rememberTopic(id.connector, topic)) return;
    const value = { topic: { name: topic, connector: id.connector, task: id.task, discoverTimestamp: Date.now() } };
    void this.producer.send([{ topic: this.statusTopic, partition: null, key: Buffer.from(topicStatusKey(topic, id.connector)), value: json(value), headers: {}, timestamp: null }]).catch((failure: unknown) => {
      this.worker.log.error(`could not record active topic ${topic} of ${id.connector}: ${(failure as Error).message}`);
    });
  }

  private writeStatus(key: string, state: State, error?: unknown): void {
    const value: StatusRecord = { state, trace: error === undefined ? null : traceOf(error), worker_id: this.workerId, generation: this.generation };
    this.statuses.set(key, value);
    const write = this.producer
      .send([{ topic: this.statusTopic, partition: null, key: Buffer.from(key), value: json(value), headers: {}, timestamp: null }])
      .catch((failure: unknown) => {
        this.worker.log.error(`could not write status ${key}: ${(failure as Error).message}`);
      })
      .finally(() => this.statusWrites.delete(write));
    this.statusWrites.add(write);
  }

  /** Waits for the status writes sent so far, so a stopping worker's last statuses reach the topic before its producer closes. */
  async flushStatuses(): Promise<void> {
    await Promise.all([...this.statusWrites]);
  }

  /**
   * Kafka's putSafe: a worker giving up a connector or task says so (UNASSIGNED) unless another
   * worker already wrote a status in a later generation (it runs it now).
   */
  private writeStatusSafely(key: string, state: State): void {
    const current = this.statuses.get(key);
    if (current !== undefined && current.worker_id !== this.workerId && current.generation > this.generation) return;
    this.writeStatus(key, state);
  }

  // ---- the group --------------------------------------------------------------------------------

  metadata(): Buffer {
    return json({ url: this.url() });
  }

  /** Round robin over the members in id order: connectors first, then tasks, as Kafka's eager assignor. */
  assign(members: readonly { memberId: string; metadata: Buffer }[], leaderId: string): Map<string, Buffer> {
    const ids = members.map((member) => member.memberId).sort();
    const urls = new Map(members.map((member) => [member.memberId, (JSON.parse(member.metadata.toString('utf8')) as { url: string }).url]));
    const plans = new Map(ids.map((id) => [id, { leader: leaderId, leaderUrl: urls.get(leaderId) ?? '', connectors: [] as string[], tasks: [] as TaskId[] }]));
    let next = 0;
    for (const name of [...this.connectorConfigs.keys()].sort()) plans.get(ids[next++ % ids.length]!)!.connectors.push(name);
    for (const name of [...this.connectorConfigs.keys()].sort()) {
      const tasks = this.taskConfigsByConnector.get(name) ?? [];
      for (let task = 0; task < tasks.length; task++) plans.get(ids[next++ % ids.length]!)!.tasks.push({ connector: name, task });
    }
    return new Map([...plans].map(([id, plan]) => [id, json(plan)]));
  }

  /** Eager: before rejoining, everything this worker runs stops (source offsets flushed, sink offsets committed). */
  revoke(): Promise<void> {
    return this.serially(async () => {
      for (const [key, task] of [...this.ownTasks]) {
        this.ownTasks.delete(key);
        await task?.stop().catch((error: unknown) => this.worker.log.error(`task ${key} failed to stop: ${(error as Error).message}`));
      }
      for (const [name, running] of [...this.ownConnectors]) {
        this.ownConnectors.delete(name);
        await Promise.resolve(running?.connector.stop()).catch(() => {});
        if (running !== null) this.writeStatusSafely(`status-connector-${name}`, 'UNASSIGNED');
      }
    });
  }

  /**
   * Takes the new assignment and starts its work in the background: the group member goes back to
   * heartbeating at once, however long the tasks take to start (a sink's consumer joining its own
   * group, for one).
   */
  assigned(bytes: Buffer, generation: number, memberId: string): Promise<void> {
    this.memberId = memberId;
    this.generation = generation;
    const assignment = JSON.parse(bytes.toString('utf8')) as Assignment;
    this.assignment = assignment;
    void this.serially(async () => {
      await this.configTail!.readToEnd();
      this.worker.log.info(`joined group generation ${generation}: connectors [${assignment.connectors.join(', ')}], tasks [${assignment.tasks.map((id) => taskKey(id.connector, id.task)).join(', ')}]`);
      for (const name of assignment.connectors) await this.startConnector(name);
      for (const id of assignment.tasks) await this.startTask(id);
    });
    return Promise.resolve();
  }

  private async startConnector(name: string): Promise<void> {
    const config = this.connectorConfigs.get(name);
    const target = this.targets.get(name) ?? 'STARTED';
    if (config === undefined || target === 'STOPPED') {
      if (config !== undefined) this.writeStatus(`status-connector-${name}`, 'STOPPED');
      return;
    }
    try {
      const running = await this.worker.startConnector(name, config, {
        requestTaskReconfiguration: () => void this.serially(() => this.reconfigure(name)),
        raiseError: (error) => this.writeStatus(`status-connector-${name}`, 'FAILED', error),
      });
      this.ownConnectors.set(name, running);
      this.writeStatus(`status-connector-${name}`, target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
      await this.reconfigure(name);
    } catch (error) {
      this.ownConnectors.set(name, null);
      this.writeStatus(`status-connector-${name}`, 'FAILED', error);
    }
  }

  /** The owner of a connector writes its task configs when they changed; the commit makes the leader rebalance. */
  private async reconfigure(name: string): Promise<void> {
    const running = this.ownConnectors.get(name);
    const config = this.connectorConfigs.get(name);
    if (running === undefined || running === null || config === undefined) return;
    const configs = await this.worker.taskConfigs(running, config);
    if (JSON.stringify(configs) === JSON.stringify(this.taskConfigsByConnector.get(name) ?? null)) return;
    await this.writeConfig([...configs.map((properties, task) => ({ key: `task-${name}-${task}`, value: { properties } })), { key: `commit-${name}`, value: { tasks: configs.length } }]);
  }

  private async startTask(id: TaskId): Promise<void> {
    const config = this.connectorConfigs.get(id.connector);
    const taskConfig = this.taskConfigsByConnector.get(id.connector)?.[id.task];
    const key = taskKey(id.connector, id.task);
    const statusKey = `status-task-${key}`;
    if (config === undefined || taskConfig === undefined) return;
    const listener: StatusListener = {
      onRunning: () => this.writeStatus(statusKey, this.targets.get(id.connector) === 'PAUSED' ? 'PAUSED' : 'RUNNING'),
      onPaused: () => this.writeStatus(statusKey, 'PAUSED'),
      onStopped: () => this.writeStatusSafely(statusKey, 'UNASSIGNED'),
      onFailure: (error) => {
        this.writeStatus(statusKey, 'FAILED', error);
        this.worker.log.error(`task ${key} failed: ${(error as Error)?.message ?? String(error)}`);
      },
      onTopicActive: (topic) => this.recordActiveTopic(id, topic),
    };
    try {
      const runner = await this.worker.startTask(id, config, taskConfig, listener);
      this.ownTasks.set(key, runner);
      if (this.targets.get(id.connector) === 'PAUSED') runner.pause();
    } catch (error) {
      this.ownTasks.set(key, null);
      listener.onFailure(error);
    }
  }

  private async applyTargetState(name: string, target: TargetState): Promise<void> {
    if (this.ownConnectors.get(name)) this.writeStatus(`status-connector-${name}`, target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
    for (const [key, task] of this.ownTasks) {
      if (task === null || splitTaskKey(key)?.connector !== name) continue;
      if (target === 'PAUSED') task.pause();
      else task.resume();
    }
  }

  private async restartOwned(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<void> {
    const failed = (key: string): boolean => this.statuses.get(key)?.state === 'FAILED';
    if (this.ownConnectors.has(name) && (!onlyFailed || failed(`status-connector-${name}`))) {
      const running = this.ownConnectors.get(name);
      this.ownConnectors.delete(name);
      await Promise.resolve(running?.connector.stop()).catch(() => {});
      await this.startConnector(name);
    }
    if (!includeTasks) return;
    for (const [key, task] of [...this.ownTasks]) {
      const id = splitTaskKey(key);
      if (id === null || id.connector !== name || (onlyFailed && !failed(`status-task-${key}`))) continue;
      this.ownTasks.delete(key);
      await task?.stop().catch(() => {});
      await this.startTask(id);
    }
  }

  // ---- what the REST API asks -------------------------------------------------------------------

  connectorNames(): string[] {
    return [...this.connectorConfigs.keys()].sort();
  }

  private configOf(name: string): Record<string, string> {
    const config = this.connectorConfigs.get(name);
    if (config === undefined) throw new ConnectRestError(404, `Connector ${name} not found`);
    return config;
  }

  private typeOf(config: Props): ConnectorType {
    return this.worker.plugins.connector(config[CONNECTOR_CLASS_CONFIG]!).type === 'sink' ? 'sink' : 'source';
  }

  connectorInfo(name: string): ConnectorInfo {
    const config = this.configOf(name);
    return { name, config: { ...config }, tasks: (this.taskConfigsByConnector.get(name) ?? []).map((_, task) => ({ connector: name, task })), type: this.typeOf(config) };
  }

  connectorConfig(name: string): Record<string, string> {
    return { ...this.configOf(name) };
  }

  private stateOf(key: string): StateInfo {
    const status = this.statuses.get(key);
    if (status === undefined) return { state: 'UNASSIGNED', worker_id: '' };
    return { state: status.state, worker_id: status.worker_id, ...(status.trace === null ? {} : { trace: status.trace }) };
  }

  connectorStatus(name: string): ConnectorStateInfo {
    const config = this.configOf(name);
    const tasks = (this.taskConfigsByConnector.get(name) ?? []).map((_, task) => ({ id: task, ...this.stateOf(`status-task-${taskKey(name, task)}`) }));
    return { name, connector: this.stateOf(`status-connector-${name}`), tasks, type: this.typeOf(config) };
  }

  taskStatus(name: string, task: number): StateInfo & { id: number } {
    this.configOf(name);
    if (task >= (this.taskConfigsByConnector.get(name)?.length ?? 0)) throw new ConnectRestError(404, `Task ${name}-${task} not found`);
    return { id: task, ...this.stateOf(`status-task-${taskKey(name, task)}`) };
  }

  taskConfigs(name: string): { id: { connector: string; task: number }; config: Props }[] {
    this.configOf(name);
    return (this.taskConfigsByConnector.get(name) ?? []).map((config, task) => ({ id: { connector: name, task }, config: { ...config } }));
  }

  async connectorOffsets(name: string): Promise<ConnectorOffsets> {
    const config = this.configOf(name);
    if (this.typeOf(config) === 'source') {
      await this.worker.offsets.catchUp();
      return { offsets: this.worker.offsets.connectorOffsets(name).map(({ partition, offset }) => ({ partition: { ...partition }, offset: { ...offset } })) };
    }
    const committed = await this.worker.cluster.committedOffsets(`connect-${name}`);
    return { offsets: committed.map(({ topic, partition, offset }) => ({ partition: { kafka_topic: topic, kafka_partition: partition }, offset: { kafka_offset: offset } })) };
  }

  /** KIP-875: the leader alters (entries) or resets (null) the offsets of a STOPPED connector. */
  async modifyConnectorOffsets(name: string, entries: OffsetEntries | null): Promise<{ message: string }> {
    this.configOf(name);
    if (!this.isLeader) return this.forward<{ message: string }>(entries === null ? 'DELETE' : 'PATCH', this.path(name, '/offsets'), entries === null ? undefined : { offsets: entries });
    return this.serially(async () => {
      const config = this.configOf(name);
      requireStopped(name, this.targets.get(name) === 'STOPPED' && (this.taskConfigsByConnector.get(name)?.length ?? 0) === 0);
      return modifyConnectorOffsets(this.worker, name, config, this.typeOf(config), entries);
    });
  }

  connectorActiveTopics(name: string): ActiveTopicsInfo {
    requireTopicTracking(this.worker.config, false);
    return activeTopicsInfo(name, this.activeTopics.get(name) ?? []);
  }

  /** Any worker writes the tombstones, as Kafka's; every worker forgets the topics as it reads them. */
  async resetConnectorActiveTopics(name: string): Promise<void> {
    requireTopicTracking(this.worker.config, true);
    await this.forgetActiveTopics(name);
  }

  private async forgetActiveTopics(name: string): Promise<void> {
    const topics = [...(this.activeTopics.get(name) ?? [])];
    if (topics.length === 0) return;
    await this.producer.send(topics.map((topic) => ({ topic: this.statusTopic, partition: null, key: Buffer.from(topicStatusKey(topic, name)), value: null, headers: {}, timestamp: null })));
    await this.statusTail?.readToEnd();
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

  /** Kafka forwards writes to the leader, which alone writes the configs topic; so does this worker. */
  private async forward<T>(method: string, path: string, body?: unknown): Promise<T> {
    const leaderUrl = this.assignment?.leaderUrl;
    if (leaderUrl === undefined || leaderUrl === '') {
      throw new ConnectRestError(409, 'Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.');
    }
    const response = await fetch(`${leaderUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text === '' ? null : (JSON.parse(text) as unknown);
    if (response.status >= 400) throw new ConnectRestError(response.status, (parsed as { message?: string } | null)?.message ?? `leader answered ${response.status}`);
    return parsed as T;
  }

  private path(name: string, suffix = ''): string {
    return `/connectors/${encodeURIComponent(name)}${suffix}`;
  }

  async putConnectorConfig(name: string, config: Record<string, string>, allowReplace: boolean): Promise<{ created: boolean; info: ConnectorInfo }> {
    checkName(name);
    if (config[NAME_CONFIG] !== undefined && config[NAME_CONFIG] !== name) {
      throw new ConnectRestError(400, `Connector name configuration (${config[NAME_CONFIG]}) doesn't match connector name in the URL (${name})`);
    }
    const full: Record<string, string> = { ...config, [NAME_CONFIG]: name };
    const infos = this.validate(full);
    if (infos.error_count > 0) throw invalidConfigError(infos);
    if (!this.isLeader) {
      const existed = this.connectorConfigs.has(name);
      if (!allowReplace) return { created: true, info: await this.forward<ConnectorInfo>('POST', '/connectors', { name, config }) };
      const info = await this.forward<ConnectorInfo>('PUT', this.path(name, '/config'), config);
      return { created: !existed, info };
    }
    return this.serially(async () => {
      const existed = this.connectorConfigs.has(name);
      if (existed && !allowReplace) throw new ConnectRestError(409, `Connector ${name} already exists`);
      await this.writeConfig([
        { key: `connector-${name}`, value: { properties: full } },
        ...(existed ? [] : [{ key: `target-state-${name}`, value: { state: 'STARTED' } }]),
      ]);
      return { created: !existed, info: this.connectorInfo(name) };
    });
  }

  /** KIP-477: the leader merges the patch into the config it holds (a null removes a setting) and writes it as a PUT would. */
  async patchConnectorConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    this.configOf(name);
    if (!this.isLeader) return this.forward<ConnectorInfo>('PATCH', this.path(name, '/config'), patch);
    return (await this.putConnectorConfig(name, patchConfig(this.configOf(name), patch), true)).info;
  }

  async deleteConnector(name: string): Promise<void> {
    this.configOf(name);
    if (!this.isLeader) return void (await this.forward('DELETE', this.path(name)));
    await this.serially(() => this.writeConfig([{ key: `connector-${name}`, value: null }, { key: `target-state-${name}`, value: null }]));
    // A deleted connector's active topics go with it, as Kafka's onDeletion resets them.
    await this.forgetActiveTopics(name);
  }

  private async setTarget(name: string, state: TargetState, verb: string): Promise<void> {
    this.configOf(name);
    if (!this.isLeader) return void (await this.forward('PUT', this.path(name, `/${verb}`)));
    await this.serially(() =>
      this.writeConfig([
        { key: `target-state-${name}`, value: { state } },
        // KIP-875: a stopped connector keeps no task configs.
        ...(state === 'STOPPED' ? [{ key: `commit-${name}`, value: { tasks: 0 } }] : []),
      ]),
    );
  }

  pauseConnector(name: string): Promise<void> {
    return this.setTarget(name, 'PAUSED', 'pause');
  }

  resumeConnector(name: string): Promise<void> {
    return this.setTarget(name, 'STARTED', 'resume');
  }

  stopConnector(name: string): Promise<void> {
    return this.setTarget(name, 'STOPPED', 'stop');
  }

  async restartConnector(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<ConnectorStateInfo | null> {
    const plan = this.connectorStatus(name);
    if (!this.isLeader) {
      const answer = await this.forward<ConnectorStateInfo | null>('POST', this.path(name, `/restart?includeTasks=${includeTasks}&onlyFailed=${onlyFailed}`));
      return includeTasks || onlyFailed ? answer : null;
    }
    if (!onlyFailed || plan.connector.state === 'FAILED') plan.connector.state = 'RESTARTING';
    if (includeTasks) for (const task of plan.tasks) if (!onlyFailed || task.state === 'FAILED') task.state = 'RESTARTING';
    await this.serially(() => this.writeConfig([{ key: `restart-connector-${name}`, value: { 'include-tasks': includeTasks, 'only-failed': onlyFailed } }]));
    return includeTasks || onlyFailed ? plan : null;
  }

  /** Restarts one task where it runs: here, or on the worker its status names (Kafka forwards it there). */
  async restartTask(name: string, task: number): Promise<void> {
    const owner = this.taskStatus(name, task).worker_id;
    const key = taskKey(name, task);
    if (owner !== this.workerId) {
      if (owner === '') throw new ConnectRestError(409, `Cannot complete request because task ${key} is not assigned to any worker yet`);
      const response = await fetch(`http://${owner}${this.path(name, `/tasks/${task}/restart`)}`, { method: 'POST' });
      if (response.status >= 400) throw new ConnectRestError(response.status, ((await response.json()) as { message?: string }).message ?? `worker ${owner} answered ${response.status}`);
      return;
    }
    await this.serially(async () => {
      if (!this.ownTasks.has(key)) throw new ConnectRestError(409, 'Cannot complete request because of a conflicting operation (e.g. worker rebalance)');
      const running = this.ownTasks.get(key);
      this.ownTasks.delete(key);
      await running?.stop().catch(() => {});
      await this.startTask({ connector: name, task });
    });
  }
}

export interface DistributedWorker {
  readonly herder: DistributedHerder;
  readonly rest: RunningRestServer;
  close(): Promise<void>;
}

export async function startDistributed(options: { workerProps: Props; baseDir?: string; log: WorkerLogger }): Promise<DistributedWorker> {
  const config = workerConfig(options.workerProps, DISTRIBUTED_CONFIG_DEF());
  if (config.dataDir !== null) {
    throw new ConnectError('distributed workers share their topics through a broker they all reach: set bootstrap.servers (e.g. a `sluice serve`), not data.dir');
  }
  const plugins = new Plugins();
  await plugins.load(config.pluginPackages, options.baseDir ?? process.cwd());
  const cluster = await KafkaCluster.open(config.bootstrapServers);
  const parsed = config.parsed;
  const configTopic = parsed['config.storage.topic'] as string;
  const statusTopic = parsed['status.storage.topic'] as string;
  let rest: RunningRestServer | null = null;
  let herder: DistributedHerder | null = null;
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => options.log.error(`closing the worker: ${(error as Error).message}`));
  };
  closers.push(() => cluster.close());
  try {
    await cluster.ensureTopic(configTopic, { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    await cluster.ensureTopic(statusTopic, { partitions: parsed['status.storage.partitions'] as number, configs: { 'cleanup.policy': 'compact' } });
    const offsets = new TopicOffsetStore(cluster, parsed['offset.storage.topic'] as string, parsed['offset.storage.partitions'] as number);
    await offsets.start();
    const worker = new Worker('', config, cluster, plugins, offsets, options.log);
    if (config.exactlyOnceSource) worker.exactlyOnce = exactlyOnceRunners(cluster, offsets);
    closers.push(() => worker.close());
    const producer = await cluster.producer({ clientId: clientIdFor('herder') });
    closers.push(() => producer.close());
    const created = new DistributedHerder(worker, producer, configTopic, statusTopic, () => rest!.url);
    herder = created;
    created.configTail = await cluster.tail(configTopic, (record) => created.applyConfig(record));
    closers.push(() => created.configTail!.close());
    created.statusTail = await cluster.tail(statusTopic, (record) => created.applyStatus(record));
    closers.push(() => created.statusTail!.close());
    await created.configTail.readToEnd();
    await created.statusTail.readToEnd();
    rest = await startRestServer(created, config.rest, await cluster.clusterId());
    closers.push(() => rest!.close());
    worker.workerId = `${rest.host}:${rest.port}`;
    const member = new ConnectGroupMember(
      {
        bootstrapServers: config.bootstrapServers,
        groupId: parsed['group.id'] as string,
        sessionTimeoutMs: parsed['session.timeout.ms'] as number,
        rebalanceTimeoutMs: parsed['rebalance.timeout.ms'] as number,
        heartbeatIntervalMs: parsed['heartbeat.interval.ms'] as number,
      },
      {
        metadata: () => created.metadata(),
        assign: (members, leaderId) => created.assign(members, leaderId),
        revoke: () => created.revoke(),
        assigned: (assignment, generation, memberId) => created.assigned(assignment, generation, memberId),
        error: (error) => options.log.error(`group membership: ${(error as Error).message}`),
      },
    );
    created.member = member;
    // Stop order: leave the group first, then stop the work (offsets flushed, UNASSIGNED written), then the rest.
    closers.push(() => created.flushStatuses());
    closers.push(() => created.revoke());
    closers.push(() => member.stop());
    member.start();
  } catch (error) {
    await close();
    throw error;
  }
  return { herder: herder!, rest: rest!, close };
}
