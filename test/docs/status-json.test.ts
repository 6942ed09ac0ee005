/**
 * docs/operations.md's "Status as JSON" names every field of contract/status.schema.json in its
 * table, and no other, and its examples are objects the schema accepts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import schema from '../../contract/status.schema.json';
import { statusSchemaErrors } from '../status-schema';

const section = (() => {
  const markdown = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const start = markdown.indexOf('\n## Status as JSON\n');
  if (start < 0) throw new Error('docs/operations.md has no "## Status as JSON" section');
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
})();

/** The schema's fields as the table names them: `rate.counts`, `broker.kind`... */
function schemaFields(): string[] {
  const nested = (name: string, properties: object) => Object.keys(properties).map((key) => `${name}.${key}`);
  const { rate, broker, ...plain } = schema.properties;
  return [
    ...Object.keys(plain),
    ...nested('rate', rate.properties),
    ...new Set(broker.oneOf.flatMap((variant) => nested('broker', variant.properties))),
  ].sort();
}

test('the table names each field of the schema once', () => {
  const documented = [...section.matchAll(/^\| `([\w.]+)` \|/gm)].map((match) => match[1]);
  expect([...documented].sort()).toEqual(schemaFields());
});

test('the examples are objects the schema accepts', () => {
  const examples = [...section.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((match) => JSON.parse(match[1]) as unknown);
  expect(examples.length).toBeGreaterThanOrEqual(2);
  for (const example of examples) expect(statusSchemaErrors(example)).toEqual([]);
});
