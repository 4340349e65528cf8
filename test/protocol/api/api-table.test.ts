/**
 * README.md's table of served APIs is the one scripts/api-table.mjs generates from the built
 * handlers, so an API or version added without regenerating it fails here.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/api-table.mjs', import.meta.url));

describe('README API table', () => {
  it('is the table generated from the code', async () => {
    const outcome = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [SCRIPT, '--check'], (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stderr }));
    });
    expect(outcome).toEqual({ code: 0, stderr: '' });
  });
});
