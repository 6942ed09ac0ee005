import { ExitCode, queueKeys } from '../../contract';
import { AMQP, REDIS } from './brokers';
import { type BrokerKind, useBrokers } from './broker-fixture';
import { amqpCount, processed, runCli, sorted, tempDir } from './helpers';
import { type Certificate, type TlsProxy, makeCertificate, startTlsProxy } from './tls-proxy';

/** A failed start: exit 3 and exactly one line that names the masked URL and the reason. */
function expectUnreachable(result: { code: number | null; stderr: string }, url: string, reason: RegExp): void {
  expect(result.code).toBe(ExitCode.brokerUnreachable);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`BROKER_URL: got "${url}", expected a reachable`);
  expect(lines[0]).toMatch(reason);
}

describe('TLS broker URLs (amqps://, rediss://) through a TLS-terminating proxy', () => {
  const brokers = useBrokers('redis', 'amqp');
  const files = tempDir();
  let certificate: Certificate;
  let redisProxy: TlsProxy;
  let amqpProxy: TlsProxy;
  const newQueue = (broker: BrokerKind) => brokers.queue('tls', broker);
  const rediss = () => `rediss://localhost:${redisProxy.port}`;
  const amqps = () => `amqps://${AMQP.username}:${AMQP.password}@localhost:${amqpProxy.port}`;
  const trusted = (env: Record<string, string>) => ({ NODE_EXTRA_CA_CERTS: certificate.certFile, ...env });

  beforeAll(async () => {
    certificate = makeCertificate(files.dir);
    redisProxy = await startTlsProxy(certificate, REDIS.port);
    amqpProxy = await startTlsProxy(certificate, AMQP.port);
  });

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await redisProxy?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await amqpProxy?.close();
    files.remove();
  });

  test('seeds and drains a Redis queue over rediss://, sending localhost as the TLS server name', async () => {
    const queue = newQueue('redis');
    const items = ['apple', 'banana', 'cherry', 'apple', 'fig'];
    const names = redisProxy.serverNames.length;
    const seed = await runCli(['seed', ...items], trusted({ BROKER_URL: rediss(), QUEUE: queue }));
    expect(seed.stderr).toBe('');
    expect(seed.code).toBe(ExitCode.ok);
    expect(await brokers.redis.lLen(queue)).toBe(items.length);

    const work = await runCli(
      ['work'],
      trusted({ BROKER_URL: rediss(), QUEUE: queue, WORKER_MODE: 'drain', WORK_SECONDS: '0' }),
    );
    expect(work.code).toBe(ExitCode.ok);
    expect(sorted(processed(work.stdout))).toEqual(sorted(items));
    expect(await brokers.redis.lLen(queue)).toBe(0);
    expect(await brokers.redis.get(queueKeys(queue).done)).toBe(String(items.length));
    expect(redisProxy.serverNames.slice(names)).toEqual(['localhost', 'localhost']);
  });

  test('seeds a RabbitMQ queue over amqps:// and a single worker takes one item', async () => {
    const queue = newQueue('amqp');
    const names = amqpProxy.serverNames.length;
    const seed = await runCli(['seed', 'one', 'two', 'three'], trusted({ BROKER_URL: amqps(), QUEUE: queue }));
    expect(seed.stderr).toBe('');
    expect(seed.code).toBe(ExitCode.ok);
    expect(await amqpCount(brokers.amqp, queue)).toBe(3);

    const work = await runCli(
      ['work'],
      trusted({ BROKER_URL: amqps(), QUEUE: queue, WORKER_MODE: 'single', WORK_SECONDS: '0' }),
    );
    expect(work.code).toBe(ExitCode.ok);
    expect(processed(work.stdout)).toEqual(['one']);
    expect(await amqpCount(brokers.amqp, queue)).toBe(2);
    expect(amqpProxy.serverNames.slice(names)).toEqual(['localhost', 'localhost']);
  });

  test('status over rediss:// and amqps://', async () => {
    const redisQueue = newQueue('redis');
    await brokers.redis.rPush(redisQueue, ['a', 'b']);
    const redisStatus = await runCli(['status'], trusted({ BROKER_URL: rediss(), QUEUE: redisQueue }));
    expect(redisStatus.code).toBe(ExitCode.ok);
    expect(redisStatus.stdout).toBe(`queue ${redisQueue}: pending 2, in progress 0, done 0, dead 0\n`);

    const amqpQueue = newQueue('amqp');
    expect((await runCli(['seed', 'x'], trusted({ BROKER_URL: amqps(), QUEUE: amqpQueue }))).code).toBe(ExitCode.ok);
    const amqpStatus = await runCli(['status'], trusted({ BROKER_URL: amqps(), QUEUE: amqpQueue }));
    expect(amqpStatus.code).toBe(ExitCode.ok);
    expect(amqpStatus.stdout).toMatch(
      new RegExp(`^queue ${amqpQueue}: pending 1, in progress or done 0, dead 0 \\(seeded 1\\)$`, 'm'),
    );
  });

  test('connects by IP address when the certificate names it (no server name is sent)', async () => {
    const queue = newQueue('redis');
    const names = redisProxy.serverNames.length;
    const result = await runCli(
      ['seed', 'by-ip'],
      trusted({ BROKER_URL: `rediss://127.0.0.1:${redisProxy.port}`, QUEUE: queue }),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(ExitCode.ok);
    expect(await brokers.redis.lRange(queue, 0, -1)).toEqual(['by-ip']);
    expect(redisProxy.serverNames.slice(names)).toEqual([undefined]);
  });

  test.each([
    ['Redis', () => rediss(), () => rediss()],
    ['RabbitMQ', () => amqps(), () => `amqps://guest:***@localhost:${amqpProxy.port}`],
  ])('fails without NODE_EXTRA_CA_CERTS: %s certificate not trusted', async (broker, url, shown) => {
    const queue = newQueue(broker === 'Redis' ? 'redis' : 'amqp');
    const result = await runCli(['seed', 'never'], { BROKER_URL: url(), QUEUE: queue });
    expectUnreachable(
      result,
      shown(),
      /NODE_EXTRA_CA_CERTS.*\(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate\)$/,
    );
    expect(result.stderr).not.toContain(':guest@');
  });

  test('fails without NODE_EXTRA_CA_CERTS even when NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    const queue = newQueue('redis');
    const result = await runCli(['seed', 'never'], {
      BROKER_URL: rediss(),
      QUEUE: queue,
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.stderr).toMatch(/self-signed certificate/);
    expect(await brokers.redis.exists(queue)).toBe(0);
  });

  test('fails when the certificate does not name the host', async () => {
    // 127.0.0.2 is loopback too, but the certificate names only localhost and 127.0.0.1.
    const proxy = await startTlsProxy(certificate, REDIS.port, '127.0.0.2');
    try {
      const url = `rediss://127.0.0.2:${proxy.port}`;
      const result = await runCli(['status'], trusted({ BROKER_URL: url, QUEUE: newQueue('redis') }));
      expectUnreachable(result, url, /\(ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.2.*\)$/);
    } finally {
      await proxy.close();
    }
  });

  test('fails with rediss:// to the plain Redis port', async () => {
    const url = `rediss://:s3cret@127.0.0.1:${REDIS.port}`;
    // Plain Redis waits for the end of a command line (timeout), or answers the handshake in plain
    // text when its random bytes hold a line break. A timeout may also be a broker that is not up
    // yet, which is waited for BROKER_RETRY_SECONDS: not here.
    const result = await runCli(
      ['status'],
      trusted({ BROKER_URL: url, QUEUE: newQueue('redis'), BROKER_RETRY_SECONDS: '0' }),
    );
    expectUnreachable(
      result,
      `rediss://:***@127.0.0.1:${REDIS.port}`,
      /speaks TLS.*\((Connection timeout|no complete handshake within [0-9.]+ s: .*|ERR_SSL_WRONG_VERSION_NUMBER: wrong version number)\)$/,
    );
    expect(result.stderr).not.toContain('s3cret');
  });

  test('fails with amqps:// to the plain RabbitMQ port', async () => {
    const result = await runCli(
      ['status'],
      trusted({ BROKER_URL: `amqps://guest:guest@127.0.0.1:${AMQP.port}`, QUEUE: newQueue('amqp') }),
    );
    expectUnreachable(
      result,
      `amqps://guest:***@127.0.0.1:${AMQP.port}`,
      /speaks TLS.*\(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)$/,
    );
  });
});
