import { ApiObject, Chart } from 'cdk8s';
import { type IConstruct } from 'constructs';
import { describeProblem } from '../contract';

const checkedCharts = new WeakSet<Chart>();

/** The names that objects named `<prefix>-<hash>` were given: two of them are a conflict too. */
const givenNames = new WeakMap<ApiObject, string>();

/**
 * Records the name an object was given before a hash of its content was appended: two objects
 * of one kind with the same given name conflict even when their hashes differ (a user named both
 * alike, and their labels would be alike).
 */
export function registerGivenName(object: ApiObject, name: string): void {
  givenNames.set(object, name);
}

/**
 * Makes the chart of `scope` refuse, at synth, two objects of one kind with the same namespace and
 * name (the API server would keep only the one applied last), or with the same given name before
 * their content hash (`registerGivenName`). Registered once per chart by every
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
    const name = givenNames.get(object) ?? object.name;
    const key = [object.apiGroup, object.kind, object.metadata.namespace ?? '', name].join('/');
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, object);
      continue;
    }
    errors.push(
      `${ownerPath(object)}: ${describeProblem(
        'name',
        name,
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
