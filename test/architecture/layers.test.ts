/**
 * The module map as a test. Scans the compiled JavaScript in dist/src, where type-only imports
 * are already erased, so what it sees is what Node loads:
 *
 *   - layers: a module imports only its own layer or lower ones
 *       base (src/errors.ts, src/compiled-module-url.ts, src/validate.ts, src/format.ts)
 *       < protocol < storage < shard < broker < client < server < http
 *       < cluster (a broker's membership of a ZooKeeper-coordinated cluster; the server asks it
 *         through src/server/cluster-view.ts, which it implements)
 *       < src/sluice.ts (the embedded API: broker, clients and the optional HTTP surface)
 *       < streams (Sluice Streams: the DSL, tasks and state stores over the clients)
 *       < registry < connect < perf < cli < src/index.ts (the package entry point)
 *   - no runtime import cycles: a cycle makes a module's bindings depend on which end is loaded
 *     first, so everything in src/ must form a DAG.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src');

const LAYERS = ['base', 'protocol', 'storage', 'shard', 'broker', 'client', 'server', 'http', 'cluster', 'embed', 'streams', 'registry', 'connect', 'perf', 'cli', 'entry'] as const;
type Layer = (typeof LAYERS)[number];

/** Modules directly under src/ and the layer each belongs to. */
const TOP_LEVEL_MODULES: Readonly<Record<string, Layer>> = {
  'errors.js': 'base',
  'compiled-module-url.js': 'base',
  'validate.js': 'base',
  'format.js': 'base',
  'sluice.js': 'embed',
  'index.js': 'entry',
};

/** Module (path relative to dist/src, '/'-separated) to the modules it imports at run time. */
type ImportGraph = Map<string, string[]>;

// Static `import ... from`, bare `import '...'` and `export ... from`; dynamic import() loads
// later, outside module evaluation, so it cannot take part in a cycle and is not a layer edge here.
const STATIC_IMPORT = /^\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm;

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
}

function toModuleId(file: string): string {
  return path.relative(DIST_SRC, file).split(path.sep).join('/');
}

function readImportGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of jsFiles(DIST_SRC)) {
    const targets: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const specifier = match[1];
      if (!specifier.startsWith('.')) continue; // node: built-ins and packages
      targets.push(path.relative(DIST_SRC, path.resolve(path.dirname(file), specifier)).split(path.sep).join('/'));
    }
    graph.set(toModuleId(file), targets);
  }
  return graph;
}

function layerOf(moduleId: string): Layer | undefined {
  const slash = moduleId.indexOf('/');
  if (slash === -1) return TOP_LEVEL_MODULES[moduleId];
  const directory = moduleId.slice(0, slash);
  return (LAYERS as readonly string[]).includes(directory) ? (directory as Layer) : undefined;
}

/** Every edge that leaves src/, points to a module of no known layer, or runs upward. */
function layerViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      problems.push(`${from} belongs to no layer: add it to TOP_LEVEL_MODULES or put it in a layer directory`);
      continue;
    }
    for (const to of targets) {
      if (to.startsWith('..')) {
        problems.push(`${from} imports ${to}, outside src/`);
        continue;
      }
      const toLayer = layerOf(to);
      if (toLayer === undefined) problems.push(`${from} imports ${to}, which belongs to no layer`);
      else if (LAYERS.indexOf(toLayer) > LAYERS.indexOf(fromLayer)) {
        problems.push(`${from} (${fromLayer}) imports ${to} (${toLayer}), a higher layer`);
      }
    }
  }
  return problems;
}

/** Each runtime import cycle once, as the chain of modules that closes it. */
function importCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('the module map of src/', () => {
  it('finds the compiled modules and their imports', () => {
    expect(existsSync(DIST_SRC), 'run `npm run build` first: this test reads dist/src').toBe(true);
    const graph = readImportGraph();
    expect(graph.get('shard/shard-pool.js')).toContain('protocol/murmur2.js');
    expect(graph.get('broker/assignors/range.js')).toContain('broker/assignors/shared.js');
  });

  it('has no import running to a higher layer or out of src/', () => {
    expect(layerViolations(readImportGraph())).toEqual([]);
  });

  it('has no runtime import cycle', () => {
    expect(importCycles(readImportGraph()).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('reports an upward import, an import out of src/ and a cycle when given them', () => {
    const graph: ImportGraph = new Map([
      ['protocol/a.js', ['client/b.js', 'errors.js']],
      ['client/b.js', ['protocol/a.js', '../bench/c.js']],
    ]);
    expect(layerViolations(graph)).toEqual([
      'protocol/a.js (protocol) imports client/b.js (client), a higher layer',
      'client/b.js imports ../bench/c.js, outside src/',
    ]);
    expect(importCycles(graph)).toEqual([['client/b.js', 'protocol/a.js', 'client/b.js']]);
  });
});
