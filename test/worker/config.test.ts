import { readTarget, readWork, tlsServerName } from '../../worker/config';
import { ExitCode } from '../../contract';
import { CliError } from '../../worker/errors';

const QUEUE = 'jobs';

/** The problem lines a bad environment is reported with (a CliError with exit 2). */
function problems(env: Record<string, string>): string[] {
  try {
    readTarget(env);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.badInput);
    return (error as CliError).message.split('\n');
  }
  throw new Error(`no problem reported for ${JSON.stringify(env)}`);
}

describe('BROKER_URL naming Sentinels', () => {
  test('lists the Sentinels in order, each with its port or 26379, then the master name and the database', () => {
    const { broker } = readTarget({
      BROKER_URL: 'redis+sentinel://:p%40ss@sentinel-a:5000,sentinel-b,[::1]:26380/queue-primary/3',
      QUEUE,
    });
    expect(broker).toMatchObject({
      scheme: 'redis',
      tls: false,
      hostname: 'sentinel-a',
      port: 5000,
      password: 'p@ss',
      path: '3',
      display: 'redis+sentinel://:***@sentinel-a:5000,sentinel-b,[::1]:26380/queue-primary/3',
      sentinel: {
        master: 'queue-primary',
        nodes: [
          { host: 'sentinel-a', port: 5000 },
          { host: 'sentinel-b', port: 26379 },
          { host: '::1', port: 26380 },
        ],
      },
    });
  });

  test('database 0 and TLS with rediss+sentinel, as the constructs write it', () => {
    // Kubernetes expands $(BROKER_PASSWORD) into the URL verbatim.
    const { broker } = readTarget({
      BROKER_URL: 'rediss+sentinel://:a/b@c@redis:26379/redis-master',
      QUEUE,
      BROKER_PASSWORD: 'a/b@c',
    });
    expect(broker).toMatchObject({
      tls: true,
      password: 'a/b@c',
      path: '0',
      sentinel: { master: 'redis-master', nodes: [{ host: 'redis', port: 26379 }] },
    });
  });

  test.each([
    ['no master name', 'redis+sentinel://sentinel:26379'],
    ['a master name with a space', 'redis+sentinel://sentinel/my%20master'],
    ['a database that is not a number', 'redis+sentinel://sentinel/mymaster/first'],
    ['a path too long', 'redis+sentinel://sentinel/mymaster/0/1'],
    ['an empty host in the list', 'redis+sentinel://a,/mymaster'],
    ['a query', 'redis+sentinel://a/mymaster?db=1'],
  ])('refuses %s, with the form expected', (_, url) => {
    expect(problems({ BROKER_URL: url, QUEUE })).toEqual([
      expect.stringMatching(
        /^BROKER_URL: got ".*", expected a Sentinel URL such as redis\+sentinel:\/\/:password@sentinel-1:26379,sentinel-2:26379\/mymaster\/0: /,
      ),
    ]);
  });

  test('a host list is for Sentinels only', () => {
    expect(problems({ BROKER_URL: 'redis://:secret@a,b/0', QUEUE })).toEqual([
      'BROKER_URL: got "redis://:***@a,b/0", expected one host, or a list of Sentinels in a redis+sentinel:// URL',
    ]);
  });
});

describe('BROKER_URL parsing', () => {
  test.each([
    ['amqp://guest:guest@rabbit', 'amqp', false, 5672, '/'],
    ['amqps://guest:guest@rabbit', 'amqp', true, 5671, '/'],
    ['redis://redis', 'redis', false, 6379, '0'],
    ['rediss://redis', 'redis', true, 6379, '0'],
  ])('%s: scheme %s, tls %s, default port %d', (url, scheme, tls, port, path) => {
    const { broker } = readTarget({ BROKER_URL: url, QUEUE });
    expect(broker).toMatchObject({ scheme, tls, port, path });
  });

  test.each([
    [
      'amqps://user:p%40ss@rabbit.example:15671/batch',
      {
        scheme: 'amqp',
        tls: true,
        hostname: 'rabbit.example',
        port: 15671,
        username: 'user',
        password: 'p@ss',
        path: 'batch',
      },
    ],
    [
      'rediss://:secret@redis.example:6380/2',
      { scheme: 'redis', tls: true, hostname: 'redis.example', port: 6380, password: 'secret', path: '2' },
    ],
  ])('%s: port, credentials and path as given', (url, expected) => {
    expect(readTarget({ BROKER_URL: url, QUEUE }).broker).toMatchObject(expected);
  });

  test('masks the password of a TLS URL in its display form', () => {
    const { broker } = readTarget({ BROKER_URL: 'rediss://:secret@redis.example:6380/2', QUEUE });
    expect(broker.display).toBe('rediss://:***@redis.example:6380/2');
  });

  test('sends the host name as the TLS server name, and none for an IP address', () => {
    expect(tlsServerName(readTarget({ BROKER_URL: 'rediss://redis.example', QUEUE }).broker)).toBe('redis.example');
    expect(tlsServerName(readTarget({ BROKER_URL: 'amqps://10.0.0.7', QUEUE }).broker)).toBeUndefined();
    expect(tlsServerName(readTarget({ BROKER_URL: 'amqps://[::1]:5671', QUEUE }).broker)).toBeUndefined();
  });

  test('fails with an unknown scheme, listing all six', () => {
    expect(problems({ BROKER_URL: 'https://user:secret@broker:443', QUEUE })).toEqual([
      'BROKER_URL: got "https://user:***@broker/", expected a URL whose scheme is amqp://, amqps://, redis://, rediss://, redis+sentinel:// or rediss+sentinel://',
    ]);
  });

  test('fails without BROKER_URL, naming the six schemes', () => {
    expect(problems({ QUEUE })).toEqual([
      'BROKER_URL: got nothing, expected a URL such as amqp://user:password@host:5672/vhost or redis://:password@host:6379/0 (scheme amqp://, amqps://, redis://, rediss://, redis+sentinel:// or rediss+sentinel://)',
    ]);
  });

  test('fails with a rediss:// URL whose path is not a database number, in its own scheme', () => {
    expect(problems({ BROKER_URL: 'rediss://:secret@redis:6380/jobs', QUEUE })).toEqual([
      'BROKER_URL: got "rediss://:***@redis:6380/jobs", expected a Redis URL whose path is a database number, such as rediss://host:6379/0',
    ]);
  });

  test('fails with a TLS URL without a host name', () => {
    expect(problems({ BROKER_URL: 'amqps:///vhost', QUEUE })).toEqual([
      expect.stringMatching(/^BROKER_URL: got "amqps:\/\/\/vhost", expected a URL with a host name, /),
    ]);
  });
});

describe('WORK_TIMEOUT_SECONDS and MAX_ATTEMPTS (the retry budget)', () => {
  const AMQP = { BROKER_URL: 'amqp://guest:guest@rabbit', QUEUE };
  const REDIS = { BROKER_URL: 'redis://redis', QUEUE };

  /** The problem lines of `work`'s settings. */
  function workProblems(env: Record<string, string>): string[] {
    try {
      readWork(env);
    } catch (error) {
      expect((error as CliError).exitCode).toBe(ExitCode.badInput);
      return (error as CliError).message.split('\n');
    }
    throw new Error(`no problem reported for ${JSON.stringify(env)}`);
  }

  test('the work timeout defaults to 1500 s and takes fractions', () => {
    expect(readWork(AMQP).work.workTimeoutSeconds).toBe(1500);
    expect(readWork({ ...REDIS, WORK_TIMEOUT_SECONDS: '0.5' }).work.workTimeoutSeconds).toBe(0.5);
  });

  test.each(['0', '-1', 'soon', '2147484'])(
    'WORK_TIMEOUT_SECONDS=%s is bad input naming the variable and the range',
    (value) => {
      expect(workProblems({ ...REDIS, WORK_TIMEOUT_SECONDS: value })).toEqual([
        `WORK_TIMEOUT_SECONDS: got "${value}", expected a number of seconds greater than 0 and at most 2147483 (24.8 days)`,
      ]);
    },
  );

  test("MAX_ATTEMPTS above the work queue's delivery limit is bad input on RabbitMQ only", () => {
    expect(workProblems({ ...AMQP, MAX_ATTEMPTS: '1001' })).toEqual([
      'MAX_ATTEMPTS: got "1001", expected at most 1000 on RabbitMQ, the work queue\'s x-delivery-limit',
    ]);
    expect(readWork({ ...AMQP, MAX_ATTEMPTS: '1000' }).work.maxAttempts).toBe(1000);
    expect(readWork({ ...REDIS, MAX_ATTEMPTS: '1001' }).work.maxAttempts).toBe(1001);
  });
});
