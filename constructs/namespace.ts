import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type IConstruct } from 'constructs';
import { appLabels } from './labels';

/** Id of the Namespace object among the chart's children: one per chart, whichever broker asks first. */
const NAMESPACE_ID = 'WorkQueueStackNamespace';

/**
 * Writes the Namespace object of the chart of `scope` (which must have a namespace) as the chart's
 * first object, so that `kubectl apply -f` creates it before anything in it. Once per chart.
 */
export function ensureNamespace(scope: IConstruct, namespace: string): ApiObject {
  const chart = Chart.of(scope);
  const existing = chart.node.tryFindChild(NAMESPACE_ID);
  if (existing !== undefined) return ApiObject.of(existing);
  const object = new kplus.k8s.KubeNamespace(chart, NAMESPACE_ID, {
    metadata: { name: namespace, labels: appLabels(chart, 'work-queue-stack', namespace, 'namespace') },
  });
  // A Namespace is not in a namespace, although cdk8s gives every object of the chart the chart's.
  object.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  // The chart depends on it: cdk8s writes a chart's dependencies before the chart's own objects.
  chart.node.addDependency(object);
  return object;
}
