/**
 * `sluice cluster up|status`: a local ZooKeeper-coordinated cluster for development, and what a
 * cluster's ZooKeeper records.
 *
 *  - up: starts ZooKeeper and --brokers `sluice serve` brokers (ids 1..N, ports --port,
 *    --port+1...) with their data under --dir, prints the bootstrap servers, and runs until
 *    SIGINT or SIGTERM, which stops every broker cleanly and then ZooKeeper.
 *  - status: the controller, live brokers and every partition's leader, epoch, replicas and ISR.
 */
import type { Command } from 'commander';
import { LocalCluster } from '../../cluster/local-cluster.js';
import { readClusterStatus } from '../../cluster/cluster-status.js';
import { integerArg } from '../arguments.js';
import { printJson, printTable, stderrLogger, writeOut } from '../output.js';
import { stopSignal } from './serve.js';

interface UpFlags {
  brokers: number;
  dir: string;
  port: number;
  zookeeperPort: number;
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('a local ZooKeeper-coordinated cluster, and the state of one');

  cluster
    .command('up')
    .description('start ZooKeeper and N brokers on 127.0.0.1 until Ctrl-C')
    .option('--brokers <n>', 'broker count, ids 1..n', integerArg(1, 64), 3)
    .option('--dir <dir>', 'where ZooKeeper and each broker keep their data (kept across runs)', './sluice-cluster')
    .option('--port <port>', "broker 1's port; broker n listens on port+n-1 (0 picks free ports)", integerArg(0, 65_535), 9092)
    .option('--zookeeper-port <port>', "ZooKeeper's client port (0 picks a free one)", integerArg(0, 65_535), 2181)
    .action(async (flags: UpFlags) => {
      const logger = stderrLogger({ info: true });
      const stopRequested = stopSignal();
      const local = await LocalCluster.start({ dir: flags.dir, brokers: flags.brokers, firstPort: flags.port, zookeeperPort: flags.zookeeperPort });
      await writeOut(`zookeeper ${local.zookeeper.connectString}\nbootstrap ${local.bootstrap}\n`);
      logger.info(`${flags.brokers} broker(s) up; logs in ${flags.dir}/broker-<id>/serve.log; Ctrl-C stops the cluster`);
      await stopRequested;
      logger.info('stopping the brokers, then ZooKeeper');
      await local.close();
    });

  cluster
    .command('status')
    .description("the controller, live brokers and each partition's leader, epoch, replicas and ISR, from ZooKeeper")
    .requiredOption('--zookeeper <host:port>', "the cluster's ZooKeeper")
    .option('--json', 'print JSON')
    .action(async (flags: { zookeeper: string; json?: boolean }) => {
      const status = await readClusterStatus(flags.zookeeper);
      if (flags.json === true) return printJson(status);
      await writeOut(`Cluster: ${status.clusterId ?? '(none yet)'}\tController: ${status.controllerId} (epoch ${status.controllerEpoch})\n`);
      await printTable(
        ['BROKER', 'ENDPOINTS'],
        status.brokers.map((broker) => [broker.nodeId, broker.endpoints.map((e) => `${e.listener}://${e.host}:${e.port}`).join(',')]),
      );
      if (status.partitions.length === 0) return;
      await writeOut('\n');
      await printTable(
        ['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR'],
        status.partitions.map((p) => [p.topic, p.partition, p.leader, p.leaderEpoch, p.replicas.join(','), p.isr.join(',')]),
      );
    });
}
