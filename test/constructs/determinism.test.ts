import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { type Manifest, manifestsOf, synth } from '../manifests';
import { QueueSeeder, RabbitMQStatefulSet, RedisPod } from '../../constructs';
import { fullApp, IMAGE } from './full-app';

/** The files `app.synth()` writes for the full app, by name. */
function synthFiles(replicas: number): Record<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'work-queue-synth-'));
  fullApp({ replicas, outdir }).app.synth();
  return Object.fromEntries(readdirSync(outdir).map((file) => [file, readFileSync(join(outdir, file), 'utf8')]));
}

/** Every string in an object, with where it is. */
function strings(value: unknown, where = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[where, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${where}[${index}]`));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => strings(item, `${where}.${key}`));
  return [];
}

describe('deterministic synth', () => {
  for (const replicas of [1, 3]) {
    test(`two synths of the same app write the same files, byte for byte (replicas: ${replicas})`, () => {
      const first = synthFiles(replicas);
      const second = synthFiles(replicas);
      expect(Object.keys(first)).toEqual(['0000-brokers.k8s.yaml', '0001-jobs.k8s.yaml', '0002-scaled.k8s.yaml']);
      for (const file of Object.keys(first)) expect({ file, text: second[file] }).toEqual({ file, text: first[file] });
    });
  }

  test('no credential anywhere when none is passed: no Secret, every credential variable by reference, nothing random-looking', () => {
    const { app, charts } = fullApp({ replicas: 3 });
    app.synth();
    const manifests: Manifest[] = charts.flatMap(manifestsOf);
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    for (const manifest of manifests) {
      const pod = manifest.spec?.template?.spec ?? manifest.spec?.jobTargetRef?.template?.spec;
      for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
        for (const variable of container.env ?? []) {
          if (/PASS|COOKIE|SECRET|TOKEN/.test(variable.name))
            expect([variable.name, variable.value]).toEqual([variable.name, undefined]);
          if (variable.name === 'CREDENTIALS') {
            for (const secret of JSON.parse(variable.value))
              expect(Object.keys(secret.values ?? {})).toEqual(secret.values ? ['username'] : []);
          }
        }
      }
    }
    // A generated credential would be a long run of mixed letters and digits (base64url); hashes are lower-case hex.
    for (const [where, text] of strings(manifests)) {
      for (const token of text.split(/[^A-Za-z0-9]+/)) {
        const random = token.length >= 20 && /[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9]/.test(token);
        expect({ where, token, random }).toEqual({ where, token, random: false });
      }
    }
    expect(JSON.stringify(manifests)).not.toContain('guest');
  });

  test('a password and a cookie that are passed appear in their Secrets and nowhere else', () => {
    const manifests = synth((chart) => {
      const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', {
        replicas: 3,
        password: 'passed-password',
        erlangCookie: 'passed-cookie',
      });
      new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['a'], image: IMAGE });
      new RedisPod(chart, 'redis', { password: 'redis-password', serviceName: 'redis', name: 'redis' });
    });
    const found = strings(manifests).filter(([, text]) => /passed-|redis-password/.test(text));
    expect(found.map(([where, text]) => [where.replace(/^\[\d+\]/, ''), text])).toEqual([
      ['.stringData.password', 'passed-password'],
      ['.stringData.cookie', 'passed-cookie'],
      ['.stringData.password', 'redis-password'],
    ]);
    expect(
      manifests.filter((m) => m.kind === 'Job' && m.spec.template.spec.containers[0].args[0] === 'credentials'),
    ).toEqual([]);
  });
});
