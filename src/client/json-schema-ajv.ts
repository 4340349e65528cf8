/**
 * An ajv instance for the JSON Schema draft a schema declares in `$schema`, as Confluent's
 * registry accepts them: draft-04 (ajv-draft-04), draft-06 and draft-07 (ajv), 2019-09 and 2020-12
 * (ajv's own classes). A schema without `$schema` is read as draft-07, ajv's default. Used by the
 * registry to check schemas and by the jsonSchema() serializer to validate values.
 */
import { createRequire } from 'node:module';
import { Ajv, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';

const require = createRequire(import.meta.url);

const DRAFT_06 = /^https?:\/\/json-schema\.org\/draft-06\/schema#?$/;
const DRAFT_04 = /^https?:\/\/json-schema\.org\/draft-04\/schema#?$/;
const DRAFT_2019 = /^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/;
const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/;

export function ajvFor(schema: unknown, options: Options): Ajv {
  const declared = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  if (typeof declared === 'string') {
    if (DRAFT_2020.test(declared)) return new Ajv2020(options);
    if (DRAFT_2019.test(declared)) return new Ajv2019(options);
    if (DRAFT_04.test(declared)) return new AjvDraft04.default(options);
    if (DRAFT_06.test(declared)) {
      const ajv = new Ajv(options);
      ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
      return ajv;
    }
  }
  return new Ajv(options);
}
