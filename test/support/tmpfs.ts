/**
 * A small tmpfs mounted for tests that need a file system that is really full (mounting needs
 * root or CAP_SYS_ADMIN; where it is not permitted, `notMountable` says why and the tests skip),
 * and the filler that fills it to the last block.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';

export interface Tmpfs {
  readonly mountPoint: string;
  /** Why the tmpfs could not be mounted here, or null once it is. */
  readonly notMountable: string | null;
  unmount(): void;
}

/** Mounts a tmpfs of `size` (mount's syntax: '8m') at `mountPoint`, creating the directory. */
export function mountTmpfs(mountPoint: string, size: string): Tmpfs {
  mkdirSync(mountPoint, { recursive: true });
  let notMountable: string | null = null;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    notMountable = `mount -t tmpfs is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()})`;
  }
  return {
    mountPoint,
    notMountable,
    unmount: () => {
      if (notMountable === null) execFileSync('umount', ['--lazy', mountPoint]);
    },
  };
}

/** Writes `path` until the file system refuses with ENOSPC: it is then full to the last block. */
export function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}
