import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { describeProblem } from '../worker/contract';

const checkedCharts = new WeakSet<Chart>();

/**
 * Makes the chart of `scope` refuse, at synth, two objects of one kind with the same namespace and
 * name: the API server would keep only the one applied last. Registered once per chart by every
 * construct of this library; it checks all objects of the chart, ours or not.
 */
export function ensureUniqueNames(scope: IConstruct): void {
  const chart = Chart.of(scope);
  if (checkedCharts.has(chart)) return;
  checkedCharts.add(chart);
  chart.node.addValidation({ validate: () => duplicateNames(chart) });
}

function duplicateNames(chart: Chart): string[] {
  const first = new Map<string, ApiObject>();
  const errors: string[] = [];
  for (const object of chart.node.findAll()) {
    if (!ApiObject.isApiObject(object) || Chart.of(object) !== chart) continue;
    const key = [object.apiGroup, object.kind, object.metadata.namespace ?? '', object.name].join('/');
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, object);
      continue;
    }
    errors.push(
      `${ownerPath(object)}: ${describeProblem(
        'name',
        object.name,
        `a ${object.kind} name not already taken in chart "${chart.node.path}", but ${ownerPath(earlier)} has it too; give one of them another name`,
      )}`,
    );
  }
  return errors;
}

/** The path of the construct an object belongs to: its own path less the `Resource` ids of the main children. */
function ownerPath(object: IConstruct): string {
  const parts = object.node.path.split('/');
  while (parts.length > 1 && parts[parts.length - 1] === 'Resource') parts.pop();
  return parts.join('/');
}
