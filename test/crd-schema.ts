import { execFileSync } from 'child_process';
import type { Manifest } from './manifests';

/**
 * The custom resources we synthesize, validated with their `@kubernetes-models` packages: KEDA's
 * (`@kubernetes-models/keda`) and prometheus-operator's (`@kubernetes-models/prometheus-operator`).
 * Both are ES modules and jest runs the tests as CommonJS, so the objects are validated in a
 * Node.js child process: one `validate()` per object, its error or null back.
 */
const VALIDATE = `
import { ScaledJob, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
const models = {
  'keda.sh/v1alpha1': { ScaledJob, TriggerAuthentication },
  'monitoring.coreos.com/v1': { PodMonitor },
};
let input = '';
for await (const chunk of process.stdin) input += chunk;
const errors = JSON.parse(input).map((object) => {
  const Model = models[object.apiVersion]?.[object.kind];
  if (!Model) return 'no schema known for ' + object.apiVersion + ' ' + object.kind;
  try { new Model(object).validate(); return null; } catch (error) { return error.message; }
});
process.stdout.write(JSON.stringify(errors));
`;

/** Validates KEDA and prometheus-operator objects against their CRDs' schemas (offline); returns one error or undefined per object. */
export function crdSchemaErrors(objects: Manifest[]): Array<string | undefined> {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], {
    input: JSON.stringify(objects),
    cwd: __dirname,
  });
  return (JSON.parse(output.toString()) as Array<string | null>).map((error) => error ?? undefined);
}
