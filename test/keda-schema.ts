import { execFileSync } from 'child_process';
import { Manifest } from './manifests';

/**
 * `@kubernetes-models/keda` is an ES module and jest runs the tests as CommonJS, so the objects are
 * validated in a Node.js child process: one `validate()` per object, its error or null back.
 */
const VALIDATE = `
import { ScaledJob, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
const models = { ScaledJob, TriggerAuthentication };
let input = '';
for await (const chunk of process.stdin) input += chunk;
const errors = JSON.parse(input).map((object) => {
  const Model = models[object.kind];
  if (!Model || object.apiVersion !== 'keda.sh/v1alpha1') return 'no KEDA schema known for ' + object.apiVersion + ' ' + object.kind;
  try { new Model(object).validate(); return null; } catch (error) { return error.message; }
});
process.stdout.write(JSON.stringify(errors));
`;

/** Validates KEDA objects against `@kubernetes-models/keda` (offline); returns one error or undefined per object. */
export function kedaSchemaErrors(objects: Manifest[]): Array<string | undefined> {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], { input: JSON.stringify(objects), cwd: __dirname });
  return (JSON.parse(output.toString()) as Array<string | null>).map((error) => error ?? undefined);
}
