/**
 * A standalone worker (Kafka's ConnectStandalone): one process running the connectors of the
 * properties files it is given, source offsets in a local file (offset.storage.file.filename),
 * the REST API on 127.0.0.1:8083 unless told otherwise. With exactly.once.source.support=enabled
 * (which Kafka offers in distributed mode only) source offsets live in offset.storage.topic
 * instead, written in the same transactions as the records.
 */
import { ConnectError } from '../errors.js';
import type { Props } from './api.js';
import { EmbeddedCluster, KafkaCluster, type Cluster } from './cluster.js';
import { NAME_CONFIG } from './connector-config.js';
import { StandaloneHerder } from './herder.js';
import { exactlyOnceRunners } from './exactly-once.js';
import { FileOffsetStore, TopicOffsetStore, type OffsetStore } from './offset-store.js';
import { Plugins } from './plugins.js';
import { startRestServer, type RunningRestServer } from './rest-server.js';
import { Worker, type WorkerLogger } from './worker.js';
import { STANDALONE_CONFIG_DEF, workerConfig, type WorkerConfig } from './worker-config.js';

export interface StandaloneOptions {
  readonly workerProps: Props;
  /** One properties map per connector to start, each with its `name`. */
  readonly connectorProps?: readonly Props[];
  /** Where npm packages named in plugin.path are resolved from. Default: the current directory. */
  readonly baseDir?: string;
  readonly log: WorkerLogger;
}

export interface StandaloneWorker {
  readonly herder: StandaloneHerder;
  readonly rest: RunningRestServer;
  /** Stops every connector (offsets flushed), the REST API and the broker connection. */
  close(): Promise<void>;
}

/** The embedded broker of `data.dir`, or the brokers of bootstrap.servers. */
export async function openCluster(config: WorkerConfig, log: WorkerLogger): Promise<Cluster> {
  if (config.dataDir === null) return KafkaCluster.open(config.bootstrapServers);
  return EmbeddedCluster.open(config.dataDir, { info: log.info, warn: log.error });
}

export async function startStandalone(options: StandaloneOptions): Promise<StandaloneWorker> {
  const config = workerConfig(options.workerProps, STANDALONE_CONFIG_DEF());
  const plugins = new Plugins();
  await plugins.load(config.pluginPackages, options.baseDir ?? process.cwd());
  const offsetsFile = config.parsed['offset.storage.file.filename'] as string | null;
  if (!config.exactlyOnceSource && offsetsFile === null) {
    throw new ConnectError('Missing required configuration "offset.storage.file.filename" which has no default value. (A standalone worker keeps source offsets there unless exactly.once.source.support=enabled.)');
  }
  const cluster = await openCluster(config, options.log);
  let offsets: OffsetStore;
  let topicStore: TopicOffsetStore | null = null;
  if (config.exactlyOnceSource) {
    offsets = topicStore = new TopicOffsetStore(cluster, config.parsed['offset.storage.topic'] as string, config.parsed['offset.storage.partitions'] as number);
  } else {
    offsets = new FileOffsetStore(offsetsFile!);
  }
  try {
    await offsets.start();
  } catch (error) {
    await cluster.close();
    throw error;
  }
  const worker = new Worker('', config, cluster, plugins, offsets, options.log);
  if (topicStore !== null) worker.exactlyOnce = exactlyOnceRunners(cluster, topicStore);
  const herder = new StandaloneHerder(worker);
  let rest: RunningRestServer | null = null;
  const close = async (): Promise<void> => {
    await herder.close();
    await rest?.close();
    await worker.close();
    await cluster.close();
  };
  try {
    rest = await startRestServer(herder, config.rest, await cluster.clusterId());
    worker.workerId = `${rest.host}:${rest.port}`;
    for (const props of options.connectorProps ?? []) {
      const name = props[NAME_CONFIG];
      if (name === undefined || name.trim() === '') throw new ConnectError('a connector properties file has no "name"; every connector needs a unique name');
      await herder.putConnectorConfig(name, props, false);
    }
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { herder, rest, close };
}
