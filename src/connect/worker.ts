/**
 * The mechanics of running connectors and tasks on one worker (Kafka's Worker): it instantiates
 * a connector from its plugin and starts it, asks it for task configs, and runs each task with
 * its converters, transforms, error handling and clients. Which connectors and tasks run, and in
 * what target state, is the herder's business (StandaloneHerder).
 */
import { ConnectError } from '../errors.js';
import { SinkConnector, SourceConnector, type Props, type SinkTask, type SourceTask } from './api.js';
import { clientIdFor, type Cluster, type ClusterProducer } from './cluster.js';
import { CONNECTOR_CLASS_CONFIG, DLQ_CONTEXT_HEADERS_CONFIG, DLQ_TOPIC_CONFIG, ERRORS_LOG_ENABLE_CONFIG, ERRORS_TOLERANCE_CONFIG, sinkTopics, TASKS_MAX_CONFIG } from './connector-config.js';
import { connectorConverters, SIMPLE_HEADER_CONVERTER } from './converter-set.js';
import { ErrorHandler } from './error-handler.js';
import type { OffsetStore } from './offset-store.js';
import type { Plugins } from './plugins.js';
import type { StatusListener, TaskId } from './status.js';
import { TopicCreator, topicCreationGroups, usesTopicCreation } from './topic-creation.js';
import { buildTransformChain } from './transforms.js';
import { SinkTaskRunner } from './worker-sink-task.js';
import { SourceTaskRunner } from './worker-source-task.js';
import { JSON_CONVERTER, type WorkerConfig } from './worker-config.js';

export type ConnectorType = 'source' | 'sink';

export interface RunningConnector {
  readonly connector: SourceConnector | SinkConnector;
  readonly type: ConnectorType;
}

export interface RunningTask {
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface WorkerLogger {
  info(line: string): void;
  error(line: string): void;
}

/** Makes the transactional producer and runner of an exactly-once source task; installed by the exactly-once module. */
export type ExactlyOnceRunnerFactory = (args: {
  setup: ConstructorParameters<typeof SourceTaskRunner>[0];
  transactionalId: string;
}) => Promise<RunningTask & { start(): void }>;

export class Worker {
  private producer: Promise<ClusterProducer> | null = null;
  /** Set when the worker runs source tasks exactly once (exactly.once.source.support=enabled). */
  exactlyOnce: ExactlyOnceRunnerFactory | null = null;

  constructor(
    /** host:port of the worker's REST API; set once it listens, before any connector starts. */
    public workerId: string,
    readonly config: WorkerConfig,
    readonly cluster: Cluster,
    readonly plugins: Plugins,
    readonly offsets: OffsetStore,
    readonly log: WorkerLogger,
  ) {}

  /** Instantiates the connector's plugin, sets its context and starts it. */
  async startConnector(name: string, props: Props, context: { requestTaskReconfiguration(): void; raiseError(error: Error): void }): Promise<RunningConnector> {
    const connector = this.plugins.newConnector(props[CONNECTOR_CLASS_CONFIG]!);
    connector.context = context;
    await connector.start(props);
    this.log.info(`started connector ${name}`);
    return { connector, type: connector instanceof SourceConnector ? 'source' : 'sink' };
  }

  async taskConfigs(running: RunningConnector, props: Props): Promise<Props[]> {
    const maxTasks = Number(props[TASKS_MAX_CONFIG] ?? '1');
    const configs = await running.connector.taskConfigs(maxTasks);
    if (configs.length > maxTasks) {
      throw new ConnectError(`connector ${props.name} generated ${configs.length} task configs, more than its tasks.max of ${maxTasks}`);
    }
    return configs;
  }

  /** Starts one task of a connector; its state changes go to `listener`. */
  async startTask(id: TaskId, connectorProps: Props, taskConfig: Props, listener: StatusListener): Promise<RunningTask> {
    const running = this.plugins.newConnector(connectorProps[CONNECTOR_CLASS_CONFIG]!);
    const taskClass = running.taskClass();
    const task = new taskClass();
    const converters = await connectorConverters(this.plugins, this.config.props, connectorProps, { key: JSON_CONVERTER, value: JSON_CONVERTER, header: SIMPLE_HEADER_CONVERTER });
    const transforms = buildTransformChain(connectorProps, (className) => this.plugins.newTransformation(className), (className) => this.plugins.newPredicate(className));
    const tolerance = connectorProps[ERRORS_TOLERANCE_CONFIG] === 'all' ? 'all' : 'none';
    const dlqTopic = (connectorProps[DLQ_TOPIC_CONFIG] ?? '').trim();
    const logErrors = connectorProps[ERRORS_LOG_ENABLE_CONFIG] === 'true';
    const log = (line: string): void => this.log.error(line);
    if (running instanceof SourceConnector) {
      const errors = new ErrorHandler({ id, tolerance, logErrors, deadLetterQueue: null, log });
      const setup = {
        id,
        task: task as SourceTask,
        taskConfig,
        converters,
        transforms,
        errors,
        offsets: this.offsets,
        listener,
        offsetFlushIntervalMs: this.config.offsetFlushIntervalMs,
        topicCreator: usesTopicCreation(this.config.topicCreationEnabled, connectorProps) ? new TopicCreator(this.cluster, topicCreationGroups(connectorProps)) : null,
      };
      if (this.exactlyOnce !== null) {
        const runner = await this.exactlyOnce({ setup, transactionalId: `${this.config.props['group.id'] ?? 'connect'}-${id.connector}-${id.task}` });
        runner.start();
        return runner;
      }
      const runner = new SourceTaskRunner(setup, await this.sharedProducer());
      runner.start();
      return runner;
    }
    const deadLetterQueue =
      dlqTopic === '' ? null : { topic: dlqTopic, producer: await this.sharedProducer(), contextHeaders: connectorProps[DLQ_CONTEXT_HEADERS_CONFIG] === 'true' };
    if (dlqTopic !== '') await this.cluster.ensureTopic(dlqTopic, {});
    const errors = new ErrorHandler({ id, tolerance, logErrors, deadLetterQueue, log });
    // Kafka's consumers create the topics they subscribe to (allow.auto.create.topics), so a sink may start before its source wrote.
    const topics = sinkTopics(connectorProps);
    if (Array.isArray(topics)) for (const topic of topics) await this.cluster.ensureTopic(topic, {});
    const consumer = await this.cluster.consumer({
      groupId: `connect-${id.connector}`,
      clientId: clientIdFor(`consumer-${id.connector}-${id.task}`),
      sessionTimeoutMs: this.config.consumerSessionTimeoutMs,
      heartbeatIntervalMs: this.config.consumerHeartbeatIntervalMs,
    });
    const runner = new SinkTaskRunner({
      id,
      task: task as SinkTask,
      taskConfig,
      topics,
      converters,
      transforms,
      errors,
      consumer,
      listener,
      offsetFlushIntervalMs: this.config.offsetFlushIntervalMs,
    });
    runner.start();
    return runner;
  }

  /** One idempotent producer shared by the worker's source tasks and dead letter queues, as acks=all. */
  private sharedProducer(): Promise<ClusterProducer> {
    this.producer ??= this.cluster.producer({ clientId: clientIdFor(`producer-${this.workerId}`) });
    return this.producer;
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await (await producer)?.close();
  }
}
