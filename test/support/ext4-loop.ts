/**
 * A small ext4 file system on a loop device, mounted for tests that need a file system the kernel
 * turns read-only under open files (mounting needs root or CAP_SYS_ADMIN and a free loop device;
 * where either is missing, `notMountable` says why and the tests skip). tmpfs cannot stand in:
 * `mount -o remount,ro` is refused with EBUSY while any file on it is open for writing, as a
 * broker's active segments always are. ext4 mounted with errors=remount-ro turns itself read-only
 * when it detects an error, and its trigger_fs_error sysfs file raises one on demand: from then
 * on every write, even through a descriptor opened before, fails with EROFS, and reads go on.
 * Its FS_IOC_SHUTDOWN ioctl makes every operation fail with EIO, the one way to meet EIO here
 * without a device-mapper error target.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface Ext4Loop {
  readonly mountPoint: string;
  /** Why the file system could not be mounted here, or null once it is. */
  readonly notMountable: string | null;
  /** Raises an ext4 error: the file system turns read-only as a failing disk would make it. */
  forceReadOnly(): void;
  /**
   * Shuts the file system down as ext4 does on a fatal error (FS_IOC_SHUTDOWN, the ioctl behind
   * xfstests' godown): from then on every read and write on it fails with EIO.
   */
  shutDown(): void;
  /** Whether the mounted file system is read-only now. */
  readOnly(): boolean;
  /**
   * What an operator does after the error: unmounts, checks the file system with e2fsck and mounts
   * it again read-write (the kernel refuses `remount,rw` after an error). Every file on it must be
   * closed first.
   */
  checkAndMountAgain(): void;
  unmount(): void;
}

function stderrOf(error: unknown): string {
  return String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
}

/** Creates an ext4 image of `sizeBytes` at `imagePath` and mounts it at `mountPoint`. */
export function mountExt4Loop(imagePath: string, mountPoint: string, sizeBytes: number): Ext4Loop {
  mkdirSync(mountPoint, { recursive: true });
  let notMountable: string | null = null;
  const mount = (): void => {
    execFileSync('mount', ['-o', 'loop,errors=remount-ro', imagePath, mountPoint], { stdio: 'pipe' });
  };
  try {
    execFileSync('truncate', ['-s', String(sizeBytes), imagePath], { stdio: 'pipe' });
    // No journal: an error then only turns the file system read-only, it does not abort a journal.
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', imagePath], { stdio: 'pipe' });
    mount();
  } catch (error) {
    notMountable = `an ext4 loop mount is not possible here (${stderrOf(error)})`;
  }
  const options = (): string[] => execFileSync('findmnt', ['-no', 'OPTIONS', mountPoint], { encoding: 'utf8' }).trim().split(',');
  const unmount = (): void => {
    execFileSync('umount', [mountPoint], { stdio: 'pipe' });
  };
  return {
    mountPoint,
    notMountable,
    forceReadOnly: () => {
      const device = basename(execFileSync('findmnt', ['-no', 'SOURCE', mountPoint], { encoding: 'utf8' }).trim());
      writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, 'storage-fault test: simulated disk error');
    },
    shutDown: () => {
      // FS_IOC_SHUTDOWN is _IOR('X', 125, __u32); flag 2 (NOLOGFLUSH) drops what is not yet written, as a dead disk does.
      const ioctl = 'import fcntl, os, struct, sys; fcntl.ioctl(os.open(sys.argv[1], os.O_RDONLY), 0x8004587D, struct.pack("I", 2))';
      execFileSync('python3', ['-c', ioctl, mountPoint], { stdio: 'pipe' });
    },
    readOnly: () => options().includes('ro') || options().includes('emergency_ro'),
    checkAndMountAgain: () => {
      unmount();
      // Exit status 1 means e2fsck corrected the error state the triggered error recorded.
      try {
        execFileSync('e2fsck', ['-fy', imagePath], { stdio: 'pipe' });
      } catch (error) {
        if ((error as { status?: number }).status !== 1) throw error;
      }
      mount();
    },
    unmount: () => {
      if (notMountable === null) execFileSync('umount', ['--lazy', mountPoint]);
      rmSync(imagePath, { force: true });
    },
  };
}
