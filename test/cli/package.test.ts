/**
 * The package as another project gets it: `npm pack`'s tarball (package.json "files") holds all
 * that the embedded API, the shard workers and the `sluice` command need at run time. The tarball
 * is unpacked as node_modules/sluice of a fresh project whose dependencies are links to this
 * checkout's (so the test needs no registry); the project then imports 'sluice' by name,
 * produces and consumes through shard worker threads, and runs the package's bin.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  main: string;
  types: string;
  dependencies: Record<string, string>;
}

describe('the npm package', () => {
  let dir: string;
  let app: string;
  let packaged: string;
  let manifest: PackageJson;
  let files: string[];

  beforeAll(async () => {
    dir = makeTempDir('package');
    // --ignore-scripts: prepack would rebuild dist/ under the other tests; pretest built it.
    const { stdout } = await execFileAsync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = packed.files.map((file) => file.path);
    app = join(dir, 'app');
    const modules = join(app, 'node_modules');
    mkdirSync(modules, { recursive: true });
    await execFileAsync('tar', ['xzf', join(dir, packed.filename), '-C', modules]);
    packaged = join(modules, 'sluice');
    await execFileAsync('mv', [join(modules, 'package'), packaged]);
    manifest = JSON.parse(readFileSync(join(packaged, 'package.json'), 'utf8')) as PackageJson;
    for (const dependency of Object.keys(manifest.dependencies)) {
      const link = join(modules, dependency);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dependency), link, 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  }, 120_000);

  afterAll(() => removeTempDir(dir));

  it('ships the compiled code, its types, the shard workers and native-bench, and no tests or sources', () => {
    expect(files).toContain(manifest.main);
    expect(files).toContain(manifest.types);
    expect(files).toContain(manifest.bin.sluice);
    expect(files).toContain('native-bench/Makefile');
    const workers = readdirSync(join(ROOT, 'dist/src/shard')).filter((name) => name.endsWith('.js'));
    for (const worker of workers) expect(files).toContain(`dist/src/shard/${worker}`);
    expect(files.filter((file) => file.startsWith('test/') || file.startsWith('src/') || file.startsWith('dist/test/'))).toEqual([]);
  });

  it("is imported by name from another project, whose records go through the package's shard workers", async () => {
    writeFileSync(
      join(app, 'main.js'),
      `import { Sluice } from 'sluice';
const sluice = await Sluice.open({ dataDir: './data', shards: 2 });
await sluice.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
const producer = sluice.producer();
await producer.send({ topic: 'orders', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] });
await producer.disconnect();
const seen = [];
const consumer = sluice.consumer();
consumer.assign([{ topic: 'orders', partition: 0, offset: 0 }, { topic: 'orders', partition: 1, offset: 0 }]);
await new Promise((resolve) => consumer.run({ eachMessage: ({ message }) => { seen.push(message.value.toString()); if (seen.length === 2) resolve(); } }));
await consumer.disconnect();
await sluice.close();
console.log(JSON.stringify(seen.sort()));
`,
    );
    const { stdout } = await execFileAsync(process.execPath, ['main.js'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(['a', 'b']);
  });

  it("runs the package's bin", async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(packaged, manifest.bin.sluice), '--version'], { cwd: app });
    expect(stdout.trim()).toBe(manifest.version);
    const topics = await execFileAsync(process.execPath, [join(packaged, manifest.bin.sluice), 'topics', 'list', '--data-dir', join(app, 'data')], { cwd: app });
    expect(topics.stdout).toContain('orders');
  });
});
