/**
 * The machine a run measured, printed with every figure: a throughput means little without the
 * CPU, core count, memory and kernel it came from.
 */
import os from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  os: string;
  arch: string;
  node: string;
  /** The machine's own limits from native-bench, when the run asked for them (--native). */
  nativeLimits: NativeShare | null;
}

/** Sluice's payload MB/s set against what this machine's page cache takes and gives (native-bench, C). */
export interface NativeShare {
  /** 'page-cache append' (produce, e2e) or 'page-cache read' (consume). */
  limit: string;
  limitMBps: number;
  appendMBps: number;
  readMBps: number;
  /** Sluice's value MB/s as a percentage of limitMBps. */
  percentOfLimit: number;
}

export function machineInfo(nativeLimits: NativeShare | null = null): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus.length > 0 ? cpus[0].model.trim() : 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    os: os.type(),
    arch: os.arch(),
    node: process.version,
    nativeLimits,
  };
}

export function describeMachine(machine: MachineInfo): string {
  const memoryGiB = (machine.memoryBytes / 1024 ** 3).toFixed(1);
  return `${machine.cpu}, ${machine.cores} cores, ${memoryGiB} GiB, ${machine.os} ${machine.kernel} ${machine.arch}, Node ${machine.node}`;
}
