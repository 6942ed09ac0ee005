import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join, resolve } from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { COARSE_TUTORIAL } from '../../stacks/config';
import { resolveKubeconfig } from '../../stacks/pulumi/config';
import { seedId } from '../../contract';
import { configMapItems, containerEnv, only, podSpec } from '../manifests';
import {
  DIGEST,
  GENERATED_COOKIE,
  GENERATED_PASSWORD,
  PROJECT,
  ROOT,
  type Run,
  dependsOn,
  group,
  isSecretValue,
  job,
  programFailure,
  projectConfig,
  resource,
  reveal,
  runInStack,
  runProgram,
  stackFileConfig,
  useMocks,
} from './pulumi-mocks';

const JOB_AWAIT = 'pulumi-nodejs:dynamic/work-queue:JobAwait';
/** A Job's name: its prefix and 8 hex digits of a hash of what Kubernetes cannot change on it. */
const hashedName = (prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{8}$`);
const GIVEN_IMAGE = `registry.example.com/team/work-queue@sha256:${'a1'.repeat(32)}`;

beforeAll(() => useMocks());

describe('Pulumi program', () => {
  describe('with no config at all', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runProgram();
    });

    test('builds worker/Dockerfile from the repository root and pushes it to the default local registry', () => {
      const image = resource(run, 'docker:index/image:Image', 'coarse-worker-image');
      expect(resolve(image.inputs.build.context)).toBe(resolve(ROOT));
      expect(resolve(image.inputs.build.dockerfile)).toBe(join(resolve(ROOT), 'worker', 'Dockerfile'));
      expect(image.inputs.imageName).toBe('localhost:5001/work-queue:coarse');
      expect(image.inputs.registry).toEqual({ server: 'localhost:5001' });
    });

    test('runs both Jobs from the pushed repoDigest, never a tag', () => {
      const digest = `localhost:5001/work-queue@${DIGEST}`;
      expect(run.outputs.image).toBe(digest);
      for (const name of ['coarse-seed-job', 'coarse-job']) {
        expect(podSpec(job(run, name)).containers[0].image).toBe(digest);
        expect(podSpec(job(run, name)).containers[0].imagePullPolicy).toBe('IfNotPresent');
      }
    });

    test('applies the coarse tutorial: RabbitMQ, queue job1 with 8 items, completions 8, parallelism 2', () => {
      expect(only(group(run, 'coarse-broker'), 'StatefulSet').metadata.name).toBe('rabbitmq');
      const items = configMapItems(only(group(run, 'coarse-seeder'), 'ConfigMap'));
      expect(items).toEqual(['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon']);
      expect(job(run, 'coarse-seed-job').metadata.name).toMatch(hashedName('job-wq-1-seed'));
      const worker = job(run, 'coarse-job');
      expect(worker.metadata.name).toMatch(hashedName('job-wq-1'));
      expect(worker.spec.completions).toBe(8);
      expect(worker.spec.parallelism).toBe(2);
      expect(containerEnv(worker).byName.QUEUE.value).toBe('job1');
    });

    test('applies in order, each step awaited: broker, items, seeding Job and its await, worker Job and its await', async () => {
      const urnOf = async (name: string) =>
        new Promise<string>((done) => run.options.get(name)!.resource.urn.apply(done));
      expect(await dependsOn(run, 'coarse-broker')).toEqual([]);
      expect(await dependsOn(run, 'coarse-seeder')).toEqual([await urnOf('coarse-broker')]);
      expect(await dependsOn(run, 'coarse-seed-job')).toEqual([await urnOf('coarse-seeder')]);
      expect(await dependsOn(run, 'coarse-job')).toEqual([await urnOf('coarse-seed-job-await')]);
      // Each await takes its Job's namespace and uid from the Job resource's outputs, so it runs after it.
      expect(resource(run, JOB_AWAIT, 'coarse-seed-job-await').inputs).toMatchObject({
        namespace: 'default',
        name: job(run, 'coarse-seed-job').metadata.name,
        uid: 'uid-coarse-seed-job',
      });
      expect(resource(run, JOB_AWAIT, 'coarse-job-await').inputs).toMatchObject({
        namespace: 'default',
        name: job(run, 'coarse-job').metadata.name,
        uid: 'uid-coarse-job',
      });
    });

    test('awaits the seeding Job for 10 minutes and the worker Job for an hour, reading them every 2 s', () => {
      expect(resource(run, JOB_AWAIT, 'coarse-seed-job-await').inputs).toMatchObject({
        timeoutSeconds: 600,
        intervalSeconds: 2,
      });
      expect(resource(run, JOB_AWAIT, 'coarse-job-await').inputs).toMatchObject({
        timeoutSeconds: 3600,
        intervalSeconds: 2,
      });
      // The provider travels serialized with the resource, as `pulumi up` runs it (see job-await.test.ts).
      expect(resource(run, JOB_AWAIT, 'coarse-job-await').inputs.__provider).toContain('exports.handler');
    });

    test("leaves the Jobs' await to the JobAwaits, and has pulumi-kubernetes delete a replaced Job in the background", () => {
      for (const name of ['coarse-seed-job', 'coarse-job']) {
        expect(job(run, name).metadata.annotations).toEqual({
          'pulumi.com/skipAwait': 'true',
          'pulumi.com/deletionPropagationPolicy': 'background',
        });
      }
    });

    test('parents every resource to a work-queue:index:WorkQueueStack component and names it from the component', () => {
      const component = run.options.get('coarse')!.resource;
      expect(resource(run, 'work-queue:index:WorkQueueStack', 'coarse')).toBeDefined();
      const children = run.resources.filter(
        (r) =>
          !['pulumi:pulumi:Stack', 'work-queue:index:WorkQueueStack', 'pulumi:providers:kubernetes'].includes(r.type),
      );
      expect(children.map((r) => r.name).sort()).toEqual([
        'coarse-broker',
        'coarse-broker-password',
        'coarse-job',
        'coarse-job-await',
        'coarse-seed-job',
        'coarse-seed-job-await',
        'coarse-seeder',
        'coarse-worker-image',
      ]);
      for (const { name } of children) expect(run.options.get(name)!.opts.parent).toBe(component);
    });

    test("applies every Kubernetes object through the program's provider, on the ambient kubeconfig, failing on objects that exist", () => {
      const provider = resource(run, 'pulumi:providers:kubernetes', 'coarse-cluster');
      expect(provider.inputs.kubeconfig).toBeUndefined();
      expect(provider.inputs.context).toBeUndefined();
      expect(provider.inputs.upsertExistingObjects).toBe('false');
      const kubernetes = run.resources.filter((r) => r.type.startsWith('kubernetes:'));
      expect(kubernetes).toHaveLength(4);
      for (const r of kubernetes)
        expect(r.provider).toMatch(/\$pulumi:providers:kubernetes::coarse-cluster::coarse-cluster-id$/);
      for (const name of ['coarse-seed-job-await', 'coarse-job-await']) {
        expect(reveal(resource(run, JOB_AWAIT, name).inputs.kubeconfig) ?? undefined).toBeUndefined();
        expect(resource(run, JOB_AWAIT, name).inputs.context ?? undefined).toBeUndefined();
      }
    });

    test('keeps the generated broker password a secret: the broker group is secret, the others never hold it', () => {
      const broker = resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker');
      expect(isSecretValue(broker.inputs.objs)).toBe(true);
      expect(only(group(run, 'coarse-broker'), 'Secret').stringData.password).toBe(GENERATED_PASSWORD);
      const others = [
        resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-seeder'),
        ...run.resources.filter((r) => r.type === 'kubernetes:batch/v1:Job'),
      ];
      for (const { inputs } of others) expect(JSON.stringify(inputs)).not.toContain(GENERATED_PASSWORD);
      // Generated once and kept in the state, URL-safe since it goes into BROKER_URL as it is.
      expect(resource(run, 'random:index/randomPassword:RandomPassword').inputs).toMatchObject({
        length: 32,
        special: false,
      });
    });

    test('gives the broker its password, so that the constructs add no credentials Job: the state is the one source of truth', () => {
      const kinds = group(run, 'coarse-broker').map((object) => object.kind);
      for (const kind of ['Job', 'ServiceAccount', 'Role', 'RoleBinding']) expect(kinds).not.toContain(kind);
      expect(kinds).toContain('Secret');
    });

    test('creates no Namespace without a namespace', () => {
      expect(run.resources.filter((r) => r.type === 'kubernetes:core/v1:Namespace')).toEqual([]);
    });

    test("exports the image, broker host, queue, the worker Job's name as applied and a kubectl command that follows all its pods", () => {
      const jobName = job(run, 'coarse-job').metadata.name;
      expect(jobName).toMatch(hashedName('job-wq-1'));
      expect(run.outputs).toEqual({
        image: `localhost:5001/work-queue@${DIGEST}`,
        brokerHost: 'rabbitmq-service',
        queue: 'job1',
        jobName,
        // 8 completions and 6 retried failures: every pod the coarse Job can have, finished ones included.
        followJob: `kubectl logs --follow --prefix --selector job-name=${String(jobName)} --max-log-requests 14`,
      });
    });
  });

  test('checks the config once before any child, and renders the charts once, after the image is pushed and the password generated', async () => {
    const calls = { checks: 0, renders: 0 };
    const run = await runInStack(async () => {
      const stackObjects = await import('../../stacks/pulumi/stack-objects');
      const check = jest.spyOn(stackObjects, 'checkStack');
      const render = jest.spyOn(stackObjects, 'renderStack');
      const program = await import('../../stacks/pulumi');
      await new Promise((done) => program.followJob.apply(done));
      Object.assign(calls, { checks: check.mock.calls.length, renders: render.mock.calls.length });
      return { ...program };
    });
    expect(calls).toEqual({ checks: 1, renders: 1 });
    expect(resource(run, 'random:index/randomPassword:RandomPassword').name).toBe('coarse-broker-password');
    expect(podSpec(job(run, 'coarse-job')).containers[0].image).toBe(`localhost:5001/work-queue@${DIGEST}`);
  });

  test.each(['coarse', 'fine', 'indexed'])(
    'the example Pulumi.%s.yaml holds config only (no per-user encryptionsalt), and its copy at the project root is ignored by git',
    (stack) => {
      const example = parse(readFileSync(join(ROOT, 'stacks', 'pulumi', 'examples', `Pulumi.${stack}.yaml`), 'utf8'));
      expect(Object.keys(example)).toEqual(['config']);
      const ignored = spawnSync('git', ['check-ignore', '--no-index', `Pulumi.${stack}.yaml`], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect({ status: ignored.status, stderr: ignored.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );

  test('the example Pulumi.coarse.yaml applies the coarse tutorial', async () => {
    const run = await runProgram(stackFileConfig('stacks/pulumi/examples/Pulumi.coarse.yaml'));
    const worker = job(run, 'coarse-job');
    expect(worker.spec.completions).toBe(8);
    expect(worker.spec.parallelism).toBe(2);
    expect(containerEnv(worker).byName.QUEUE.value).toBe('job1');
    expect(containerEnv(worker).byName.WORKER_MODE.value).toBe('single');
    expect(containerEnv(worker).byName.BROKER_URL.value).toBe(
      'amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672',
    );
    expect(configMapItems(only(group(run, 'coarse-seeder'), 'ConfigMap'))).toHaveLength(8);
  });

  test('the example Pulumi.fine.yaml applies the fine tutorial: Redis, list job2 with 9 items, no completions, parallelism 2', async () => {
    const run = await runProgram(stackFileConfig('stacks/pulumi/examples/Pulumi.fine.yaml'));
    // A StatefulSet of one: its pod, redis-master-0, comes back after an eviction or a node drain.
    expect(only(group(run, 'fine-broker'), 'StatefulSet').metadata.name).toBe('redis-master');
    const worker = job(run, 'fine-job');
    expect(worker.metadata.name).toMatch(hashedName('job-wq-2'));
    expect(run.outputs.jobName).toBe(worker.metadata.name);
    // 2 parallel workers (once one has drained the list no other starts) and 6 retried failures.
    expect(run.outputs.followJob).toBe(
      `kubectl logs --follow --prefix --selector job-name=${String(worker.metadata.name)} --max-log-requests 8`,
    );
    expect(worker.spec.completions).toBeUndefined();
    expect(worker.spec.parallelism).toBe(2);
    expect(containerEnv(worker).byName.QUEUE.value).toBe('job2');
    expect(containerEnv(worker).byName.WORKER_MODE.value).toBe('drain');
    expect(configMapItems(only(group(run, 'fine-seeder'), 'ConfigMap'))).toContain('orange');
    // Redis runs without a password unless one is configured: nothing to generate, nothing secret.
    expect(run.resources.filter((r) => r.type.startsWith('random:'))).toEqual([]);
    expect(run.loaded.has('@pulumi/random')).toBe(false);
    expect(isSecretValue(resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'fine-broker').inputs.objs)).toBe(false);
    expect(run.outputs.brokerHost).toBe('redis');
  });

  test('the fine tutorial with brokerReplicas 3: Redis with two replicas and Sentinel, which the seeder and workers ask for the primary', async () => {
    const run = await runProgram({
      ...stackFileConfig('stacks/pulumi/examples/Pulumi.fine.yaml'),
      ...projectConfig({ brokerReplicas: 3 }),
    });
    const broker = group(run, 'fine-broker');
    const statefulSet = only(broker, 'StatefulSet');
    expect(statefulSet.spec.replicas).toBe(3);
    expect(podSpec(statefulSet).containers.map((container: { name: string }) => container.name)).toEqual([
      'redis',
      'sentinel',
    ]);
    expect(only(broker, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    for (const name of ['fine-seed-job', 'fine-job'])
      expect(containerEnv(job(run, name)).byName.BROKER_URL.value).toBe('redis+sentinel://redis:26379/redis-master/0');
  });

  test('changed items: a new immutable items ConfigMap and new Jobs of new names, nothing else; an unchanged config renders the same objects', async () => {
    const first = await runProgram(stackFileConfig('stacks/pulumi/examples/Pulumi.coarse.yaml'));
    const again = await runProgram(stackFileConfig('stacks/pulumi/examples/Pulumi.coarse.yaml'));
    for (const name of ['coarse-broker', 'coarse-seeder']) expect(group(again, name)).toEqual(group(first, name));
    for (const name of ['coarse-seed-job', 'coarse-job']) expect(job(again, name)).toEqual(job(first, name));

    const changed = await runProgram({
      ...stackFileConfig('stacks/pulumi/examples/Pulumi.coarse.yaml'),
      ...projectConfig({ items: ['kiwi', 'lime', 'mango'] }),
    });
    expect(group(changed, 'coarse-broker')).toEqual(group(first, 'coarse-broker'));
    const items = (run: Run) => only(group(run, 'coarse-seeder'), 'ConfigMap');
    expect(items(first).immutable).toBe(true);
    expect(items(changed).immutable).toBe(true);
    expect(items(first).metadata.name).toMatch(/^job-wq-1-seed-items-[0-9a-f]{10}$/);
    expect(items(changed).metadata.name).toMatch(/^job-wq-1-seed-items-[0-9a-f]{10}$/);
    expect(items(changed).metadata.name).not.toBe(items(first).metadata.name);
    const digestOf = (run: Run, name: string) =>
      job(run, name).spec.template.metadata.annotations['work-queue-stack.io/items-sha256'];
    for (const name of ['coarse-seed-job', 'coarse-job']) {
      expect(digestOf(changed, name)).not.toBe(digestOf(first, name));
      // A new name: pulumi-kubernetes creates the new Job before it deletes the old one.
      expect(job(changed, name).metadata.name).not.toBe(job(first, name).metadata.name);
    }
    expect(job(changed, 'coarse-job').spec.completions).toBe(3);
  });

  test('run and seedWaitSeconds: another run label seeds the same items again in new Jobs; the workers wait that long for their seed', async () => {
    const first = await runProgram(projectConfig({ image: GIVEN_IMAGE }));
    const again = await runProgram(projectConfig({ image: GIVEN_IMAGE, run: '2', seedWaitSeconds: 120 }));
    expect(group(again, 'coarse-seeder')).toEqual(group(first, 'coarse-seeder'));
    expect(containerEnv(job(again, 'coarse-seed-job')).byName.SEED_RUN.value).toBe('2');
    expect(containerEnv(job(first, 'coarse-seed-job')).byName.SEED_RUN).toBeUndefined();
    const worker = containerEnv(job(again, 'coarse-job')).byName;
    expect(worker.SEED_WAIT_SECONDS.value).toBe('120');
    expect(worker.SEED_ID.value).toBe(seedId(COARSE_TUTORIAL.items, '2'));
    expect(containerEnv(job(first, 'coarse-job')).byName.SEED_ID.value).toBe(seedId(COARSE_TUTORIAL.items));
    for (const name of ['coarse-seed-job', 'coarse-job'])
      expect(job(again, name).metadata.name).not.toBe(job(first, name).metadata.name);
  });

  test("workTimeoutSeconds and consumerTimeoutSeconds: the workers' timeout and RabbitMQ's, checked together as at synth", async () => {
    const run = await runProgram(
      projectConfig({ image: GIVEN_IMAGE, workTimeoutSeconds: 3000, consumerTimeoutSeconds: 3600 }),
    );
    expect(containerEnv(job(run, 'coarse-job')).byName.WORK_TIMEOUT_SECONDS.value).toBe('3000');
    expect(JSON.stringify(group(run, 'coarse-broker'))).toContain('consumer_timeout = 3600000');
  });

  describe('with a given image', () => {
    let run: Run;
    let warn: jest.SpyInstance;
    beforeAll(async () => {
      warn = jest.spyOn(pulumi.log, 'warn').mockResolvedValue();
      run = await runProgram(projectConfig({ image: GIVEN_IMAGE, registry: { server: 'ignored.example.com' } }));
    });
    afterAll(() => warn.mockRestore());

    test('builds nothing, and does not even load @pulumi/docker', () => {
      expect(run.resources.filter((r) => r.type.startsWith('docker:'))).toEqual([]);
      expect(run.loaded.has('@pulumi/docker')).toBe(false);
    });

    test('runs it in both Jobs', () => {
      for (const name of ['coarse-seed-job', 'coarse-job'])
        expect(podSpec(job(run, name)).containers[0].image).toBe(GIVEN_IMAGE);
      expect(run.outputs.image).toBe(GIVEN_IMAGE);
      expect(warn).not.toHaveBeenCalled();
    });

    test('warns on a tag, which each node pulls once (IfNotPresent) and then runs as it was', async () => {
      const tagged = await runProgram(projectConfig({ image: 'registry.example.com/work-queue:v1' }));
      expect(podSpec(job(tagged, 'coarse-job')).containers[0]).toMatchObject({
        image: 'registry.example.com/work-queue:v1',
        imagePullPolicy: 'IfNotPresent',
      });
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/^image: got "registry.example.com\/work-queue:v1", expected a digest reference/),
        expect.anything(),
      );
    });
  });

  describe('with a namespace', () => {
    test('applies the Namespace first, and every object into it', async () => {
      const run = await runProgram(projectConfig({ namespace: 'batch' }));
      const namespace = resource(run, 'kubernetes:core/v1:Namespace', 'coarse-namespace');
      expect(namespace.inputs.metadata).toEqual({ name: 'batch' });
      const namespaceUrn = await new Promise<string>((done) =>
        run.options.get('coarse-namespace')!.resource.urn.apply(done),
      );
      expect(await dependsOn(run, 'coarse-broker')).toEqual([namespaceUrn]);
      for (const name of ['coarse-broker', 'coarse-seeder'])
        for (const object of group(run, name)) expect(object.metadata.namespace).toBe('batch');
      for (const name of ['coarse-seed-job', 'coarse-job']) expect(job(run, name).metadata.namespace).toBe('batch');
      // The program applies the Namespace itself: the broker chart carries none.
      expect(group(run, 'coarse-broker').map((object) => object.kind)).not.toContain('Namespace');
      expect(resource(run, JOB_AWAIT, 'coarse-job-await').inputs.namespace).toBe('batch');
      expect(run.outputs.followJob).toBe(
        `kubectl --namespace batch logs --follow --prefix --selector job-name=${String(job(run, 'coarse-job').metadata.name)} --max-log-requests 14`,
      );
    });

    test('leaves an existing namespace alone with createNamespace false', async () => {
      const run = await runProgram(projectConfig({ namespace: 'batch', createNamespace: false }));
      expect(run.resources.filter((r) => r.type === 'kubernetes:core/v1:Namespace')).toEqual([]);
      expect(await dependsOn(run, 'coarse-broker')).toEqual([]);
      expect(job(run, 'coarse-job').metadata.namespace).toBe('batch');
    });
  });

  test('takes registry, cluster access, await settings and adoption from the config, secrets kept secret', async () => {
    const run = await runProgram(
      projectConfig({
        registry: {
          server: 'registry.example.com:5000',
          repository: 'team/work-queue',
          username: 'ci',
          password: 'registry-pass',
        },
        brokerPassword: 'broker-pass',
        kubeconfig: '/home/me/.kube/other',
        context: 'kind-work',
        jobTimeoutSeconds: 600,
        adoptExisting: true,
      }),
      [`${PROJECT}:registry`, `${PROJECT}:brokerPassword`, `${PROJECT}:kubeconfig`],
    );
    const image = resource(run, 'docker:index/image:Image');
    expect(image.inputs.imageName).toBe('registry.example.com:5000/team/work-queue:coarse');
    expect(isSecretValue(image.inputs.registry)).toBe(true);
    expect(reveal(image.inputs.registry)).toEqual({
      server: 'registry.example.com:5000',
      username: 'ci',
      password: 'registry-pass',
    });

    const provider = resource(run, 'pulumi:providers:kubernetes');
    expect(isSecretValue(provider.inputs.kubeconfig)).toBe(true);
    expect(reveal(provider.inputs.kubeconfig)).toBe('/home/me/.kube/other');
    expect(provider.inputs).toMatchObject({ context: 'kind-work', upsertExistingObjects: 'true' });
    // The awaits reach the cluster as the provider does.
    for (const name of ['coarse-seed-job-await', 'coarse-job-await']) {
      const { inputs } = resource(run, JOB_AWAIT, name);
      expect(isSecretValue(inputs.kubeconfig)).toBe(true);
      expect(reveal(inputs.kubeconfig)).toBe('/home/me/.kube/other');
      expect(inputs.context).toBe('kind-work');
    }
    expect(resource(run, JOB_AWAIT, 'coarse-job-await').inputs.timeoutSeconds).toBe(600);

    expect(run.resources.filter((r) => r.type.startsWith('random:'))).toEqual([]);
    expect(only(group(run, 'coarse-broker'), 'Secret').stringData.password).toBe('broker-pass');
    expect(podSpec(job(run, 'coarse-job')).containers[0].image).toBe(
      `registry.example.com:5000/team/work-queue@${DIGEST}`,
    );
    expect(run.outputs.followJob).toBe(
      `kubectl --context kind-work logs --follow --prefix --selector job-name=${String(job(run, 'coarse-job').metadata.name)} --max-log-requests 14`,
    );
  });

  test("with autoscale, applies KEDA's ScaledJob after the seeding Job and awaits no worker Job", async () => {
    const run = await runProgram(
      projectConfig({ namespace: 'batch', autoscale: { maxJobs: 4, pollingIntervalSeconds: 10 } }),
    );
    expect(run.resources.filter((r) => r.type === JOB_AWAIT).map((r) => r.name)).toEqual(['coarse-seed-job-await']);
    expect(run.resources.filter((r) => r.type === 'kubernetes:batch/v1:Job').map((r) => r.name)).toEqual([
      'coarse-seed-job',
    ]);
    const workers = group(run, 'coarse-workers');
    expect(workers.map((object) => object.kind)).toEqual(['TriggerAuthentication', 'ScaledJob']);
    expect(only(workers, 'ScaledJob').spec).toMatchObject({ maxReplicaCount: 4, pollingInterval: 10 });
    expect(await dependsOn(run, 'coarse-workers')).toHaveLength(1);
  });

  test('with skipJobAwait, returns once the worker Job is created; the seeding Job is awaited all the same', async () => {
    const run = await runProgram(projectConfig({ skipJobAwait: true }));
    expect(run.resources.filter((r) => r.type === JOB_AWAIT).map((r) => r.name)).toEqual(['coarse-seed-job-await']);
    expect(job(run, 'coarse-job').metadata.name).toMatch(hashedName('job-wq-1'));
  });

  describe('with brokerReplicas 3', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runProgram(projectConfig({ brokerReplicas: 3 }));
    });

    test('applies a RabbitMQ cluster: a StatefulSet of 3, the headless Service, the cluster config, a PodDisruptionBudget', () => {
      const broker = group(run, 'coarse-broker');
      const statefulSet = only(broker, 'StatefulSet');
      expect(statefulSet.spec.replicas).toBe(3);
      expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
      expect(
        broker
          .filter((object) => object.kind === 'Service')
          .map((object) => object.metadata.name)
          .sort(),
      ).toEqual(['rabbitmq-nodes', 'rabbitmq-service']);
      expect(only(broker, 'ConfigMap', 'rabbitmq-cluster').data['20-cluster.conf']).toContain(
        'cluster_formation.classic_config.nodes.3 = rabbit@rabbitmq-2.rabbitmq-nodes',
      );
      expect(only(broker, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    });

    test('takes the Erlang cookie from a RandomPassword, generated once and kept secret like the password', () => {
      const cookie = resource(run, 'random:index/randomPassword:RandomPassword', 'coarse-erlang-cookie');
      expect(cookie.inputs).toMatchObject({ length: 48, special: false });
      expect(run.options.get('coarse-erlang-cookie')!.opts.parent).toBe(run.options.get('coarse')!.resource);
      const broker = resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker');
      expect(isSecretValue(broker.inputs.objs)).toBe(true);
      const secrets = group(run, 'coarse-broker').filter((object) => object.kind === 'Secret');
      expect(
        secrets.find((secret) => secret.metadata.name === 'rabbitmq-service-erlang-cookie')!.stringData.cookie,
      ).toBe(GENERATED_COOKIE);
      expect(secrets.find((secret) => secret.stringData.password !== undefined)!.stringData.password).toBe(
        GENERATED_PASSWORD,
      );
      const others = [
        resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-seeder'),
        ...run.resources.filter((r) => r.type === 'kubernetes:batch/v1:Job'),
      ];
      for (const { inputs } of others) expect(JSON.stringify(inputs)).not.toContain(GENERATED_COOKIE);
      // Both secrets given: the constructs add no credentials Job that would generate others.
      expect(group(run, 'coarse-broker').map((object) => object.kind)).not.toContain('Job');
    });

    test("renders the same broker objects on every run: the cookie is the state's, not a synth-time one", async () => {
      const again = await runProgram(projectConfig({ brokerReplicas: 3 }));
      expect(group(again, 'coarse-broker')).toEqual(group(run, 'coarse-broker'));
    });

    test('takes a configured cookie instead, a secret: the cookie of a cluster that kubectl apply created, which Pulumi takes over', async () => {
      const given = await runProgram(
        projectConfig({ brokerReplicas: 3, erlangCookie: 'cookie-of-the-running-cluster' }),
        [`${PROJECT}:erlangCookie`],
      );
      expect(given.resources.filter((r) => r.type.startsWith('random:')).map((r) => r.name)).toEqual([
        'coarse-broker-password',
      ]);
      const secrets = group(given, 'coarse-broker').filter((object) => object.kind === 'Secret');
      expect(
        secrets.find((secret) => secret.metadata.name === 'rabbitmq-service-erlang-cookie')!.stringData.cookie,
      ).toBe('cookie-of-the-running-cluster');
      expect(isSecretValue(resource(given, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker').inputs.objs)).toBe(true);
    });

    test('generates a cookie with an existing broker Secret too, and none for a single node', async () => {
      const existing = await runProgram(projectConfig({ brokerReplicas: 3, brokerSecretName: 'mq' }));
      expect(existing.resources.filter((r) => r.type.startsWith('random:')).map((r) => r.name)).toEqual([
        'coarse-erlang-cookie',
      ]);
      expect(isSecretValue(resource(existing, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker').inputs.objs)).toBe(
        true,
      );
      const single = await runProgram(projectConfig({ brokerReplicas: 1 }));
      expect(single.resources.filter((r) => r.type.startsWith('random:')).map((r) => r.name)).toEqual([
        'coarse-broker-password',
      ]);
      expect(only(group(single, 'coarse-broker'), 'StatefulSet').spec.replicas).toBe(1);
    });
  });

  describe('with pattern indexed (the example Pulumi.indexed.yaml)', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runProgram(stackFileConfig('stacks/pulumi/examples/Pulumi.indexed.yaml'));
    });

    test('applies the items ConfigMap and the Indexed Job, and awaits it: no broker, no password, no seeding Job', () => {
      const children = run.resources.filter(
        (r) =>
          !['pulumi:pulumi:Stack', 'work-queue:index:WorkQueueStack', 'pulumi:providers:kubernetes'].includes(r.type),
      );
      expect(children.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
        'docker:index/image:Image indexed-worker-image',
        'kubernetes:batch/v1:Job indexed-job',
        'kubernetes:yaml/v2:ConfigGroup indexed-items',
        `${JOB_AWAIT} indexed-job-await`,
      ]);
      expect(run.loaded.has('@pulumi/random')).toBe(false);
      const component = run.options.get('indexed')!.resource;
      for (const { name } of children) expect(run.options.get(name)!.opts.parent).toBe(component);
    });

    test('the items ConfigMap, immutable and content-named, holds the 8 items', () => {
      const items = group(run, 'indexed-items');
      expect(items.map((object) => object.kind)).toEqual(['ConfigMap']);
      expect(items[0].metadata.name).toMatch(/^job-wq-3-items-[0-9a-f]{10}$/);
      expect(items[0].immutable).toBe(true);
      expect(JSON.parse(items[0].data['items-0.json'])).toEqual([
        'apple',
        'banana',
        'cherry',
        'date',
        'fig',
        'grape',
        'lemon',
        'melon',
      ]);
    });

    test('the Job is Indexed, one completion per item, retried per index, mounting the items, run from the pushed digest', () => {
      const worker = job(run, 'indexed-job');
      expect(worker.metadata.name).toMatch(hashedName('job-wq-3'));
      expect(worker.spec).toMatchObject({
        completionMode: 'Indexed',
        completions: 8,
        parallelism: 2,
        backoffLimitPerIndex: 4,
      });
      expect(worker.spec.podFailurePolicy.rules[0]).toMatchObject({
        action: 'FailIndex',
        onExitCodes: { values: [2] },
      });
      expect(podSpec(worker).containers[0].image).toBe(`localhost:5001/work-queue@${DIGEST}`);
      expect(containerEnv(worker).byName.WORKER_MODE.value).toBe('indexed');
      expect(
        podSpec(worker).volumes.find((volume: { name: string }) => volume.name === 'items').projected.sources,
      ).toEqual([{ configMap: { name: group(run, 'indexed-items')[0].metadata.name } }]);
      expect(worker.metadata.annotations).toEqual({
        'pulumi.com/skipAwait': 'true',
        'pulumi.com/deletionPropagationPolicy': 'background',
      });
    });

    test('applies the items before the Job, and awaits the Job with the same JobAwait', async () => {
      const urnOf = async (name: string) =>
        new Promise<string>((done) => run.options.get(name)!.resource.urn.apply(done));
      expect(await dependsOn(run, 'indexed-items')).toEqual([]);
      expect(await dependsOn(run, 'indexed-job')).toEqual([await urnOf('indexed-items')]);
      expect(resource(run, JOB_AWAIT, 'indexed-job-await').inputs).toMatchObject({
        namespace: 'default',
        name: job(run, 'indexed-job').metadata.name,
        uid: 'uid-indexed-job',
        timeoutSeconds: 3600,
        intervalSeconds: 2,
      });
    });

    test('exports the image, the Job and a kubectl command that follows every pod the Indexed Job can have; no broker host or queue', () => {
      const jobName = job(run, 'indexed-job').metadata.name;
      expect(run.outputs).toEqual({
        image: `localhost:5001/work-queue@${DIGEST}`,
        jobName,
        // 8 indexes of up to 5 pods each (backoffLimitPerIndex 4).
        followJob: `kubectl logs --follow --prefix --selector job-name=${String(jobName)} --max-log-requests 40`,
      });
    });

    test('tutorial indexed alone gives the same objects', async () => {
      const same = await runProgram(projectConfig({ tutorial: 'indexed' }));
      expect(job(same, 'indexed-job')).toEqual(job(run, 'indexed-job'));
      expect(group(same, 'indexed-items')).toEqual(group(run, 'indexed-items'));
    });

    test('takes the failure budget, the success policy, the Kubernetes version and a namespace, applied first', async () => {
      const configured = await runProgram(
        projectConfig({
          pattern: 'indexed',
          image: GIVEN_IMAGE,
          namespace: 'batch',
          maxAttempts: 3,
          maxFailedItems: 2,
          succeededCount: 6,
          kubernetesVersion: '1.31',
        }),
      );
      expect(job(configured, 'indexed-job').spec).toMatchObject({
        backoffLimitPerIndex: 2,
        maxFailedIndexes: 2,
        successPolicy: { rules: [{ succeededCount: 6 }] },
      });
      const namespaceUrn = await new Promise<string>((done) =>
        configured.options.get('indexed-namespace')!.resource.urn.apply(done),
      );
      expect(await dependsOn(configured, 'indexed-items')).toEqual([namespaceUrn]);
      expect(group(configured, 'indexed-items').map((object) => object.kind)).toEqual(['ConfigMap']);
      expect(group(configured, 'indexed-items')[0].metadata.namespace).toBe('batch');
      expect(job(configured, 'indexed-job').metadata.namespace).toBe('batch');
      expect(configured.outputs.followJob).toMatch(/^kubectl --namespace batch logs .* --max-log-requests 24$/);
    });

    test('with skipJobAwait, returns once the Indexed Job is created', async () => {
      const skipped = await runProgram(projectConfig({ pattern: 'indexed', image: GIVEN_IMAGE, skipJobAwait: true }));
      expect(skipped.resources.filter((r) => r.type === JOB_AWAIT)).toEqual([]);
      expect(job(skipped, 'indexed-job').spec.completionMode).toBe('Indexed');
    });
  });

  describe('independent of the working directory', () => {
    test("Pulumi.yaml points ts-node, which runs in the directory of main, at the project's tsconfig.json", () => {
      const project = parse(readFileSync(join(ROOT, 'Pulumi.yaml'), 'utf8'));
      // The language host sets PULUMI_NODEJS_TSCONFIG_PATH from the option; @pulumi/pulumi's run
      // script resolves it after changing into the directory of `main`.
      const mainDirectory = join(ROOT, project.main, '..');
      expect(resolve(mainDirectory, project.runtime.options.tsconfig)).toBe(join(ROOT, 'tsconfig.json'));
    });

    test('run from the directory of main, as pulumi up runs it: builds from the repository root, takes a relative kubeconfig from the project root', async () => {
      const before = process.cwd();
      process.chdir(join(ROOT, 'stacks', 'pulumi'));
      try {
        const run = await runProgram(projectConfig({ kubeconfig: 'clusters/kind.yaml' }), [`${PROJECT}:kubeconfig`]);
        const image = resource(run, 'docker:index/image:Image');
        expect(image.inputs.build.context).toBe(join('..', '..'));
        expect(resolve(image.inputs.build.dockerfile)).toBe(join(ROOT, 'worker', 'Dockerfile'));
        expect(reveal(resource(run, 'pulumi:providers:kubernetes').inputs.kubeconfig)).toBe(
          join(ROOT, 'clusters', 'kind.yaml'),
        );
        expect(reveal(resource(run, JOB_AWAIT, 'coarse-job-await').inputs.kubeconfig)).toBe(
          join(ROOT, 'clusters', 'kind.yaml'),
        );
      } finally {
        process.chdir(before);
      }
    });

    test('keeps kubeconfig contents, absolute paths and ~ (which pulumi-kubernetes expands) as they are', () => {
      for (const kubeconfig of [
        'apiVersion: v1\nkind: Config\n',
        '{"apiVersion":"v1"}',
        '/etc/kube/config',
        '~/.kube/other',
      ]) {
        expect(resolveKubeconfig(kubeconfig)).toBe(kubeconfig);
      }
      expect(resolveKubeconfig('clusters/kind.yaml')).toBe(join(ROOT, 'clusters', 'kind.yaml'));
    });
  });

  describe('fails before deploying anything', () => {
    /** The message a config fails with; nothing but the cluster's provider and the component itself (which deploys nothing) is registered first. */
    const failure = async (values: Record<string, unknown>) => {
      const { error, registered } = await programFailure(projectConfig(values));
      expect(
        registered.filter((r) => !['pulumi:providers:kubernetes', 'work-queue:index:WorkQueueStack'].includes(r.type)),
      ).toEqual([]);
      expect(error).toBeInstanceOf(pulumi.RunError);
      return error!.message;
    };

    test("fails with the constructs' messages on bad stack fields", async () => {
      expect(await failure({ completions: 9 })).toMatch(
        /^coarse-job\/job: completions: got 9, expected 8, the seeder's item count/,
      );
      expect(await failure({ queue: 'job 1' })).toMatch(
        /^coarse-seeder\/seeder: queue: got "job 1", expected a queue name/,
      );
      expect(await failure({ items: [] })).toBe('coarse-seeder/seeder: items: got [], expected at least one item');
      expect(await failure({ tutorial: 'fine', broker: 'rabbitmq' })).toMatch(
        /^fine-job\/job: pattern: got "fine", expected "coarse" on an amqp broker/,
      );
      expect(await failure({ parallelism: 0 })).toBe(
        'coarse-job/job: parallelism: got 0, expected a whole number of at least 1',
      );
      expect(await failure({ workTimeoutSeconds: 1790 })).toMatch(
        /^coarse-job\/job: workTimeout in seconds: got 1790, expected at most 1740: the broker's consumer timeout \(1800 s\)/,
      );
      expect(await failure({ broker: 'kafka' })).toBe(
        'coarse-broker: broker: got "kafka", expected one of "rabbitmq", "redis"',
      );
      expect(await failure({ image: 'job wq' })).toMatch(
        /^coarse-broker: image: got "job wq", expected a container image reference/,
      );
    });

    test('fails in the same form on bad program keys and on values of the wrong type', async () => {
      expect(await failure({ tutorial: 'medium' })).toBe(
        'work-queue-stack:tutorial: got "medium", expected "coarse", "fine" or "indexed"',
      );
      expect(await failure({ parallelism: 'two' })).toBe('work-queue-stack:parallelism: got "two", expected a number');
      expect(await failure({ jobTimeoutSeconds: 0 })).toBe(
        'work-queue-stack:jobTimeoutSeconds: got 0, expected a whole number of at least 1',
      );
      expect(await failure({ skipJobAwait: 'maybe' })).toBe(
        'work-queue-stack:skipJobAwait: got "maybe", expected true or false',
      );
      expect(await failure({ adoptExisting: 'yes' })).toBe(
        'work-queue-stack:adoptExisting: got "yes", expected true or false',
      );
      expect(await failure({ createNamespace: true })).toBe(
        'work-queue-stack:createNamespace: got true, expected false or nothing without work-queue-stack:namespace',
      );
      expect(await failure({ registry: { server: 'https://registry.example.com' } })).toMatch(
        /^work-queue-stack:registry.server: got "https:\/\/registry.example.com", expected a registry host/,
      );
    });

    test('fails on a broker replica count the broker cannot run', async () => {
      expect(await failure({ brokerReplicas: 2 })).toMatch(
        /^coarse-broker\/rabbitmq: replicas: got 2, expected 1, or an odd number of at least 3/,
      );
      expect(await failure({ brokerReplicas: 0 })).toMatch(
        /^coarse-broker\/rabbitmq: replicas: got 0, expected 1, or an odd number of at least 3/,
      );
      expect(await failure({ brokerReplicas: 'three' })).toBe(
        'work-queue-stack:brokerReplicas: got "three", expected a number',
      );
      expect(await failure({ tutorial: 'fine', brokerReplicas: 2 })).toMatch(
        /^fine-broker\/redis: replicas: got 2, expected 1, or an odd number of at least 3: a cluster goes on while a majority of its members is up/,
      );
    });

    test('fails with pattern indexed on the queue fields, on a queue tutorial, and on fields its Kubernetes version lacks', async () => {
      expect(await failure({ pattern: 'indexed', leaseSeconds: 30 })).toMatch(
        /^indexed-job: leaseSeconds: got 30, expected nothing with pattern "indexed" \(/,
      );
      expect(await failure({ pattern: 'indexed', brokerPassword: 'secret-pass' })).toBe(
        'indexed-job: brokerPassword: got "[secret]", expected nothing with pattern "indexed" (an Indexed Job has no broker)',
      );
      expect(await failure({ pattern: 'indexed', queue: 'job3' })).toMatch(
        /^indexed-job: queue: got "job3", expected nothing with pattern "indexed"/,
      );
      expect(await failure({ tutorial: 'coarse', pattern: 'indexed' })).toBe(
        'work-queue-stack:tutorial: got "coarse", expected "indexed" with work-queue-stack:pattern "indexed", or no tutorial (the example of the pattern)',
      );
      expect(await failure({ tutorial: 'indexed', pattern: 'fine' })).toMatch(
        /^work-queue-stack:tutorial: got "indexed", expected "coarse" or "fine" with/,
      );
      expect(await failure({ pattern: 'indexed', maxFailedItems: 'two' })).toBe(
        'work-queue-stack:maxFailedItems: got "two", expected a number',
      );
      expect(await failure({ pattern: 'indexed', succeededCount: 4, kubernetesVersion: '1.30' })).toMatch(
        /^indexed-job\/job: succeededCount: got 4, expected nothing with kubernetesVersion 1.30/,
      );
      expect(await failure({ maxFailedItems: 1 })).toMatch(
        /^coarse-broker: maxFailedItems: got 1, expected nothing with pattern "coarse"/,
      );
    });

    test('fails on a bad broker password or Erlang cookie without showing it', async () => {
      const message = await failure({ brokerPassword: 'p@ss word' });
      expect(message).toBe(
        'work-queue-stack:brokerPassword: got "[secret]", expected a non-empty string of A-Z a-z 0-9 . _ ~ - (it is placed into BROKER_URL without encoding)',
      );
      expect(await failure({ brokerReplicas: 3, erlangCookie: 'my cookie' })).toMatch(
        /^work-queue-stack:erlangCookie: got "\[secret\]", expected /,
      );
    });
  });
});
