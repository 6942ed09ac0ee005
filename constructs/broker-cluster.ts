import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';

/** The parts of a broker of several members that do not depend on the broker. */
export interface ClusterPartsProps {
  /** The members' StatefulSet; the disruption budget takes its name. */
  readonly statefulSet: kplus.StatefulSet;
  /** Labels of the members' pods (and of the budget). */
  readonly labels: Record<string, string>;
  /** The broker's NetworkPolicy, which admits the members to each other on `memberPorts`. */
  readonly networkPolicy: kplus.NetworkPolicy;
  /** The members' pods, selected by `labels`. */
  readonly members: kplus.Pods;
  /** The ports the members reach each other on. */
  readonly memberPorts: number[];
}

/**
 * What every replicated broker of this library has beside its own settings: one member per
 * Kubernetes node and over zones where the cluster has them, member-to-member traffic through the
 * NetworkPolicy, and a PodDisruptionBudget that lets one member go at a time (a majority stays up).
 */
export function addClusterParts(scope: Construct, props: ClusterPartsProps): kplus.k8s.KubePodDisruptionBudget {
  const { statefulSet, labels } = props;
  ApiObject.of(statefulSet).addJsonPatch(
    JsonPatch.add(
      '/spec/template/spec/topologySpreadConstraints',
      ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey, index) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: index === 0 ? 'DoNotSchedule' : 'ScheduleAnyway',
        labelSelector: { matchLabels: labels },
      })),
    ),
  );
  props.networkPolicy.addIngressRule(
    props.members,
    props.memberPorts.map((port) => kplus.NetworkPolicyPort.tcp(port)),
  );
  return new kplus.k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata: { name: statefulSet.name, labels },
    spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: labels } },
  });
}
