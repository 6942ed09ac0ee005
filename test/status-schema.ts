import Ajv2020 from 'ajv/dist/2020';
import schema from '../contract/status.schema.json';

// Strict: a keyword ajv does not know, or a schema that contradicts itself, fails at compile.
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

/** Validates one `status --json` object against contract/status.schema.json; returns its errors (none: valid). */
export function statusSchemaErrors(report: unknown): string[] {
  if (validate(report)) return [];
  return (validate.errors ?? []).map(
    (error) => `${error.instancePath || '/'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`,
  );
}
