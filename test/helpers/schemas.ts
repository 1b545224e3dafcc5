// The JSON Schemas shipped in schemas/, compiled once with Ajv (draft 2020-12, strict): what
// the tests hold the --json documents and Docker states to.

import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export const SCHEMA_DIR = new URL('../../schemas/', import.meta.url).pathname;

const ajv = new Ajv2020({ strict: true, allErrors: true });
export const SCHEMA_FILES = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));
for (const f of SCHEMA_FILES) ajv.addSchema(JSON.parse(readFileSync(SCHEMA_DIR + f, 'utf8')) as object);

/** The validator of schemas/NAME.schema.json (NAME#/$defs/X: one of its definitions). */
export function schema(name: string): ValidateFunction {
  const [file, pointer] = name.split('#');
  const v = ajv.getSchema(`${file}.schema.json${pointer !== undefined ? `#${pointer}` : ''}`);
  if (!v) throw new Error(`no schema ${name}.schema.json`);
  return v;
}

/** The Ajv errors of `value` against schemas/NAME.schema.json, as text ('' when it validates). */
export function schemaErrors(name: string, value: unknown): string {
  const v = schema(name);
  return v(value) ? '' : ajv.errorsText(v.errors, { separator: '\n' });
}
