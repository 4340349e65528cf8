#!/usr/bin/env node
/**
 * Builds @confluentinc/kafka-javascript (a current librdkafka, one of the client compatibility
 * suite's peers) from the source its npm tarball bundles under deps/librdkafka, linked against the
 * system's OpenSSL, Cyrus SASL, zstd, lz4 and zlib (Debian: libssl-dev libsasl2-dev libzstd-dev
 * liblz4-dev zlib1g-dev, plus g++, make, pkg-config and python3 for node-gyp).
 *
 * Why not the package's own install script: it first downloads a prebuilt binary from GitHub, and
 * its fallback build is static, which has librdkafka's configure download OpenSSL, zstd and the
 * rest from the internet. Neither works offline, so the package's script is switched off
 * (package.json "allowScripts") and this one, `npm run build:test-peers` (which `npm test` runs
 * first), builds with CKJS_LINKING=dynamic instead: librdkafka's configure then uses the system
 * libraries. Installing Sluice (`npm ci`) never builds it: it is a test peer, not part of the product.
 *
 * The build takes minutes of CPU, so its result (the addon and the two librdkafka shared objects
 * it loads through its $ORIGIN/../deps rpath) is kept in a cache directory keyed by package
 * version, Node ABI and platform; a later run on the same machine copies it back in seconds.
 * Cache: $SLUICE_BUILD_CACHE, else $XDG_CACHE_HOME/sluice-build, else ~/.cache/sluice-build.
 *
 * Does nothing when the package is not installed (an install without dev dependencies).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const PACKAGE = '@confluentinc/kafka-javascript';
const ADDON = join('build', 'Release', 'confluent-kafka-javascript.node');
/** What the addon needs at run time, relative to the package directory. */
const ARTIFACTS = [ADDON, join('build', 'deps', 'librdkafka.so.1'), join('build', 'deps', 'librdkafka++.so.1')];

const require = createRequire(join(process.cwd(), 'package.json'));
let packageDir;
try {
  packageDir = dirname(require.resolve(`${PACKAGE}/package.json`));
} catch {
  process.exit(0);
}
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));

if (loads()) {
  log('already built');
  process.exit(0);
}

const cacheRoot = process.env.SLUICE_BUILD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice-build');
const cacheDir = join(cacheRoot, `kafka-javascript-${version}-node-abi${process.versions.modules}-${process.platform}-${process.arch}`);

if (ARTIFACTS.every((file) => existsSync(join(cacheDir, file)))) {
  for (const file of ARTIFACTS) copy(join(cacheDir, file), join(packageDir, file));
  if (loads()) {
    log(`restored from ${cacheDir}`);
    process.exit(0);
  }
  log(`the cached build in ${cacheDir} does not load; building again`);
}

build();
if (!loads()) fail('the freshly built addon does not load');
// Written aside and renamed, so a build interrupted half-way never leaves a cache that looks whole.
const staging = `${cacheDir}.${process.pid}.tmp`;
rmSync(staging, { recursive: true, force: true });
for (const file of ARTIFACTS) copy(join(packageDir, file), join(staging, file));
rmSync(cacheDir, { recursive: true, force: true });
mkdirSync(dirname(cacheDir), { recursive: true });
renameSync(staging, cacheDir);
log(`built librdkafka ${librdkafkaVersion()} and cached it in ${cacheDir}`);

function build() {
  // npm hands its own node-gyp (and nodedir, when configured) to the scripts it runs.
  const nodeGyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(nodeGyp)) fail(`node-gyp not found at ${nodeGyp}; run this through npm (npm run build:test-peers)`);
  log('building from source (a few minutes; the result is cached)');
  // One make job: the package's gyp files do not declare the librdkafka configure step as a
  // dependency of its make step, so a parallel make can start them in the wrong order.
  const args = [nodeGyp, 'rebuild', '--jobs=1'];
  // Without a configured nodedir node-gyp downloads Node's headers; the installed ones serve offline.
  const installPrefix = dirname(dirname(process.execPath));
  if (process.env.npm_config_nodedir === undefined && existsSync(join(installPrefix, 'include', 'node', 'node.h'))) {
    args.push(`--nodedir=${installPrefix}`);
  }
  const result = spawnSync(process.execPath, args, {
    cwd: packageDir,
    // The compiler's hundreds of warnings are shown only when the build fails.
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CKJS_LINKING: 'dynamic' },
  });
  if (result.status !== 0) {
    console.error(`${result.stdout}\n${result.stderr}`.split('\n').slice(-60).join('\n'));
    fail(
      `node-gyp exited with ${result.status ?? result.signal}. It needs g++, make, pkg-config, python3 and ` +
        'the -dev packages of OpenSSL, Cyrus SASL, zstd, lz4 and zlib (Debian: libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev)',
    );
  }
}

/** Whether the addon loads, checked in a child process so a failed dlopen cannot stick in this one. */
function loads() {
  if (!existsSync(join(packageDir, ADDON))) return false;
  const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(packageDir)})`], { stdio: 'ignore' });
  return result.status === 0;
}

function librdkafkaVersion() {
  const result = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(packageDir)}).librdkafkaVersion)`], {
    encoding: 'utf8',
  });
  return result.stdout;
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}

function log(message) {
  console.log(`${PACKAGE}@${version}: ${message}`);
}

function fail(message) {
  console.error(`${PACKAGE}@${version}: ${message}`);
  process.exit(1);
}
