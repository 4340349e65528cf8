/**
 * The two steps every durable file change is made of: write a whole file and fsync it before it
 * is renamed or relied on, and fsync the directory that holds it, which makes its creation,
 * renames and deletions durable.
 */
import { closeSync, fsyncSync, openSync, writeFileSync } from 'node:fs';

/**
 * Creates (or truncates) `path`, writes all of `bytes` and fsyncs it. `flag` 'wx' refuses an
 * existing file.
 */
export function writeFileDurably(path: string, bytes: Buffer | string, options: { flag?: 'w' | 'wx'; mode?: number } = {}): void {
  const fd = openSync(path, options.flag ?? 'w', options.mode ?? 0o666);
  try {
    writeFileSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory, which makes file creations, renames and deletions in it durable. */
export function fsyncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; its renames are durable without it.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
