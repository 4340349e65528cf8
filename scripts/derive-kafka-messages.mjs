#!/usr/bin/env node
/**
 * Writes the facts of Apache Kafka's protocol message definitions
 * (clients/src/main/resources/common/message/*.json) to a JSON fixture that the schema test
 * (test/protocol/api/kafka-spec.test.ts) compares every Sluice API schema with.
 *
 *   node scripts/derive-kafka-messages.mjs KAFKA_GIT_DIR REF OUT.json
 *   e.g. node scripts/derive-kafka-messages.mjs ~/src/kafka/.git 3.9.0 test/fixtures/kafka-messages-3.9.json
 *
 * Kept per request/response message: api key, valid and flexible versions, and per field its
 * name, type, versions, nullable and tagged versions, tag and default. Common structs are
 * inlined where used, comments and "about" texts are dropped: what remains is the wire format.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const [gitDir, ref, out] = process.argv.slice(2);
if (out === undefined) {
  console.error('usage: derive-kafka-messages.mjs KAFKA_GIT_DIR REF OUT.json');
  process.exit(2);
}

const MESSAGE_DIR = 'clients/src/main/resources/common/message';
const git = (...args) => execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const commit = git('rev-parse', `${ref}^{commit}`).trim();
const files = git('ls-tree', '--name-only', commit, `${MESSAGE_DIR}/`)
  .split('\n')
  .filter((path) => path.endsWith('.json'));

/** Kafka's message files are JSON with // comments. */
function parseCommentedJson(text) {
  let plain = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      plain += c;
      if (c === '\\') plain += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      plain += '\n';
    } else {
      if (c === '"') inString = true;
      plain += c;
    }
  }
  return JSON.parse(plain);
}

function fieldFacts(field, commonStructs) {
  const facts = { name: field.name, type: field.type, versions: field.versions };
  for (const key of ['nullableVersions', 'taggedVersions', 'tag', 'default']) {
    if (field[key] !== undefined) facts[key] = field[key];
  }
  const structName = field.type.startsWith('[]') ? field.type.slice(2) : field.type;
  const nested = field.fields ?? commonStructs.get(structName);
  if (nested !== undefined) facts.fields = nested.map((child) => fieldFacts(child, commonStructs));
  return facts;
}

const messages = [];
for (const path of files) {
  const spec = parseCommentedJson(git('show', `${commit}:${path}`));
  if (spec.type !== 'request' && spec.type !== 'response') continue;
  const commonStructs = new Map((spec.commonStructs ?? []).map((struct) => [struct.name, struct.fields]));
  messages.push({
    name: spec.name,
    type: spec.type,
    apiKey: spec.apiKey,
    validVersions: spec.validVersions,
    flexibleVersions: spec.flexibleVersions,
    ...(spec.latestVersionUnstable ? { latestVersionUnstable: true } : {}),
    fields: spec.fields.map((field) => fieldFacts(field, commonStructs)),
  });
}
messages.sort((a, b) => a.apiKey - b.apiKey || a.type.localeCompare(b.type));

const fixture = { source: `apache/kafka ${ref} (${commit}) ${MESSAGE_DIR}`, messages };
writeFileSync(out, `{\n"source": ${JSON.stringify(fixture.source)},\n"messages": [\n${messages.map((m) => JSON.stringify(m)).join(',\n')}\n]\n}\n`);
console.log(`wrote ${messages.length} messages to ${out}`);
