import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as pulumi from '@pulumi/pulumi';
import { COARSE_TUTORIAL, FINE_TUTORIAL } from '../../stacks/config';
import type { WorkQueueStackArgs } from '../../stacks/pulumi/work-queue-stack-component';
import { only, podSpec } from '../manifests';
import {
  type Run,
  dependsOn,
  group,
  isSecretValue,
  job,
  resource,
  reveal,
  runInStack,
  takeRegistered,
  useMocks,
  waitForRegistrations,
} from './pulumi-mocks';

const JOB_AWAIT = 'pulumi-nodejs:dynamic/work-queue:JobAwait';
const IMAGE = `registry.example.com/team/work-queue@sha256:${'b2'.repeat(32)}`;
const KUBECONFIG = 'apiVersion: v1\nkind: Config\n';

/** A platform team's own program: its provider, and one WorkQueueStack given through the package's `./pulumi` entry. */
function compose(args: WorkQueueStackArgs, options: { provider?: boolean } = { provider: true }) {
  return async () => {
    const k8s = await import('@pulumi/kubernetes');
    const { WorkQueueStack } = await import('../../stacks/pulumi/work-queue-stack-component');
    const provider = options.provider
      ? new k8s.Provider('team-cluster', { kubeconfig: pulumi.secret(KUBECONFIG), context: 'prod' })
      : undefined;
    const stack = new WorkQueueStack('thumbnails', args, { provider });
    return { image: stack.image, jobName: stack.jobName, followJob: stack.followJob };
  };
}

/**
 * The message the component fails with. It registers itself first, as any component does, and then
 * checks its args before it registers any child, so a plain construction shows it (inside a stack,
 * the runtime would re-raise the error unhandled).
 */
async function composeFailure(args: WorkQueueStackArgs): Promise<string> {
  const { WorkQueueStack } = await import('../../stacks/pulumi/work-queue-stack-component');
  takeRegistered();
  let error: Error | undefined;
  try {
    new WorkQueueStack('thumbnails', args);
  } catch (e) {
    error = e as Error;
  }
  expect(error).toBeInstanceOf(pulumi.RunError);
  await waitForRegistrations();
  expect(takeRegistered().map((r) => r.type)).toEqual(['work-queue:index:WorkQueueStack']);
  return error!.message;
}

beforeAll(() => useMocks('production'));

describe("WorkQueueStack in a platform team's own program", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runInStack(
      compose({ stack: { ...FINE_TUTORIAL, name: 'thumbs', queue: 'thumbnails' }, namespace: 'media', image: IMAGE }),
    );
  });

  test("names its children from the component's name", () => {
    const children = run.resources.filter(
      (r) =>
        !['pulumi:pulumi:Stack', 'work-queue:index:WorkQueueStack', 'pulumi:providers:kubernetes'].includes(r.type),
    );
    expect(children.map((r) => r.name).sort()).toEqual([
      'thumbnails-broker',
      'thumbnails-job',
      'thumbnails-job-await',
      'thumbnails-namespace',
      'thumbnails-seed-job',
      'thumbnails-seed-job-await',
      'thumbnails-seeder',
    ]);
  });

  test("applies every object with the provider of its resource options, and awaits the Jobs with that provider's kubeconfig and context", () => {
    for (const r of run.resources.filter((r) => r.type.startsWith('kubernetes:')))
      expect(r.provider).toMatch(/pulumi:providers:kubernetes::team-cluster::team-cluster-id$/);
    for (const name of ['thumbnails-seed-job-await', 'thumbnails-job-await']) {
      const { inputs } = resource(run, JOB_AWAIT, name);
      expect(isSecretValue(inputs.kubeconfig)).toBe(true);
      expect(reveal(inputs.kubeconfig)).toBe(KUBECONFIG);
      expect(inputs.context).toBe('prod');
      expect(inputs.namespace).toBe('media');
    }
    const jobName = job(run, 'thumbnails-job').metadata.name;
    expect(run.outputs.followJob).toBe(
      `kubectl --context prod --namespace media logs --follow --prefix --selector job-name=${String(jobName)} --max-log-requests 8`,
    );
  });

  test('runs the given image, building nothing', () => {
    expect(run.loaded.has('@pulumi/docker')).toBe(false);
    for (const name of ['thumbnails-seed-job', 'thumbnails-job'])
      expect(podSpec(job(run, name)).containers[0].image).toBe(IMAGE);
    expect(run.outputs.image).toBe(IMAGE);
  });

  test("reads the broker's host and the Jobs from the construct tree", () => {
    expect(only(group(run, 'thumbnails-broker'), 'Service').metadata.name).toBe('redis');
    // The component applies the Namespace (thumbnails-namespace) itself: the broker chart carries none.
    expect(group(run, 'thumbnails-broker').map((o) => o.kind)).not.toContain('Namespace');
    expect(group(run, 'thumbnails-seeder').map((o) => o.kind)).toEqual(['ConfigMap']);
    expect(job(run, 'thumbnails-seed-job').metadata.name).toMatch(/^job-wq-2-seed-[0-9a-f]{8}$/);
    expect(job(run, 'thumbnails-job').metadata.name).toMatch(/^job-wq-2-[0-9a-f]{8}$/);
    expect(run.outputs.jobName).toBe(job(run, 'thumbnails-job').metadata.name);
  });
});

test("without a provider, uses the default one, and awaits with the stack's kubernetes:kubeconfig and kubernetes:context as it does", async () => {
  const run = await runInStack(compose({ stack: FINE_TUTORIAL, image: IMAGE }, { provider: false }), {
    'kubernetes:context': 'kind-work',
  });
  // No provider reference: the engine's default provider, which reads the same config.
  for (const r of run.resources.filter((r) => r.type.startsWith('kubernetes:'))) expect(r.provider ?? '').toBe('');
  expect(resource(run, JOB_AWAIT, 'thumbnails-job-await').inputs).toMatchObject({
    context: 'kind-work',
    namespace: 'default',
  });
  expect(reveal(resource(run, JOB_AWAIT, 'thumbnails-job-await').inputs.kubeconfig) ?? undefined).toBeUndefined();
});

test("with autoscale, applies KEDA's ScaledJob after the seeding Job, with no worker Job of its own to await", async () => {
  const run = await runInStack(
    compose({
      stack: { ...COARSE_TUTORIAL, brokerSecretName: 'mq', autoscale: { maxJobs: 4 } },
      namespace: 'media',
      image: IMAGE,
    }),
  );
  expect(group(run, 'thumbnails-workers').map((o) => o.kind)).toContain('ScaledJob');
  expect(run.resources.filter((r) => r.name === 'thumbnails-job' || r.name === 'thumbnails-job-await')).toEqual([]);
  const seeded = await new Promise<string>((done) =>
    run.options.get('thumbnails-seed-job-await')!.resource.urn.apply(done),
  );
  expect(await dependsOn(run, 'thumbnails-workers')).toEqual([seeded]);
});

describe("WorkQueueStack fed from other resources' outputs", () => {
  let run: Run;
  let renders: number;
  beforeAll(async () => {
    run = await runInStack(async () => {
      const k8s = await import('@pulumi/kubernetes');
      const stackObjects = await import('../../stacks/pulumi/stack-objects');
      const render = jest.spyOn(stackObjects, 'renderStack');
      const { WorkQueueStack } = await import('../../stacks/pulumi/work-queue-stack-component');
      // The team applies the namespace and builds the image itself; the password is a secret output.
      const media = new k8s.core.v1.Namespace('team-namespace', { metadata: { name: 'media' } });
      const stack = new WorkQueueStack('thumbnails', {
        stack: { ...FINE_TUTORIAL, brokerReplicas: 1 },
        image: pulumi.output(IMAGE),
        namespace: media.metadata.name,
        createNamespace: false,
        brokerPassword: pulumi.secret(pulumi.output('team-password')),
      });
      await new Promise<void>((done) => stack.jobName.apply(() => done()));
      renders = render.mock.calls.length;
      return { image: stack.image, jobName: stack.jobName, followJob: stack.followJob, brokerHost: stack.brokerHost };
    });
  });

  test('renders the charts once, when the outputs are known, and applies what that render gave', () => {
    expect(renders).toBe(1);
    for (const name of ['thumbnails-seed-job', 'thumbnails-job']) {
      expect(podSpec(job(run, name)).containers[0].image).toBe(IMAGE);
      expect(job(run, name).metadata.namespace).toBe('media');
    }
    for (const name of ['thumbnails-broker', 'thumbnails-seeder'])
      for (const object of group(run, name)) expect(object.metadata.namespace).toBe('media');
    expect(run.outputs).toMatchObject({
      image: IMAGE,
      brokerHost: 'redis',
      jobName: job(run, 'thumbnails-job').metadata.name,
    });
    expect(run.outputs.followJob).toMatch(/^kubectl --namespace media logs /);
  });

  test('keeps the broker group secret with the given password, the clients free of it, and generates nothing', () => {
    const broker = resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'thumbnails-broker');
    expect(isSecretValue(broker.inputs.objs)).toBe(true);
    expect(JSON.stringify(reveal(broker.inputs.objs))).toContain('team-password');
    for (const { inputs } of [
      resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'thumbnails-seeder'),
      ...run.resources.filter((r) => r.type === 'kubernetes:batch/v1:Job'),
    ]) {
      expect(isSecretValue(inputs.objs ?? inputs.spec)).toBe(false);
      expect(JSON.stringify(inputs)).not.toContain('team-password');
    }
    expect(
      run.resources
        .filter((r) => r.type.startsWith('random:') || r.type === 'kubernetes:core/v1:Namespace')
        .map((r) => r.name),
    ).toEqual(['team-namespace']);
  });
});

test('runs an image output that names a tag as it is: that a tag is not pinned is a warning, not a failure', async () => {
  const tagged = 'registry.example.com/team/work-queue:v1';
  const run = await runInStack(compose({ stack: FINE_TUTORIAL, image: pulumi.output(tagged) }));
  expect(podSpec(job(run, 'thumbnails-job')).containers[0].image).toBe(tagged);
});

describe('fails before registering anything', () => {
  test('fails without an image when the build context holds no worker/Dockerfile, as in an installed package', async () => {
    const installed = mkdtempSync(join(tmpdir(), 'installed-'));
    try {
      const message = await composeFailure({
        stack: FINE_TUTORIAL,
        registry: { server: 'ghcr.io', repository: 'team/work-queue' },
        buildContext: installed,
      });
      expect(message).toContain(
        `image: got nothing, expected an existing image reference (registry.example.com/work-queue@sha256:...), since ${installed} holds no worker/Dockerfile`,
      );
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });

  test('fails without an image and without a registry to push one to', async () => {
    expect(await composeFailure({ stack: FINE_TUTORIAL })).toContain(
      'registry: got nothing, expected where to push the built image',
    );
  });

  test('fails on a namespace to create when there is none, and on a bad timeout', async () => {
    expect(await composeFailure({ stack: FINE_TUTORIAL, image: IMAGE, createNamespace: true })).toContain(
      'createNamespace: got true, expected false or nothing',
    );
    expect(await composeFailure({ stack: FINE_TUTORIAL, image: IMAGE, jobTimeoutSeconds: 1.5 })).toContain(
      'jobTimeoutSeconds: got 1.5, expected a whole number of at least 1',
    );
  });
});
