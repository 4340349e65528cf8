/**
 * `sluice recover`: opens a data directory as the broker does at start, which recovers every
 * partition log (each repair logged on stderr as it happens), prints the one-line recovery summary
 * on stdout, and closes it again. The inspection commands (topics list/describe, groups
 * list/describe) refuse a directory that needs this rather than repair it unasked.
 */
import type { Command } from 'commander';
import { Broker, formatRecoverySummary } from '../../broker/broker.js';
import { DEFAULT_DATA_DIR } from '../connection.js';
import { stderrLogger, writeOut } from '../output.js';

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description('recover the logs of a data directory after a crash (as `serve` does at start) and print what was repaired')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(async (flags: { dataDir: string }) => {
      const broker = await Broker.open({ dataDir: flags.dataDir, logger: stderrLogger({ info: true }) });
      try {
        await writeOut(`${formatRecoverySummary(broker.recovery)}\n`);
      } finally {
        await broker.close();
      }
    });
}
