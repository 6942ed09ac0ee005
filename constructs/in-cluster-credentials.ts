import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Command, Env, type GeneratedSecret, PropRules } from '../contract';
import {
  createWorkerImageJob,
  DEFAULT_TTL_AFTER_FINISHED,
  MAX_JOB_NAME_LENGTH,
  type WorkerImageJobSettings,
} from './client-job';
import { containerResources } from './resources';
import { check, fail } from './validate';

export interface InClusterCredentialsProps {
  /** The Secrets to create in the namespace when they are missing; one that exists is never changed. */
  readonly secrets: GeneratedSecret[];
  /**
   * Name of the ServiceAccount, the Role and the RoleBinding, and of the Job before its hash
   * (`<name>-<hash>`, the name cut to 54 characters): a-z, 0-9 and "-".
   */
  readonly name: string;
  /** Labels of every object and of the Job's pods. */
  readonly labels: Record<string, string>;
  /**
   * The worker image, whose `work-queue credentials` creates the Secrets.
   * @default - none yet: the Job is built when `useImage` gives one
   */
  readonly image?: string;
  /**
   * CPU and memory of the container.
   * @default - requests 50m CPU and 64Mi memory; limits 500m CPU and 256Mi memory
   */
  readonly resources?: kplus.ContainerResources;
}

/**
 * Credentials created once, inside the cluster, instead of at synth: a Job runs the worker image's
 * `work-queue credentials`, which creates each Secret of `CREDENTIALS` unless it exists, with
 * random values for the keys to generate. Its ServiceAccount may `create` Secrets (RBAC cannot
 * narrow a create by name) and `get` only these Secrets by name. Re-applying the manifests, or a
 * re-run of the Job, never changes a Secret, so the manifests carry no credential and do not
 * change from one synth to the next.
 *
 * The RoleBinding names the ServiceAccount in the chart's namespace; for a chart without one it
 * names no namespace, which RBAC reads as the RoleBinding's own (wherever `kubectl apply -n` puts it).
 */
export class InClusterCredentials extends Construct {
  public readonly secretNames: string[];
  public readonly serviceAccount: kplus.k8s.KubeServiceAccount;
  public readonly role: kplus.k8s.KubeRole;
  public readonly roleBinding: kplus.k8s.KubeRoleBinding;
  /** Everything the Job that creates the Secrets is built from but its image. */
  private readonly jobSettings: Omit<WorkerImageJobSettings, 'image'>;
  private credentialsJob?: kplus.Job;

  constructor(scope: Construct, id: string, props: InClusterCredentialsProps) {
    super(scope, id);
    // The RBAC objects take up to 253 characters; the Job's name is cut to fit a label.
    if (!(
      typeof props.name === 'string' &&
      props.name.length <= 253 &&
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.name)
    )) {
      fail(
        this,
        'name',
        props.name,
        'at most 253 characters of a-z, 0-9 and "-", starting and ending with a letter or digit',
      );
    }
    if (props.secrets.length === 0) fail(this, 'secrets', props.secrets, 'at least one Secret to create');
    this.secretNames = props.secrets.map((secret) => secret.name);
    const { name, labels } = props;

    this.serviceAccount = new kplus.k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, labels },
      // Only the Job's pods, which ask for it, get a token.
      automountServiceAccountToken: false,
    });
    this.role = new kplus.k8s.KubeRole(this, 'Role', {
      metadata: { name, labels },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: this.secretNames },
      ],
    });
    this.roleBinding = new kplus.k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      // Without a namespace, RBAC takes the ServiceAccount from the RoleBinding's own namespace
      // (kubernetes pkg/registry/rbac/validation/rule.go, appliesToUser); only a ClusterRoleBinding needs one.
      subjects: [
        {
          kind: 'ServiceAccount',
          name,
          ...(Chart.of(this).namespace !== undefined && { namespace: Chart.of(this).namespace }),
        },
      ],
    });
    this.jobSettings = {
      name: name.length > MAX_JOB_NAME_LENGTH ? name.slice(0, MAX_JOB_NAME_LENGTH).replace(/-+$/, '') : name,
      nameByHash: true,
      labels,
      args: [Command.credentials],
      env: { [Env.credentials]: kplus.EnvValue.fromValue(JSON.stringify(props.secrets)) },
      backoffLimit: 6,
      ttlAfterFinished: DEFAULT_TTL_AFTER_FINISHED,
      resources:
        props.resources ??
        containerResources({ cpuMillis: { request: 50, limit: 500 }, memoryMiB: { request: 64, limit: 256 } }),
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'ServiceAccountRef', name),
    };
    if (props.image !== undefined) this.useImage(props.image);
  }

  /** The Job that creates the Secrets, once an image is known. */
  public get job(): kplus.Job | undefined {
    return this.credentialsJob;
  }

  /** Builds the Job with `image` unless it has been built already. */
  public useImage(image: string): void {
    if (this.credentialsJob !== undefined) return;
    check(this, 'image', image, PropRules.image);
    this.credentialsJob = createWorkerImageJob(this, 'Resource', { ...this.jobSettings, image });
  }
}
