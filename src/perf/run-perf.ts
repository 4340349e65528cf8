/**
 * One perf run from start to finish: resolve the settings, build the value pool, provide the
 * data directory (a fresh temporary one, removed afterwards, unless --data-dir names one to
 * keep), run the workload embedded or over --bootstrap-server, and build the result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolvePerfConfig, E2E_TIMESTAMP_BYTES, type PerfConfig, type PerfOptions } from './config.js';
import { runEmbedded } from './embedded-runner.js';
import { runOverKafka } from './kafka-runner.js';
import { machineInfo } from './machine.js';
import { loadNativeLimits, nativeShare } from './native-limits.js';
import { filePayloads, randomPayloads } from './payload.js';
import { createProgress, NO_PROGRESS } from './progress.js';
import { buildPerfResult, type PerfResult } from './report.js';

export interface PerfRunSettings {
  /** true: run native-bench first; a path: read its JSON output from there; undefined: no native figures. */
  native?: true | string;
  /** Where the live progress bar goes (only when it is a terminal); null for none. Default stderr. */
  progressStream?: NodeJS.WriteStream | null;
  /** Parent of the temporary data directory. Default the OS temp dir. */
  tempParent?: string;
}

export async function runPerf(options: PerfOptions, settings: PerfRunSettings = {}): Promise<PerfResult> {
  const config = resolvePerfConfig(options);
  const payloads = makePayloads(config);
  const tempParent = settings.tempParent ?? os.tmpdir();
  const nativeLimits =
    settings.native === undefined ? null : await loadNativeLimits(settings.native, config.dataDir === null ? tempParent : path.dirname(path.resolve(config.dataDir)));
  const stream = settings.progressStream === undefined ? process.stderr : settings.progressStream;
  const progress = stream === null ? NO_PROGRESS : createProgress(`perf ${config.mode}`, { unit: 'records', total: config.records, stream });
  const update = (done: number): void => progress.update(done);
  try {
    let measurement;
    if (config.bootstrapServer !== null) {
      measurement = await runOverKafka(config, payloads, update);
    } else {
      const dataDir = config.dataDir ?? mkdtempSync(path.join(tempParent, 'sluice-perf-'));
      try {
        measurement = await runEmbedded(config, dataDir, payloads, update);
      } finally {
        if (config.dataDir === null) rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const result = buildPerfResult(config, measurement, machineInfo());
    if (nativeLimits !== null) result.machine.nativeLimits = nativeShare(config.mode, result.mbPerSec, nativeLimits);
    return result;
  } finally {
    progress.stop();
  }
}

function makePayloads(config: PerfConfig): Buffer[] {
  if (config.payloadFile !== null) return filePayloads(config.payloadFile, config.mode === 'e2e' ? E2E_TIMESTAMP_BYTES : 0);
  return randomPayloads(config.recordSizeBytes, config.compressibility, config.records);
}
