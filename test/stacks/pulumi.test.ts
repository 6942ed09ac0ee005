import { readFileSync } from 'fs';
import { join, resolve } from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { containerEnv, Manifest, only, podSpec } from '../manifests';

const ROOT = join(__dirname, '..', '..');
const PROJECT = 'work-queue-stack';
const DIGEST = `sha256:${'4f'.repeat(32)}`;
const GENERATED_PASSWORD = 'GeneratedByRandomPassword0123456';

/** One resource as the program registered it, with its inputs as the engine would receive them. */
interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

/** A program run: what was registered, the resource options as the program passed them, the stack outputs. */
interface Run {
  resources: Registered[];
  options: Map<string, { opts: pulumi.ResourceOptions; resource: pulumi.Resource }>;
  outputs: Record<string, any>;
}

let registered: Registered[] = [];

/**
 * Each run loads the program's own modules afresh (so its top level runs again with the new config)
 * but shares these libraries with the test: loading them again per run would cost seconds each.
 */
const SHARED_LIBRARIES = ['@pulumi/pulumi', '@pulumi/kubernetes', '@pulumi/docker', '@pulumi/random', 'cdk8s', 'cdk8s-plus-28', 'constructs'];
for (const name of SHARED_LIBRARIES) {
  const library = jest.requireActual(name);
  jest.doMock(name, () => library);
}

/** Secret inputs reach the engine wrapped in this signature; the mock sees exactly that. */
function isSecretValue(value: unknown): value is { value: any } {
  return typeof value === 'object' && value !== null && (value as any)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

function reveal(value: unknown): any {
  return isSecretValue(value) ? value.value : value;
}

function resource(run: Run, type: string, name?: string): Registered {
  const found = run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ''}, found ${found.length}: ${run.resources.map((r) => `${r.type} ${r.name}`).join(', ')}`);
  return found[0];
}

function group(run: Run, name: string): Manifest[] {
  return reveal(resource(run, 'kubernetes:yaml/v2:ConfigGroup', name).inputs.objs);
}

/** The config of a stack file, as the Pulumi CLI hands it to the program: object values as JSON. */
function stackFileConfig(file: string): Record<string, string> {
  const config: Record<string, unknown> = parse(readFileSync(join(ROOT, file), 'utf8')).config;
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
}

function projectConfig(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [`${PROJECT}:${key}`, typeof value === 'string' ? value : JSON.stringify(value)]));
}

/** Runs the program once, fresh, with this config; the options each resource got are captured by a stack transformation (the mocks drop them). */
async function runProgram(config: Record<string, string> = {}, secretKeys: string[] = []): Promise<Run> {
  registered = [];
  pulumi.runtime.setAllConfig(config, secretKeys);
  const options: Run['options'] = new Map();
  let outputs: Record<string, any> = {};
  await jest.isolateModulesAsync(async () => {
    outputs = (await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        options.set(args.name, { opts: args.opts, resource: args.resource });
        return undefined;
      });
      return { ...(await import('../../stacks/pulumi')) };
    })) ?? {};
  });
  // Registrations wait on outputs (the digest, the password): let them all reach the mocks. waitForRPCs
  // is the runtime's own wait (what `disconnect` uses), present at run time though not in its typings.
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources: registered, options, outputs };
}

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === 'docker:index/image:Image') {
          const name: string = args.inputs.imageName;
          state.repoDigest = `${name.slice(0, name.lastIndexOf(':'))}@${DIGEST}`;
        }
        if (args.type === 'random:index/randomPassword:RandomPassword') state.result = GENERATED_PASSWORD;
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    PROJECT,
    'coarse',
    false,
  );
});

describe('Pulumi program', () => {
  describe('with no config at all', () => {
    let run: Run;
    beforeAll(async () => {
      run = await runProgram();
    });

    test('builds worker/Dockerfile from the repository root and pushes it to the default local registry', () => {
      const image = resource(run, 'docker:index/image:Image');
      expect(resolve(image.inputs.build.context)).toBe(resolve(ROOT));
      expect(resolve(image.inputs.build.dockerfile)).toBe(join(resolve(ROOT), 'worker', 'Dockerfile'));
      expect(image.inputs.imageName).toBe('localhost:5001/work-queue:coarse');
      expect(image.inputs.registry).toEqual({ server: 'localhost:5001' });
    });

    test('runs both Jobs from the pushed repoDigest, never a tag', () => {
      const digest = `localhost:5001/work-queue@${DIGEST}`;
      expect(run.outputs.imageDigest).toBe(digest);
      for (const job of [only(group(run, 'coarse-seeder'), 'Job'), only(group(run, 'coarse-job'), 'Job')]) {
        expect(podSpec(job).containers[0].image).toBe(digest);
        expect(podSpec(job).containers[0].imagePullPolicy).toBe('IfNotPresent');
      }
    });

    test('applies the coarse tutorial: RabbitMQ, queue job1 with 8 items, completions 8, parallelism 2', () => {
      expect(only(group(run, 'coarse-broker'), 'StatefulSet').metadata.name).toBe('rabbitmq');
      const items = JSON.parse(only(group(run, 'coarse-seeder'), 'ConfigMap').data['items.json']);
      expect(items).toEqual(['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon']);
      const job = only(group(run, 'coarse-job'), 'Job', 'job-wq-1');
      expect(job.spec.completions).toBe(8);
      expect(job.spec.parallelism).toBe(2);
      expect(containerEnv(job).byName.QUEUE.value).toBe('job1');
    });

    test('chains the groups: the seeder depends on the broker, the worker Job on the seeder', () => {
      const dependsOn = (name: string) => run.options.get(name)!.opts.dependsOn;
      expect(dependsOn('coarse-broker')).toBeUndefined();
      expect(dependsOn('coarse-seeder')).toEqual([run.options.get('coarse-broker')!.resource]);
      expect(dependsOn('coarse-job')).toEqual([run.options.get('coarse-seeder')!.resource]);
    });

    test('parents every resource to a work-queue:index:WorkQueueStack component', () => {
      const component = run.options.get('coarse')!.resource;
      expect(resource(run, 'work-queue:index:WorkQueueStack', 'coarse')).toBeDefined();
      const children = ['coarse-worker', 'coarse-broker-password', 'coarse-cluster', 'coarse-broker', 'coarse-seeder', 'coarse-job'];
      for (const name of children) expect(run.options.get(name)!.opts.parent).toBe(component);
    });

    test('uses the ambient kubeconfig through one provider shared by the three groups', () => {
      const provider = resource(run, 'pulumi:providers:kubernetes');
      expect(provider.inputs.kubeconfig).toBeUndefined();
      expect(provider.inputs.context).toBeUndefined();
      for (const name of ['coarse-broker', 'coarse-seeder', 'coarse-job']) {
        expect(run.options.get(name)!.opts.provider).toBe(run.options.get('coarse-cluster')!.resource);
      }
    });

    test('keeps the generated broker password a secret: the broker group is secret, the others never hold it', () => {
      const broker = resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker');
      expect(isSecretValue(broker.inputs.objs)).toBe(true);
      expect(only(group(run, 'coarse-broker'), 'Secret').stringData.password).toBe(GENERATED_PASSWORD);
      for (const name of ['coarse-seeder', 'coarse-job']) {
        const inputs = resource(run, 'kubernetes:yaml/v2:ConfigGroup', name).inputs;
        expect(isSecretValue(inputs.objs)).toBe(false);
        expect(JSON.stringify(inputs.objs)).not.toContain(GENERATED_PASSWORD);
      }
      // Generated once and kept in the state, URL-safe since it goes into BROKER_URL as it is.
      expect(resource(run, 'random:index/randomPassword:RandomPassword').inputs).toMatchObject({ length: 32, special: false });
    });

    test('awaits the worker Job for an hour through the annotation pulumi-kubernetes reads on ConfigGroup children', () => {
      const job = only(group(run, 'coarse-job'), 'Job');
      expect(job.metadata.annotations).toEqual({ 'pulumi.com/timeoutSeconds': '3600' });
      expect(only(group(run, 'coarse-seeder'), 'Job').metadata.annotations).toBeUndefined();
      expect(resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-job').inputs.skipAwait).toBeUndefined();
    });

    test('exports the digest, broker host, queue, Job name and a kubectl command to follow the Job', () => {
      expect(run.outputs).toEqual({
        imageDigest: `localhost:5001/work-queue@${DIGEST}`,
        brokerHost: 'rabbitmq-service',
        queue: 'job1',
        jobName: 'job-wq-1',
        followJob: 'kubectl logs --follow --prefix --selector job-name=job-wq-1 --max-log-requests 2',
      });
    });
  });

  test('Pulumi.coarse.yaml applies the coarse tutorial', async () => {
    const run = await runProgram(stackFileConfig('Pulumi.coarse.yaml'));
    const job = only(group(run, 'coarse-job'), 'Job', 'job-wq-1');
    expect(job.spec.completions).toBe(8);
    expect(job.spec.parallelism).toBe(2);
    expect(containerEnv(job).byName.QUEUE.value).toBe('job1');
    expect(containerEnv(job).byName.WORKER_MODE.value).toBe('single');
    expect(containerEnv(job).byName.BROKER_URL.value).toBe('amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672');
    expect(JSON.parse(only(group(run, 'coarse-seeder'), 'ConfigMap').data['items.json'])).toHaveLength(8);
  });

  test('Pulumi.fine.yaml applies the fine tutorial: Redis, list job2 with 9 items, no completions, parallelism 2', async () => {
    const run = await runProgram(stackFileConfig('Pulumi.fine.yaml'));
    expect(only(group(run, 'fine-broker'), 'Pod').metadata.name).toBe('redis-master');
    const job = only(group(run, 'fine-job'), 'Job', 'job-wq-2');
    expect(job.spec.completions).toBeUndefined();
    expect(job.spec.parallelism).toBe(2);
    expect(containerEnv(job).byName.QUEUE.value).toBe('job2');
    expect(containerEnv(job).byName.WORKER_MODE.value).toBe('drain');
    expect(JSON.parse(only(group(run, 'fine-seeder'), 'ConfigMap').data['items.json'])).toContain('orange');
    // Redis runs without a password unless one is configured: nothing to generate, nothing secret.
    expect(run.resources.filter((r) => r.type.startsWith('random:'))).toEqual([]);
    expect(isSecretValue(resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'fine-broker').inputs.objs)).toBe(false);
    expect(run.outputs.brokerHost).toBe('redis');
  });

  test('changed items change both Jobs\' pod templates and nothing else; an unchanged config renders the same objects', async () => {
    const first = await runProgram(stackFileConfig('Pulumi.coarse.yaml'));
    const again = await runProgram(stackFileConfig('Pulumi.coarse.yaml'));
    for (const name of ['coarse-broker', 'coarse-seeder', 'coarse-job']) expect(group(again, name)).toEqual(group(first, name));

    const changed = await runProgram({ ...stackFileConfig('Pulumi.coarse.yaml'), ...projectConfig({ items: ['kiwi', 'lime', 'mango'] }) });
    expect(group(changed, 'coarse-broker')).toEqual(group(first, 'coarse-broker'));
    const digestOf = (run: Run, name: string) => only(group(run, name), 'Job').spec.template.metadata.annotations['work-queue-stack.io/items-sha256'];
    for (const name of ['coarse-seeder', 'coarse-job']) expect(digestOf(changed, name)).not.toBe(digestOf(first, name));
    expect(only(group(changed, 'coarse-job'), 'Job').spec.completions).toBe(3);
  });

  test('takes registry, cluster access, namespace and await settings from the config, secrets kept secret', async () => {
    const run = await runProgram(
      projectConfig({
        registry: { server: 'registry.example.com:5000', repository: 'team/work-queue', username: 'ci', password: 'registry-pass' },
        brokerPassword: 'broker-pass',
        kubeconfig: '/home/me/.kube/other',
        context: 'kind-work',
        namespace: 'batch',
        jobTimeoutSeconds: 600,
        skipJobAwait: true,
      }),
      [`${PROJECT}:registry`, `${PROJECT}:brokerPassword`, `${PROJECT}:kubeconfig`],
    );
    const image = resource(run, 'docker:index/image:Image');
    expect(image.inputs.imageName).toBe('registry.example.com:5000/team/work-queue:coarse');
    expect(isSecretValue(image.inputs.registry)).toBe(true);
    expect(reveal(image.inputs.registry)).toEqual({ server: 'registry.example.com:5000', username: 'ci', password: 'registry-pass' });

    const provider = resource(run, 'pulumi:providers:kubernetes');
    expect(isSecretValue(provider.inputs.kubeconfig)).toBe(true);
    expect(reveal(provider.inputs.kubeconfig)).toBe('/home/me/.kube/other');
    expect(provider.inputs).toMatchObject({ context: 'kind-work', namespace: 'batch' });

    expect(run.resources.filter((r) => r.type.startsWith('random:'))).toEqual([]);
    expect(isSecretValue(resource(run, 'kubernetes:yaml/v2:ConfigGroup', 'coarse-broker').inputs.objs)).toBe(true);
    expect(only(group(run, 'coarse-broker'), 'Secret').stringData.password).toBe('broker-pass');

    const job = only(group(run, 'coarse-job'), 'Job');
    expect(job.metadata.namespace).toBe('batch');
    expect(job.metadata.annotations).toEqual({ 'pulumi.com/timeoutSeconds': '600', 'pulumi.com/skipAwait': 'true' });
    expect(podSpec(job).containers[0].image).toBe(`registry.example.com:5000/team/work-queue@${DIGEST}`);
    expect(run.outputs.followJob).toBe('kubectl --context kind-work --namespace batch logs --follow --prefix --selector job-name=job-wq-1 --max-log-requests 2');
  });

  describe('fails before deploying anything', () => {
    /**
     * The checks run while the program module loads, before any resource is registered, so the
     * import alone shows them (inside a stack, the runtime would re-raise the error unhandled).
     */
    const failure = async (values: Record<string, unknown>) => {
      registered = [];
      pulumi.runtime.setAllConfig(projectConfig(values), []);
      let error: Error | undefined;
      await jest.isolateModulesAsync(async () => {
        error = await import('../../stacks/pulumi').then(() => undefined, (e: Error) => e);
      });
      await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
      expect(registered).toEqual([]);
      expect(error).toBeInstanceOf(pulumi.RunError);
      return error!.message;
    };

    test('fails with the constructs\' messages on bad stack fields', async () => {
      expect(await failure({ completions: 9 })).toMatch(/^coarse-job\/job: completions: got 9, expected 8, the seeder's item count/);
      expect(await failure({ queue: 'job 1' })).toMatch(/^coarse-seeder\/seeder: queue: got "job 1", expected a queue name/);
      expect(await failure({ items: [] })).toBe('coarse-seeder/seeder: items: got [], expected at least one item');
      expect(await failure({ tutorial: 'fine', broker: 'rabbitmq' })).toMatch(/^fine-job\/job: pattern: got "fine", expected "coarse" on an amqp broker/);
      expect(await failure({ parallelism: 0 })).toBe('coarse-job/job: parallelism: got 0, expected a whole number of at least 1');
      expect(await failure({ broker: 'kafka' })).toBe('coarse-broker: broker: got "kafka", expected one of "rabbitmq", "redis"');
    });

    test('fails in the same form on bad program keys and on values of the wrong type', async () => {
      expect(await failure({ tutorial: 'medium' })).toBe('work-queue-stack:tutorial: got "medium", expected "coarse" or "fine"');
      expect(await failure({ parallelism: 'two' })).toBe('work-queue-stack:parallelism: got "two", expected a number');
      expect(await failure({ jobTimeoutSeconds: 0 })).toBe('work-queue-stack:jobTimeoutSeconds: got 0, expected a whole number of at least 1');
      expect(await failure({ skipJobAwait: 'maybe' })).toBe('work-queue-stack:skipJobAwait: got "maybe", expected true or false');
      expect(await failure({ registry: { server: 'https://registry.example.com' } })).toMatch(/^work-queue-stack:registry.server: got "https:\/\/registry.example.com", expected a registry host/);
    });

    test('fails on a bad broker password without showing it', async () => {
      const message = await failure({ brokerPassword: 'p@ss word' });
      expect(message).toBe('work-queue-stack:brokerPassword: got "[secret]", expected a non-empty string of A-Z a-z 0-9 . _ ~ - (it is placed into BROKER_URL without encoding)');
    });
  });
});
