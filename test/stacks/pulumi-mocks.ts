import { readFileSync } from 'fs';
import { join } from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { type Manifest, type ManifestValue } from '../manifests';

/**
 * The Pulumi mock runtime for the program and the component: what each resource was registered
 * with, and the state a real provider would answer with where the program reads it (the pushed
 * digest, the generated password, a Job's namespace and uid).
 */
export const ROOT = join(__dirname, '..', '..');
export const PROJECT = 'work-queue-stack';
export const DIGEST = `sha256:${'4f'.repeat(32)}`;
export const GENERATED_PASSWORD = 'GeneratedByRandomPassword0123456';
/** What a RandomPassword named `<stack>-erlang-cookie` answers with. */
export const GENERATED_COOKIE = 'GeneratedErlangCookieByRandomPassword0123456789ab';

/** One resource as the engine received it: inputs as sent, and the provider reference (`<urn>::<id>`) it was given. */
export interface Registered {
  type: string;
  name: string;
  /** As loose as a synthesized object, which most of them are. */
  inputs: Record<string, ManifestValue>;
  provider?: string;
}

/** A program run: what was registered, the resource options as the program passed them, the stack outputs, the libraries it loaded. */
export interface Run {
  resources: Registered[];
  options: Map<string, { opts: pulumi.ResourceOptions; resource: pulumi.Resource }>;
  outputs: Record<string, unknown>;
  loaded: Set<string>;
}

let registered: Registered[] = [];
const loaded = new Set<string>();

/**
 * Each run loads the program's own modules afresh (so its top level runs again with the new config)
 * but shares these libraries with the test: loading them again per run would cost seconds each.
 * `loaded` tells which of them a run required.
 */
const SHARED_LIBRARIES = [
  '@pulumi/pulumi',
  '@pulumi/kubernetes',
  '@pulumi/docker',
  '@pulumi/random',
  'cdk8s',
  'cdk8s-plus-28',
  'constructs',
];
/**
 * Required by @pulumi/kubernetes' lazily loaded modules, which load inside the run's registry:
 * without it each run would load a second Pulumi runtime (with TypeScript, for closures) afresh.
 */
const SHARED_SUBMODULES = ['@pulumi/pulumi/runtime'];
for (const name of SHARED_SUBMODULES) {
  const submodule = jest.requireActual(name);
  jest.doMock(name, () => submodule);
}
for (const name of SHARED_LIBRARIES) {
  const library = jest.requireActual(name);
  jest.doMock(name, () => {
    loaded.add(name);
    return library;
  });
}

/**
 * JobAwait's provider too: `pulumi.dynamic.Resource` serializes a provider object once and caches
 * the text, so one shared object is serialized once per file rather than once per run.
 */
const JOB_AWAIT_PROVIDER = '../../stacks/pulumi/job-await/provider';
const jobAwaitProvider = jest.requireActual(JOB_AWAIT_PROVIDER);
jest.doMock(JOB_AWAIT_PROVIDER, () => jobAwaitProvider);

/** Installs the mocks; return it from `beforeAll`. */
export function useMocks(stack = 'coarse'): Promise<void> {
  return pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === 'docker:index/image:Image') {
          const name: string = args.inputs.imageName;
          state.repoDigest = `${name.slice(0, name.lastIndexOf(':'))}@${DIGEST}`;
        }
        if (args.type === 'random:index/randomPassword:RandomPassword')
          state.result = args.name.endsWith('-erlang-cookie') ? GENERATED_COOKIE : GENERATED_PASSWORD;
        // pulumi-kubernetes answers with the object as created: in the provider's default namespace unless it names one, with a uid.
        if (args.type === 'kubernetes:batch/v1:Job')
          state.metadata = { namespace: 'default', ...args.inputs.metadata, uid: `uid-${args.name}` };
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    PROJECT,
    stack,
    false,
  );
}

/** Secret inputs reach the engine wrapped in this signature; the mock sees exactly that. */
export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

export function reveal(value: unknown): unknown {
  return isSecretValue(value) ? value.value : value;
}

export function resource(run: Run, type: string, name?: string): Registered {
  const found = run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1)
    throw new Error(
      `expected one ${type} ${name ?? ''}, found ${found.length}: ${run.resources.map((r) => `${r.type} ${r.name}`).join(', ')}`,
    );
  return found[0];
}

export function group(run: Run, name: string): Manifest[] {
  return reveal(resource(run, 'kubernetes:yaml/v2:ConfigGroup', name).inputs.objs) as Manifest[];
}

/** A Job resource's object as sent to pulumi-kubernetes. */
export function job(run: Run, name: string): Manifest {
  const { inputs } = resource(run, 'kubernetes:batch/v1:Job', name);
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: inputs.metadata, spec: inputs.spec };
}

/** The URNs a resource waits for: its explicit dependsOn, as the program passed them. */
export async function dependsOn(run: Run, name: string): Promise<string[]> {
  const depends = run.options.get(name)?.opts.dependsOn;
  const resources = depends === undefined ? [] : Array.isArray(depends) ? depends : [depends];
  return Promise.all(
    resources.map((r) => new Promise<string>((resolve) => (r as pulumi.Resource).urn.apply((urn) => resolve(urn)))),
  );
}

/** The config of a stack file, as the Pulumi CLI hands it to the program: object values as JSON. */
export function stackFileConfig(file: string): Record<string, string> {
  const config: Record<string, unknown> = parse(readFileSync(join(ROOT, file), 'utf8')).config;
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

export function projectConfig(values: Record<string, unknown>, project = PROJECT): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      `${project}:${key}`,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
}

/**
 * Runs `program` once in a fresh module registry with this config; the options each resource got
 * are captured by a stack transformation (the mocks drop them). Registrations wait on outputs (the
 * digest, the password): waitForRPCs, the runtime's own wait (what `disconnect` uses, present at
 * run time though not in its typings), lets them all reach the mocks.
 */
export async function runInStack(
  program: () => Promise<Record<string, unknown>> | Promise<void>,
  config: Record<string, string> = {},
  secretKeys: string[] = [],
): Promise<Run> {
  registered = [];
  loaded.clear();
  pulumi.runtime.setAllConfig(config, secretKeys);
  const options: Run['options'] = new Map();
  let outputs: Record<string, unknown> = {};
  await jest.isolateModulesAsync(async () => {
    outputs =
      (await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
          options.set(args.name, { opts: args.opts, resource: args.resource });
          return undefined;
        });
        return (await program()) ?? {};
      })) ?? {};
  });
  await waitForRegistrations();
  return { resources: registered, options, outputs, loaded: new Set(loaded) };
}

/** Waits until every registration the program started has reached the mocks. */
export async function waitForRegistrations(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** What was registered since the last run or the last call of this, which it clears. */
export function takeRegistered(): Registered[] {
  const taken = registered;
  registered = [];
  return taken;
}

/** Runs the program (`main` of Pulumi.yaml) with this config. */
export function runProgram(config: Record<string, string> = {}, secretKeys: string[] = []): Promise<Run> {
  return runInStack(async () => ({ ...(await import('../../stacks/pulumi')) }), config, secretKeys);
}

/**
 * The message a config fails with. The checks run while the program module loads, before any
 * resource is registered, so the import alone shows them (inside a stack, the runtime would
 * re-raise the error unhandled).
 */
export async function programFailure(
  config: Record<string, string>,
): Promise<{ error?: Error; registered: Registered[] }> {
  registered = [];
  pulumi.runtime.setAllConfig(config, []);
  let error: Error | undefined;
  await jest.isolateModulesAsync(async () => {
    error = await import('../../stacks/pulumi').then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
  });
  await waitForRegistrations();
  return { error, registered };
}
