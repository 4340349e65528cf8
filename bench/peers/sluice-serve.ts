/**
 * Sluice serving the Kafka protocol in a process of its own, for the comparison's "Sluice over
 * the Kafka protocol" row: the client (kafkajs) then runs in the benchmark's process and the
 * server in this one, as they would in production.
 *
 *   node dist/bench/peers/sluice-serve.js --data-dir DIR [--shards N]
 *
 * Listens on a free port of 127.0.0.1 and prints {"port":N} on stdout once ready; SIGTERM or
 * SIGINT closes the server and the broker, then exits.
 */
import { parseArgs } from 'node:util';
import { Sluice } from '../../src/sluice.js';
import { KafkaServer } from '../../src/server/server.js';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, shards: { type: 'string' } } });
const dataDir = values['data-dir'];
if (dataDir === undefined) {
  process.stderr.write('usage: sluice-serve --data-dir DIR [--shards N]\n');
  process.exit(2);
}
const sluice = await Sluice.open(values.shards === undefined ? { dataDir, groupInitialRebalanceDelayMs: 0 } : { dataDir, shards: Number(values.shards), groupInitialRebalanceDelayMs: 0 });
const server = new KafkaServer(sluice.broker, { host: '127.0.0.1', port: 0 });
const { port } = await server.listen();
process.stdout.write(JSON.stringify({ port }) + '\n');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  await sluice.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
