import { type ChildProcess, execFile, spawn } from 'child_process';
import { createRequire } from 'module';
import * as path from 'path';
import { promisify } from 'util';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProviderRpc from '@pulumi/pulumi/proto/provider_grpc_pb';
import type * as ProviderProto from '@pulumi/pulumi/proto/provider_pb';
import type * as StructPb from 'google-protobuf/google/protobuf/struct_pb';

const ROOT = path.join(__dirname, '..', '..', '..');
/** `pulumi up` runs the program, and so the dynamic provider, in the directory of Pulumi.yaml's `main`. */
export const PROGRAM_DIRECTORY = path.join(ROOT, 'stacks', 'pulumi');

/** Pulumi's own gRPC client and protobuf types, loaded outside jest's registry as the engine's peers would be. */
const pulumiRequire = createRequire(require.resolve('@pulumi/pulumi/package.json'));
const grpc = pulumiRequire('@grpc/grpc-js') as typeof GrpcJs;
const providerRpc = pulumiRequire('./proto/provider_grpc_pb') as typeof ProviderRpc;
const providerProto = pulumiRequire('./proto/provider_pb') as typeof ProviderProto;
const { Struct } = pulumiRequire('google-protobuf/google/protobuf/struct_pb') as typeof StructPb;

/**
 * JobAwait's provider as the `__provider` input carries it, serialized in a Node.js process of its
 * own: loaded from this checkout, or, given a directory, from a package installed there.
 */
export async function serializedProvider(installedIn?: string): Promise<string> {
  const args = [
    '-r',
    'ts-node/register',
    path.join(__dirname, 'serialize-provider.ts'),
    ...(installedIn ? ['--installed', installedIn] : []),
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    cwd: PROGRAM_DIRECTORY,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/**
 * Pulumi's dynamic provider host (`@pulumi/pulumi/cmd/dynamic-provider`, what the engine starts as
 * `pulumi-resource-pulumi-nodejs`), in the program's directory, driven over gRPC as the engine
 * drives it. Whatever it prints after its port is what the engine shows as the provider's output.
 */
export class DynamicProviderHost {
  private constructor(
    private readonly process: ChildProcess,
    private readonly client: ProviderRpc.ResourceProviderClient,
    private readonly lines: string[],
  ) {}

  /** Starts the host with these environment variables added to the test's. */
  public static async start(env: Record<string, string> = {}): Promise<DynamicProviderHost> {
    const child = spawn(process.execPath, [pulumiRequire.resolve('./cmd/dynamic-provider'), '127.0.0.1:1'], {
      cwd: PROGRAM_DIRECTORY,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const port = new Promise<string>((resolve, reject) => {
      let partial = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        if (lines.length > 0) resolve(lines[0]);
      });
      child.on('exit', (code) => reject(new Error(`the dynamic provider host exited with ${String(code)}: ${stderr}`)));
    });
    const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${await port}`, grpc.credentials.createInsecure());
    const host = new DynamicProviderHost(child, client, lines);
    const configure = new providerProto.ConfigureRequest().setArgs(Struct.fromJavaScript({}));
    await host.call((done) => client.configure(configure, done));
    return host;
  }

  /** What the host printed after its port, as the engine shows it: the lines that mention `text`. */
  public printed(text: string): string[] {
    return this.lines.slice(1).filter((line) => line.includes(text));
  }

  /**
   * Create, as the engine calls it (undefined properties left out, as the engine never sends them):
   * resolves with the id and the outputs, rejects with the provider's error message.
   */
  public async create(
    type: string,
    name: string,
    properties: Record<string, unknown>,
  ): Promise<{ id: string; outputs: Record<string, unknown> }> {
    const request = new providerProto.CreateRequest()
      .setUrn(`urn:pulumi:test::work-queue-stack::${type}::${name}`)
      .setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(properties))));
    const response = await this.call<ProviderProto.CreateResponse>((done) => this.client.create(request, done));
    return { id: response.getId(), outputs: response.getProperties()!.toJavaScript() };
  }

  public stop(): void {
    this.client.close();
    this.process.kill();
  }

  /** One call of the provider's gRPC service: rejects with the provider's error message. */
  private call<Response>(
    send: (done: (error: GrpcJs.ServiceError | null, response: Response) => void) => void,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      send((error, response) => {
        if (error) reject(new Error(error.details));
        else resolve(response);
      });
    });
  }
}
