/**
 * NATS JetStream as a peer: a nats-server started on 127.0.0.1 with JetStream on and a
 * temporary store directory, one stream with file storage; records are published
 * asynchronously and each publish awaits its JetStream acknowledgement (the record is stored).
 * JetStream's default is to fsync its files every 2 minutes, not per message.
 */
import { connect, StorageType } from 'nats';
import { freePort, waitForPort, type ProcessGroup } from './processes.js';
import { measureSends, type PeerMeasurement, type PeerWorkload } from './workload.js';

const STREAM = 'SLUICE_COMPARE';
const SUBJECT = 'sluice.compare';

export async function runNatsJetStream(group: ProcessGroup, dir: string, workload: PeerWorkload): Promise<PeerMeasurement> {
  const port = await freePort();
  const server = group.start('nats-server (JetStream)', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]);
  try {
    await waitForPort(port, server);
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File });
      const js = nc.jetstream();
      const measurement = await measureSends((messages) => Promise.all(messages.map((message) => js.publish(SUBJECT, message.value))), workload);
      const info = await jsm.streams.info(STREAM);
      if (info.state.messages !== measurement.records) {
        throw new Error(`the JetStream stream holds ${info.state.messages} messages after ${measurement.records} acknowledged publishes`);
      }
      return measurement;
    } finally {
      await nc.close();
    }
  } finally {
    await group.stop(server);
  }
}
