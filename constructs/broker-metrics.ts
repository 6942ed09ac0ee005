import { PropRules } from '../contract';
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { check, fail } from './validate';

/**
 * Who may scrape a broker's metrics port. Both given: the pods with `podLabels` in the namespaces
 * with `namespaceLabels`; one given: every pod of those namespaces, or the pods with those labels
 * in the broker's own namespace.
 */
export interface MetricsScrapers {
  /**
   * Labels of the namespaces whose pods may scrape, such as
   * `{ 'kubernetes.io/metadata.name': 'monitoring' }` (Kubernetes labels every namespace with its name).
   * @default - the broker's own namespace (then `podLabels` must be given)
   */
  readonly namespaceLabels?: Record<string, string>;
  /**
   * Labels of the pods that may scrape, such as `{ 'app.kubernetes.io/name': 'prometheus' }`.
   * @default - every pod of the namespaces `namespaceLabels` selects
   */
  readonly podLabels?: Record<string, string>;
}

/** A prometheus-operator `PodMonitor` (monitoring.coreos.com/v1) for the broker's pods. */
export interface BrokerMonitoring {
  /**
   * Labels of the PodMonitor beside the broker's own, for a Prometheus whose `podMonitorSelector`
   * picks monitors by label (kube-prometheus-stack's picks `release: <its release>` by default).
   * @default - the broker's labels only
   */
  readonly labels?: Record<string, string>;
  /**
   * How often Prometheus scrapes each pod, a Prometheus duration.
   * @default '30s'
   */
  readonly interval?: string;
}

/** The metrics props every broker this library runs in the cluster takes. */
export interface BrokerMetricsProps {
  /**
   * Who may scrape the broker's metrics (RabbitMQ's Prometheus endpoint on 15692, RedisPod's
   * `metricsExporter` on 9121): the NetworkPolicy admits them to that port only.
   * @default - nobody: the NetworkPolicy admits the broker's clients and nothing else
   */
  readonly metricsScrapers?: MetricsScrapers;
  /**
   * Write a prometheus-operator `PodMonitor` (monitoring.coreos.com/v1) `<serviceName>-metrics`
   * that scrapes the broker's pods; the cluster needs prometheus-operator's CRDs. Pair it with
   * `metricsScrapers` that admit the Prometheus pods.
   * @default - none
   */
  readonly monitoring?: BrokerMonitoring;
}

/** A path a broker's metrics port serves, with its query parameters. */
export interface MetricsPath {
  readonly path: string;
  readonly params?: Record<string, string[]>;
}

/** The metrics a broker's pods serve: the container port and the paths to scrape on it. */
export interface MetricsEndpoint {
  readonly port: number;
  /** The container port's name, which the PodMonitor scrapes by. */
  readonly portName: string;
  readonly paths: MetricsPath[];
}

/** The fields of `BrokerMetricsProps`, as error messages name them. */
export const MetricsFields = { scrapers: 'metricsScrapers', monitoring: 'monitoring' } as const;

const DEFAULT_INTERVAL = '30s';

/** Checks the metrics props; throws with the field, the value and what is expected. */
export function checkMetricsProps(scope: Construct, props: BrokerMetricsProps): void {
  const scrapers = props.metricsScrapers;
  if (scrapers !== undefined) {
    check(scope, `${MetricsFields.scrapers}.namespaceLabels`, scrapers.namespaceLabels, PropRules.labelSelector);
    check(scope, `${MetricsFields.scrapers}.podLabels`, scrapers.podLabels, PropRules.labelSelector);
    if (scrapers.namespaceLabels === undefined && scrapers.podLabels === undefined) {
      fail(
        scope,
        MetricsFields.scrapers,
        scrapers,
        'namespaceLabels, podLabels or both: who may scrape (nobody may unless named)',
      );
    }
  }
  check(scope, `${MetricsFields.monitoring}.labels`, props.monitoring?.labels, PropRules.labelSelector);
  check(scope, `${MetricsFields.monitoring}.interval`, props.monitoring?.interval, PropRules.prometheusDuration);
}

/** Admits the scrapers the props name to the metrics port through the broker's NetworkPolicy. */
export function admitScrapers(
  scope: Construct,
  networkPolicy: kplus.NetworkPolicy,
  scrapers: MetricsScrapers,
  port: number,
): void {
  const namespaces =
    scrapers.namespaceLabels &&
    kplus.Namespaces.select(scope, 'ScraperNamespaces', { labels: scrapers.namespaceLabels });
  const peer = scrapers.podLabels
    ? kplus.Pods.select(scope, 'ScraperPods', { labels: scrapers.podLabels, namespaces })
    : namespaces;
  // The props' check refuses scrapers that name neither; nothing to admit then.
  if (peer === undefined) return;
  networkPolicy.addIngressRule(peer, [kplus.NetworkPolicyPort.tcp(port)]);
}

/**
 * A PodMonitor that scrapes every path of the endpoint on each of the broker's pods. Each target
 * keeps its path as the label `metrics_path`, so that two paths of one port never give the same
 * `up` series.
 */
export function podMonitor(
  scope: Construct,
  name: string,
  brokerLabels: Record<string, string>,
  endpoint: MetricsEndpoint,
  monitoring: BrokerMonitoring,
): ApiObject {
  return new ApiObject(scope, 'PodMonitor', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name, labels: { ...brokerLabels, ...monitoring.labels } },
    spec: {
      selector: { matchLabels: brokerLabels },
      podMetricsEndpoints: endpoint.paths.map(({ path, params }) => ({
        port: endpoint.portName,
        path,
        ...(params && { params }),
        interval: monitoring.interval ?? DEFAULT_INTERVAL,
        relabelings: [{ sourceLabels: ['__metrics_path__'], targetLabel: 'metrics_path' }],
      })),
    },
  });
}
