import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { describeProblem, PropRules, type Rule, Rules, SECRET_SHOWN_AS } from '../../contract';
import {
  type AutoscaleConfig,
  type BrokerKind,
  COARSE_TUTORIAL,
  FINE_TUTORIAL,
  INDEXED_EXAMPLE,
  type StackPattern,
} from '../config';
import { defined } from './defined';
import { PROJECT_ROOT } from './project-root';
import { type RegistryConfig, type StackFields, type WorkQueueStackArgs } from './work-queue-stack-args';

/**
 * The example a stack starts from, named after its pattern: the two queue tutorials and the
 * Indexed Job; every other key overrides one of its fields.
 */
export const TUTORIALS = { coarse: COARSE_TUTORIAL, fine: FINE_TUTORIAL, indexed: INDEXED_EXAMPLE } as const;
export type TutorialName = keyof typeof TUTORIALS;

/** How the program's Kubernetes provider reaches the cluster. */
export interface ClusterConfig {
  /** A kubeconfig's contents, or its path made absolute, a secret. @default - the ambient kubeconfig ($KUBECONFIG or ~/.kube/config) */
  readonly kubeconfig?: pulumi.Output<string>;
  /** @default - the kubeconfig's current context */
  readonly context?: string;
  /** Take over objects that exist already (pulumi-kubernetes' `upsertExistingObjects`) instead of failing with AlreadyExists. */
  readonly adoptExisting: boolean;
}

/** Everything the Pulumi program is run with, read and checked from the stack's config. */
export interface WorkQueueProgramConfig {
  readonly component: WorkQueueStackArgs;
  readonly cluster: ClusterConfig;
}

/** A local registry as kind's guide sets one up, so a kind cluster works with no config at all. */
export const DEFAULT_REGISTRY = { server: 'localhost:5001', repository: 'work-queue' } as const;

const REGISTRY_SERVER = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

const registryServerRule: Rule = (value) =>
  typeof value === 'string' && REGISTRY_SERVER.test(value)
    ? undefined
    : 'a registry host with an optional port, such as "localhost:5001" or "ghcr.io", without scheme or path';
const repositoryRule: Rule = (value) =>
  typeof value === 'string' && REPOSITORY.test(value)
    ? undefined
    : 'a repository path of lowercase a-z, 0-9 and . _ - separated by "/", such as "work-queue" or "my-org/work-queue"';
const optionalStringRule: Rule = (value) =>
  value === undefined || (typeof value === 'string' && value !== '') ? undefined : 'a non-empty string';

/**
 * Reads the stack's config with typed getters. Fields of the work-queue stack are only read here;
 * the constructs check them when the component builds the charts, so their rules and messages exist
 * once. The keys only the program has (image and registry, cluster access, timeouts) are checked
 * here, in the same `<key>: got <value>, expected <what>` form.
 */
export function readProgramConfig(config: pulumi.Config = new pulumi.Config()): WorkQueueProgramConfig {
  const key = (name: string) => `${config.name}:${name}`;
  const problem = (name: string, value: unknown, expected: string) =>
    new pulumi.RunError(describeProblem(key(name), value, expected));
  /** Pulumi's getters throw their own wording on a value of the wrong type; this gives ours. */
  const typed = <T>(name: string, expected: string, read: () => T): T => {
    try {
      return read();
    } catch {
      throw problem(name, config.get(name), expected);
    }
  };
  const ensure = (name: string, value: unknown, rule: Rule) => {
    const expected = rule(value);
    if (expected !== undefined) throw problem(name, value, expected);
  };
  /** As `ensure`, but a secret's value never goes into the message. */
  const ensureSecret = (name: string, value: unknown, rule: Rule) => {
    const expected = rule(value);
    if (expected !== undefined) throw problem(name, SECRET_SHOWN_AS, expected);
  };

  const pattern = config.get<StackPattern>('pattern');
  // Unset, the tutorial is the example of the pattern (coarse when neither is set).
  const tutorialName = config.get('tutorial') ?? (pattern !== undefined && pattern in TUTORIALS ? pattern : 'coarse');
  if (!(tutorialName in TUTORIALS)) throw problem('tutorial', tutorialName, '"coarse", "fine" or "indexed"');
  // The tutorials leave the coarse Job's completions to the items, so `items` can change alone.
  const tutorial: StackFields = TUTORIALS[tutorialName as TutorialName];
  if (pattern !== undefined && (pattern === 'indexed') !== (tutorial.pattern === 'indexed')) {
    // The queue tutorials' broker and queue do not apply to an Indexed Job, and the indexed example has neither.
    const fitting = pattern === 'indexed' ? '"indexed"' : '"coarse" or "fine"';
    throw problem(
      'tutorial',
      tutorialName,
      `${fitting} with ${key('pattern')} "${pattern}", or no tutorial (the example of the pattern)`,
    );
  }

  const stack: StackFields = {
    ...tutorial,
    ...defined({
      name: config.get('name'),
      broker: config.get<BrokerKind>('broker'),
      pattern,
      queue: config.get('queue'),
      items: typed('items', 'a JSON array of strings', () => config.getObject<string[]>('items')),
      jobName: config.get('jobName'),
      parallelism: typed('parallelism', 'a number', () => config.getNumber('parallelism')),
      completions: typed('completions', 'a number', () => config.getNumber('completions')),
      run: config.get('run'),
      seedWaitSeconds: typed('seedWaitSeconds', 'a number', () => config.getNumber('seedWaitSeconds')),
      workSeconds: typed('workSeconds', 'a number', () => config.getNumber('workSeconds')),
      workCommand: config.get('workCommand'),
      leaseSeconds: typed('leaseSeconds', 'a number', () => config.getNumber('leaseSeconds')),
      maxAttempts: typed('maxAttempts', 'a number', () => config.getNumber('maxAttempts')),
      workTimeoutSeconds: typed('workTimeoutSeconds', 'a number', () => config.getNumber('workTimeoutSeconds')),
      consumerTimeoutSeconds: typed('consumerTimeoutSeconds', 'a number', () =>
        config.getNumber('consumerTimeoutSeconds'),
      ),
      brokerSecretName: config.get('brokerSecretName'),
      brokerReplicas: typed('brokerReplicas', 'a number', () => config.getNumber('brokerReplicas')),
      autoscale: typed('autoscale', 'a JSON object such as {"maxJobs": 5}', () =>
        config.getObject<AutoscaleConfig>('autoscale'),
      ),
      maxFailedItems: typed('maxFailedItems', 'a number', () => config.getNumber('maxFailedItems')),
      succeededCount: typed('succeededCount', 'a number', () => config.getNumber('succeededCount')),
      kubernetesVersion: config.get('kubernetesVersion'),
    }),
  };

  const image = config.get('image');
  ensure('image', image, optionalStringRule);
  const registry =
    typed('registry', 'a JSON object', () => config.getObject<Record<string, unknown>>('registry')) ?? {};
  if (typeof registry !== 'object' || Array.isArray(registry))
    throw problem('registry', registry, 'an object with "server" and optionally "repository", "username", "password"');
  const server = registry.server ?? DEFAULT_REGISTRY.server;
  const repository = registry.repository ?? DEFAULT_REGISTRY.repository;
  ensure('registry.server', server, registryServerRule);
  ensure('registry.repository', repository, repositoryRule);
  ensure('registry.username', registry.username, optionalStringRule);
  ensureSecret('registry.password', registry.password, optionalStringRule);
  // The constructs check the secrets with this same rule, but their messages would show them.
  const credentialRule: Rule = (value) => (value === undefined ? undefined : PropRules.credential(value));
  ensureSecret('brokerPassword', config.get('brokerPassword'), credentialRule);
  ensureSecret('erlangCookie', config.get('erlangCookie'), credentialRule);

  const jobTimeoutSeconds = typed('jobTimeoutSeconds', 'a number', () => config.getNumber('jobTimeoutSeconds'));
  if (jobTimeoutSeconds !== undefined) ensure('jobTimeoutSeconds', jobTimeoutSeconds, Rules.positiveInteger);
  const namespace = config.get('namespace');
  const createNamespace = typed('createNamespace', 'true or false', () => config.getBoolean('createNamespace'));
  if (createNamespace && namespace === undefined)
    throw problem('createNamespace', true, `false or nothing without ${key('namespace')}`);
  const context = config.get('context');
  ensure('context', context, optionalStringRule);

  const registryConfig: RegistryConfig = {
    server: server as string,
    repository: repository as string,
    username: registry.username as string | undefined,
    // The whole `registry` key is a secret once a nested value is; the password alone stays one here.
    password: registry.password === undefined ? undefined : pulumi.secret(registry.password as string),
  };
  return {
    component: {
      stack,
      image,
      namespace,
      // With an image nothing is pushed: the registry is left out, so that no part of it can matter.
      registry: image === undefined ? registryConfig : undefined,
      brokerPassword: config.getSecret('brokerPassword'),
      erlangCookie: config.getSecret('erlangCookie'),
      createNamespace,
      jobTimeoutSeconds,
      skipJobAwait: typed('skipJobAwait', 'true or false', () => config.getBoolean('skipJobAwait')),
    },
    cluster: {
      kubeconfig: config.getSecret('kubeconfig')?.apply(resolveKubeconfig),
      context,
      adoptExisting: typed('adoptExisting', 'true or false', () => config.getBoolean('adoptExisting')) ?? false,
    },
  };
}

/**
 * A kubeconfig path made absolute against the project root; contents (several lines, or JSON) as
 * they are. pulumi-kubernetes would resolve a relative path against its working directory, the
 * directory of `main`; `~` it expands itself.
 */
export function resolveKubeconfig(pathOrContents: string): string {
  const isContents = pathOrContents.includes('\n') || pathOrContents.trimStart().startsWith('{');
  if (isContents || pathOrContents.startsWith('~') || path.isAbsolute(pathOrContents)) return pathOrContents;
  return path.resolve(PROJECT_ROOT, pathOrContents);
}
