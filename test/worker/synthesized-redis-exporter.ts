import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { QueueSeeder, RedisPod } from '../../constructs';
import { type Manifest, type ManifestValue, only, podSpec, synth } from '../manifests';
import { scrape, type Sample } from '../prometheus-text';
import { closedPort } from './helpers';

/** Debian's build of redis_exporter, the program of RedisPod's `metricsExporter` image (.ci/start-brokers installs it). */
const EXPORTER = 'prometheus-redis-exporter';

/**
 * The `metrics` container of a RedisPod with `password` and `metricsExporter`, whose seeder fills
 * `queue`: its environment as synthesized, the password read from the synthesized Secret as the
 * kubelet resolves the secretKeyRef.
 */
export function synthesizedExporterEnv(queue: string, password: string): Record<string, string> {
  const manifests = synth((chart) => {
    const broker = new RedisPod(chart, 'redis', { password, metricsExporter: {} });
    new QueueSeeder(chart, 'seeder', { broker, queue, items: ['unused'], image: 'work-queue:test' });
  });
  const container = podSpec(only(manifests, 'StatefulSet')).containers.find((c: ManifestValue) => c.name === 'metrics');
  if (!container) throw new Error('the synthesized RedisPod has no metrics container');
  return Object.fromEntries(
    container.env.map((variable: ManifestValue) => [
      variable.name,
      variable.value ?? secretValue(manifests, variable.valueFrom),
    ]),
  );
}

function secretValue(manifests: Manifest[], valueFrom: ManifestValue): string {
  const { name, key } = valueFrom.secretKeyRef;
  const value = only(manifests, 'Secret', name).stringData?.[key];
  if (value === undefined) throw new Error(`no key ${String(key)} in the synthesized Secret ${String(name)}`);
  return value;
}

/** redis_exporter run with `env` (its Redis address replaced by `redisAddress`), on a port of its own. */
export class ExporterProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>, redisAddress: string): Promise<ExporterProcess> {
    if (spawnSync(EXPORTER, ['--version']).error) {
      throw new Error(`${EXPORTER} cannot be run: install Debian's prometheus-redis-exporter (.ci/start-brokers does)`);
    }
    const listen = `127.0.0.1:${await closedPort()}`;
    const child = spawn(EXPORTER, [], {
      env: { ...env, REDIS_ADDR: redisAddress, REDIS_EXPORTER_WEB_LISTEN_ADDRESS: listen },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exporter = new ExporterProcess(child, `http://${listen}/metrics`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${EXPORTER} exited with ${child.exitCode}: ${stderr}`);
      if (
        await exporter.scrape().then(
          () => true,
          () => false,
        )
      )
        return exporter;
      if (Date.now() > deadline) throw new Error(`${EXPORTER} did not serve ${exporter.url} within 10 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  scrape(): Promise<Sample[]> {
    return scrape(this.url);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
