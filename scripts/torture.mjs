#!/usr/bin/env node
// `npm run torture`: the long torture suite (test/torture) through vitest, with SLUICE_TORTURE=long.
// Flags set the figures the tests read from the environment, e.g.
//   npm run torture -- --serve-kills 200 --embedded-kills 100 --mutation-cases 2000 --seed 7
// (--name value sets SLUICE_TORTURE_NAME; see test/torture/*.test.ts for each figure's name).
// Any other argument (a test file, -t pattern) is passed to vitest.
import { spawnSync } from 'node:child_process';

const env = { ...process.env, SLUICE_TORTURE: 'long' };
const vitestArgs = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const flag = /^--([a-z][a-z0-9-]*)$/.exec(args[i]);
  if (flag !== null && /^\d+$/.test(args[i + 1] ?? '')) {
    env[`SLUICE_TORTURE_${flag[1].replaceAll('-', '_').toUpperCase()}`] = args[++i];
  } else {
    vitestArgs.push(args[i]);
  }
}
const paths = vitestArgs.some((arg) => arg.startsWith('test/')) ? [] : ['test/torture'];
// One file at a time: the scenarios kill processes and sample memory, and must not starve each other.
const result = spawnSync('npx', ['vitest', 'run', '--no-file-parallelism', ...paths, ...vitestArgs], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
