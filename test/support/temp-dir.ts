/** Temporary directories for tests that need real files: one per test, removed with everything in it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new empty directory under the system's temp dir, named sluice-<area>-XXXXXX. */
export function makeTempDir(area: string): string {
  return mkdtempSync(join(tmpdir(), `sluice-${area}-`));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
