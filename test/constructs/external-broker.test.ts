import type { Chart } from 'cdk8s';
import { ExternalBroker, type ExternalBrokerProps, QueueSeeder, WorkQueueJob } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { containerEnv, onlyJob, synth } from '../manifests';
import { restrictedViolations } from '../pod-security';

const IMAGE = 'job-wq:latest';

/** The env of a worker Job that uses an ExternalBroker built from `props`. */
function clientEnv(
  props: ExternalBrokerProps,
  pattern: 'coarse' | 'fine' = props.scheme === 'redis' ? 'fine' : 'coarse',
) {
  const manifests = synth((chart: Chart) => {
    const broker = new ExternalBroker(chart, 'broker', props);
    const completions = pattern === 'coarse' ? 1 : undefined;
    new WorkQueueJob(chart, 'job', {
      broker,
      queue: 'q',
      image: IMAGE,
      pattern,
      completions,
      name: 'worker',
      externalProducer: true,
    });
  });
  return containerEnv(onlyJob(manifests, 'worker'));
}

describe('ExternalBroker', () => {
  test('creates no objects: no broker, no Secret, no NetworkPolicy', () => {
    const manifests = synth(
      (chart) =>
        new ExternalBroker(chart, 'broker', {
          scheme: 'amqp',
          host: 'rabbitmq.messaging.svc',
          existingSecretName: 'rabbit',
        }),
    );
    expect(manifests).toEqual([]);
  });

  test("AMQP: credentials from the existing Secret, expanded into BROKER_URL like the built-in brokers' clients", () => {
    const env = clientEnv({ scheme: 'amqp', host: 'rabbitmq.messaging.svc', existingSecretName: 'rabbit' });
    expect(env.names.slice(0, 3)).toEqual(['BROKER_USERNAME', 'BROKER_PASSWORD', 'BROKER_URL']);
    expect(env.byName.BROKER_USERNAME.valueFrom.secretKeyRef).toEqual({ name: 'rabbit', key: 'username' });
    expect(env.byName.BROKER_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'rabbit', key: 'password' });
    expect(env.byName.BROKER_URL.value).toBe(
      'amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq.messaging.svc:5672',
    );
  });

  test("AMQP over TLS: amqps:// on 5671, a virtual host, the Secret's own key names", () => {
    const env = clientEnv({
      scheme: 'amqp',
      host: 'b-1234.mq.eu-west-1.amazonaws.com',
      tls: true,
      existingSecretName: 'mq',
      usernameKey: 'user',
      passwordKey: 'pass',
      vhost: 'batch/prod',
    });
    expect(env.byName.BROKER_USERNAME.valueFrom.secretKeyRef).toEqual({ name: 'mq', key: 'user' });
    expect(env.byName.BROKER_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'mq', key: 'pass' });
    expect(env.byName.BROKER_URL.value).toBe(
      'amqps://$(BROKER_USERNAME):$(BROKER_PASSWORD)@b-1234.mq.eu-west-1.amazonaws.com:5671/batch%2Fprod',
    );
  });

  test('Redis: password only by default, a database number, rediss:// with TLS, a given port', () => {
    const withPassword = clientEnv({
      scheme: 'redis',
      host: 'cache.example.com',
      tls: true,
      port: 6380,
      existingSecretName: 'redis',
      db: 3,
    });
    expect(withPassword.names.slice(0, 2)).toEqual(['BROKER_PASSWORD', 'BROKER_URL']);
    expect(withPassword.byName.BROKER_URL.value).toBe('rediss://:$(BROKER_PASSWORD)@cache.example.com:6380/3');

    const acl = clientEnv({ scheme: 'redis', host: '10.0.0.12', existingSecretName: 'redis', usernameKey: 'username' });
    expect(acl.byName.BROKER_URL.value).toBe('redis://$(BROKER_USERNAME):$(BROKER_PASSWORD)@10.0.0.12:6379');

    const open = clientEnv({ scheme: 'redis', host: 'redis' });
    expect(open.names[0]).toBe('BROKER_URL');
    expect(open.byName.BROKER_URL.value).toBe('redis://redis:6379');
  });

  test('composes with a seeder and a Job like a built-in broker: restricted pods, valid objects, no client label', () => {
    const manifests = synth((chart) => {
      const broker = new ExternalBroker(chart, 'broker', {
        scheme: 'amqp',
        host: 'rabbitmq.messaging.svc',
        existingSecretName: 'rabbit',
      });
      const seeder = new QueueSeeder(chart, 'seeder', {
        broker,
        queue: 'thumbnails',
        items: ['a', 'b', 'c'],
        image: IMAGE,
      });
      new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse' });
    });
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs.map((j) => j.spec.completions)).toEqual([undefined, 3]);
    for (const job of jobs) {
      expect(restrictedViolations(job.spec.template.spec)).toEqual([]);
      expect(job.spec.template.metadata.labels['work-queue-stack.io/client-of']).toBeUndefined();
    }
    for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
  });

  test('a private CA: its Secret mounted into every client pod and named by NODE_EXTRA_CA_CERTS', () => {
    const manifests = synth((chart) => {
      const broker = new ExternalBroker(chart, 'broker', {
        scheme: 'amqp',
        host: 'rabbit.messaging.svc',
        tls: true,
        existingSecretName: 'rabbit',
        caSecretName: 'rabbit-tls',
      });
      const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['a'], image: IMAGE, name: 'fill' });
      new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse', name: 'work' });
    });
    for (const name of ['fill', 'work']) {
      const job = onlyJob(manifests, name);
      const pod = job.spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: 'broker-ca',
        secret: { secretName: 'rabbit-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
      });
      expect(pod.containers[0].volumeMounts).toContainEqual({
        name: 'broker-ca',
        mountPath: '/etc/work-queue-broker-ca',
        readOnly: true,
      });
      expect(containerEnv(job).byName.NODE_EXTRA_CA_CERTS.value).toBe('/etc/work-queue-broker-ca/ca.crt');
      expect(restrictedViolations(pod)).toEqual([]);
      expect(schemaError(job)).toBeUndefined();
    }
  });

  const fails: Array<[string, Partial<ExternalBrokerProps>, string]> = [
    [
      'an unknown scheme',
      { scheme: 'kafka' as unknown as ExternalBrokerProps['scheme'] },
      'scheme: got "kafka", expected "amqp" or "redis"',
    ],
    ['a host with a scheme', { host: 'amqp://rabbit' }, 'host: got "amqp://rabbit", expected a DNS name'],
    ['a port out of range', { port: 70000 }, 'port: got 70000, expected a port number from 1 to 65535'],
    [
      'a Secret name that is not a DNS subdomain',
      { existingSecretName: 'Rabbit_Creds' },
      'existingSecretName: got "Rabbit_Creds", expected a DNS-1123 subdomain',
    ],
    [
      'a key without a Secret',
      { usernameKey: 'user' },
      'usernameKey: got "user", expected no usernameKey without existingSecretName',
    ],
    [
      'a bad Secret key',
      { existingSecretName: 's', passwordKey: 'pass word' },
      'passwordKey: got "pass word", expected a Secret key',
    ],
    ['a database number on AMQP', { db: 1 }, 'db: got 1, expected no db for an AMQP broker'],
    [
      'a CA without TLS',
      { caSecretName: 'ca' },
      'caSecretName: got "ca", expected no CA certificate without tls: true',
    ],
    [
      'a CA key without a CA Secret',
      { tls: true, caKey: 'tls.crt' },
      'caKey: got "tls.crt", expected no caKey without caSecretName',
    ],
  ];
  for (const [what, props, message] of fails) {
    test(`fails on ${what}`, () => {
      expect(() =>
        synth((chart) => new ExternalBroker(chart, 'broker', { scheme: 'amqp', host: 'rabbit', ...props })),
      ).toThrow(`test/broker: ${message}`);
    });
  }

  test('Redis with Sentinel: a redis+sentinel:// BROKER_URL to the Sentinels on 26379, the master name, the same password', () => {
    const env = clientEnv({
      scheme: 'redis',
      host: 'redis-sentinel.data.svc',
      sentinelMaster: 'mymaster',
      db: 2,
      existingSecretName: 'redis',
    });
    expect(env.byName.BROKER_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'redis', key: 'password' });
    expect(env.byName.BROKER_URL.value).toBe(
      'redis+sentinel://:$(BROKER_PASSWORD)@redis-sentinel.data.svc:26379/mymaster/2',
    );
    const tls = clientEnv({ scheme: 'redis', host: 'sentinel', port: 5000, tls: true, sentinelMaster: 'm' });
    expect(tls.byName.BROKER_URL.value).toBe('rediss+sentinel://sentinel:5000/m');
  });

  test('fails on a Sentinel master name on AMQP, and on a name Sentinel URLs cannot carry', () => {
    expect(() =>
      synth((chart) => new ExternalBroker(chart, 'broker', { scheme: 'amqp', host: 'rabbit', sentinelMaster: 'm' })),
    ).toThrow(
      'test/broker: sentinelMaster: got "m", expected no sentinelMaster for an AMQP broker (Sentinel serves Redis)',
    );
    expect(() =>
      synth(
        (chart) => new ExternalBroker(chart, 'broker', { scheme: 'redis', host: 'redis', sentinelMaster: 'my master' }),
      ),
    ).toThrow(
      'test/broker: sentinelMaster: got "my master", expected a Sentinel master name of 1 to 200 letters, digits, ".", "_" or "-"',
    );
  });

  test('fails on a vhost on Redis and a negative database number', () => {
    expect(() =>
      synth((chart) => new ExternalBroker(chart, 'broker', { scheme: 'redis', host: 'redis', vhost: 'x' })),
    ).toThrow('test/broker: vhost: got "x", expected no vhost for a Redis broker');
    expect(() =>
      synth((chart) => new ExternalBroker(chart, 'broker', { scheme: 'redis', host: 'redis', db: -1 })),
    ).toThrow('test/broker: db: got -1, expected a whole number of at least 0');
  });

  test('fails on the fine pattern over AMQP, as with the built-in RabbitMQ', () => {
    expect(() => clientEnv({ scheme: 'amqp', host: 'rabbit' }, 'fine')).toThrow(
      /test\/job: pattern: got "fine", expected "coarse" on an amqp broker/,
    );
  });
});
