import { ApiObject, type Duration, Lazy, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { PropRules, Rules } from '../contract';
import { checkScalingStrategy, kedaScalingStrategy, type KedaScalingStrategy, queueTrigger } from './keda-trigger';
import { secondsOf } from './seconds';
import { check, checkDuration, checkRequired, fail } from './validate';
import { WorkerJobBase, type WorkerJobProps } from './worker-job';

export interface ScaledWorkQueueJobProps extends WorkerJobProps {
  /** Most Jobs at once (KEDA's `maxReplicaCount`). */
  readonly maxJobs: number;
  /**
   * Time between two looks at the queue (KEDA's `pollingInterval`); whole seconds.
   * @default Duration.seconds(30)
   */
  readonly pollingInterval?: Duration;
  /**
   * KEDA's scaling strategy.
   * @default - `accurate` for `coarse`: KEDA reads a RabbitMQ queue's length over AMQP (a passive
   *   declare) and a Redis list's with LLEN, and neither counts the items running Jobs hold (unacked
   *   messages, leased items), so running Jobs must not be deducted again. `default` for `fine`:
   *   a running Job drains the list on, so the list's length is deducted the running Jobs' share.
   */
  readonly scalingStrategy?: KedaScalingStrategy;
  /**
   * With `scalingStrategy: 'custom'`: items taken off the queue length before dividing.
   * @default 0
   */
  readonly customScalingQueueLengthDeduction?: number;
  /**
   * With `scalingStrategy: 'custom'`: the share of running Jobs deducted, from 0 to 1.
   * @default 1 (KEDA's `default` strategy)
   */
  readonly customScalingRunningJobPercentage?: number;
  /**
   * Queue length one Job is for (`fine` only; a `coarse` Job takes one item): KEDA's `listLength`.
   * @default 10
   */
  readonly itemsPerJob?: number;
  /**
   * Queue length at or below which no Job is created (KEDA's `activationValue` / `activationListLength`).
   * @default 0
   */
  readonly activationQueueLength?: number;
  /**
   * Pods of one Job (`fine` only; a `coarse` Job runs one pod for its one item).
   * @default 1
   */
  readonly parallelism?: number;
  /**
   * Namespace of the broker's Service, for the trigger's host: KEDA's operator runs the scalers in
   * its own namespace, where the Service's bare name does not resolve (an `ExternalBroker`'s host
   * is used as given).
   * @default - the namespace of the broker's chart
   */
  readonly brokerNamespace?: string;
  /**
   * Namespace of KEDA's operator, which the broker's NetworkPolicy admits to the client port.
   * @default 'keda' (where KEDA's Helm chart and manifests install it)
   */
  readonly kedaNamespace?: string;
  /**
   * Labels of KEDA's operator pods, which the broker's NetworkPolicy admits.
   * @default { 'app.kubernetes.io/name': 'keda-operator' } (as KEDA's Helm chart and manifests label them)
   */
  readonly kedaOperatorLabels?: Record<string, string>;
  /**
   * Finished Jobs KEDA keeps.
   * @default 100 (KEDA's)
   */
  readonly successfulJobsHistoryLimit?: number;
  /**
   * Failed Jobs KEDA keeps.
   * @default 100 (KEDA's)
   */
  readonly failedJobsHistoryLimit?: number;
}

/** KEDA names a ScaledJob's Jobs `<name>-<5 characters>`, and a Job's name becomes its pods' label (63 at most). */
const MAX_SCALED_JOB_NAME_LENGTH = 57;

/**
 * A KEDA ScaledJob that creates worker Jobs while the queue has items, up to `maxJobs` at once,
 * and lets each Job finish: a `coarse` Job takes one item, a `fine` Job drains the list. The Jobs
 * are exactly `WorkQueueJob`'s (the same hardened pod template, worker settings and failure policy),
 * and the trigger reads the broker's credentials from its Secret through a TriggerAuthentication.
 * Needs KEDA 2.16 or later in the cluster.
 */
export class ScaledWorkQueueJob extends WorkerJobBase {
  /** Name of the ScaledJob; its Jobs are `<name>-<suffix>`. */
  public readonly name: string;
  public readonly maxJobs: number;
  public readonly scaledJob: ApiObject;
  /** Reads the broker's credentials (and CA) for KEDA; undefined for a broker without either. */
  public readonly triggerAuthentication?: ApiObject;

  constructor(scope: Construct, id: string, props: ScaledWorkQueueJobProps) {
    super(scope, id, props);
    this.maxJobs = props.maxJobs;
    this.name = props.name ?? Names.toDnsLabel(this, { maxLen: MAX_SCALED_JOB_NAME_LENGTH });
    this.checkScalingProps(props);
    const coarse = props.pattern === 'coarse';
    const { trigger, secretTargets } = queueTrigger(this, {
      broker: this.broker,
      queue: this.queue,
      itemsPerJob: coarse ? 1 : (props.itemsPerJob ?? 10),
      activationQueueLength: props.activationQueueLength ?? 0,
      brokerNamespace: props.brokerNamespace,
    });

    // The Jobs' spec comes from the worker Job that WorkQueueJob would synthesize, built here and
    // then taken out of the tree: only its spec is synthesized, as the ScaledJob's jobTargetRef.
    // KEDA names the Jobs itself, and updates the ScaledJob in place: no hash in the name.
    const template = this.createWorkerJob(this, 'JobTemplate', props, {
      name: this.name,
      nameByHash: false,
      parallelism: coarse ? 1 : (props.parallelism ?? 1),
      completions: coarse ? 1 : undefined,
    });
    this.node.tryRemoveChild(template.node.id);
    const templateObject = ApiObject.of(template);
    // cdk8s types the synthesized JSON as `any`; the labels in it are strings.
    const labels = (templateObject.metadata.toJson() as { labels?: Record<string, string> }).labels;

    if (secretTargets) {
      this.triggerAuthentication = new ApiObject(this, 'TriggerAuthentication', {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: `${this.name}-broker`, labels },
        spec: { secretTargetRef: secretTargets },
      });
    }

    // Resolved at synthesis, so what is added to the template's spec after this still goes in; it goes through as it is.
    const jobTargetRef: unknown = Lazy.any({ produce: () => (templateObject.toJson() as { spec: unknown }).spec });
    const strategy = props.scalingStrategy ?? (coarse ? 'accurate' : 'default');
    this.scaledJob = new ApiObject(this, 'Resource', {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledJob',
      metadata: { name: this.name, labels },
      spec: {
        jobTargetRef,
        pollingInterval: secondsOf(props.pollingInterval) ?? 30,
        maxReplicaCount: props.maxJobs,
        successfulJobsHistoryLimit: props.successfulJobsHistoryLimit ?? 100,
        failedJobsHistoryLimit: props.failedJobsHistoryLimit ?? 100,
        // An update of the ScaledJob leaves running Jobs to finish instead of deleting them.
        rollout: { strategy: 'gradual' },
        scalingStrategy: kedaScalingStrategy(strategy, {
          queueLengthDeduction: props.customScalingQueueLengthDeduction,
          runningJobPercentage: props.customScalingRunningJobPercentage,
        }),
        triggers: [
          {
            ...trigger,
            ...(this.triggerAuthentication ? { authenticationRef: { name: this.triggerAuthentication.name } } : {}),
          },
        ],
      },
    });
    // KEDA's operator reads the queue length itself, from its own namespace.
    const kedaNamespace = props.kedaNamespace ?? 'keda';
    check(this, 'kedaNamespace', kedaNamespace, PropRules.dnsLabel);
    this.broker.admitPeer(
      kplus.Pods.select(this, 'KedaOperator', {
        labels: props.kedaOperatorLabels ?? { 'app.kubernetes.io/name': 'keda-operator' },
        namespaces: kplus.Namespaces.select(this, 'KedaNamespace', { names: [kedaNamespace] }),
      }),
    );
    this.node.addDependency(this.broker);
    if (props.seeder) this.node.addDependency(props.seeder);
  }

  private checkScalingProps(props: ScaledWorkQueueJobProps): void {
    checkRequired(this, 'maxJobs', props.maxJobs, Rules.positiveInteger);
    if (props.name !== undefined && props.name.length > MAX_SCALED_JOB_NAME_LENGTH) {
      fail(
        this,
        'name',
        props.name,
        `at most ${MAX_SCALED_JOB_NAME_LENGTH} characters: KEDA appends 6 characters to name each Job, and a Job's name must fit a 63-character label`,
      );
    }
    checkDuration(this, 'pollingInterval', props.pollingInterval, Rules.positiveInteger);
    check(this, 'itemsPerJob', props.itemsPerJob, Rules.positiveInteger);
    check(this, 'activationQueueLength', props.activationQueueLength, Rules.nonNegativeInteger);
    check(this, 'parallelism', props.parallelism, Rules.positiveInteger);
    check(this, 'successfulJobsHistoryLimit', props.successfulJobsHistoryLimit, Rules.nonNegativeInteger);
    check(this, 'failedJobsHistoryLimit', props.failedJobsHistoryLimit, Rules.nonNegativeInteger);
    const completions = (props as { completions?: unknown }).completions;
    if (completions !== undefined) {
      fail(
        this,
        'completions',
        completions,
        'no completions: each Job KEDA creates takes one item (coarse) or drains the list (fine)',
      );
    }
    if (props.pattern === 'coarse') {
      if (props.parallelism !== undefined)
        fail(
          this,
          'parallelism',
          props.parallelism,
          'no parallelism for the coarse pattern: each Job takes one item with one pod',
        );
      if (props.itemsPerJob !== undefined)
        fail(this, 'itemsPerJob', props.itemsPerJob, 'no itemsPerJob for the coarse pattern: each Job takes one item');
    }
    checkScalingStrategy(this, props.scalingStrategy);
    for (const field of ['customScalingQueueLengthDeduction', 'customScalingRunningJobPercentage'] as const) {
      if (props[field] !== undefined && props.scalingStrategy !== 'custom')
        fail(this, field, props[field], `no ${field} without scalingStrategy: "custom"`);
    }
    check(this, 'customScalingQueueLengthDeduction', props.customScalingQueueLengthDeduction, Rules.nonNegativeInteger);
    const percentage = props.customScalingRunningJobPercentage;
    if (percentage !== undefined && !(typeof percentage === 'number' && percentage >= 0 && percentage <= 1)) {
      fail(this, 'customScalingRunningJobPercentage', percentage, 'a number from 0 to 1');
    }
  }
}
