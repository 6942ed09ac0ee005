import { ExitCode, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import { AMQP } from './brokers';
import { REDIS_URL, amqpCount, amqpEnv, closedPort, redisEnv, runCli, tempDir } from './helpers';

/** Every start-up error is one line per problem, names the variable, the bad value and what is expected. */
function expectOneLineProblem(stderr: string, text: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(text);
}

describe('work-queue start-up errors', () => {
  const brokers = useBrokers('redis', 'amqp');
  const files = tempDir();
  const queue = brokers.queue('errors');

  afterAll(() => files.remove());

  test('fails without BROKER_URL', async () => {
    const result = await runCli(['work'], { QUEUE: queue });
    expect(result.code).toBe(ExitCode.badInput);
    expectOneLineProblem(result.stderr, /BROKER_URL: got nothing, expected a URL such as amqp:\/\/.*redis:\/\//);
  });

  test('fails with a malformed BROKER_URL, masking the password', async () => {
    const result = await runCli(['work'], { BROKER_URL: 'amqp://user:s3cret@', QUEUE: queue });
    expect(result.code).toBe(ExitCode.badInput);
    expectOneLineProblem(result.stderr, /BROKER_URL: got "amqp:\/\/user:\*\*\*@", expected a URL/);
    expect(result.stderr).not.toContain('s3cret');
  });

  test('fails with an unknown scheme', async () => {
    const result = await runCli(['status'], { BROKER_URL: 'kafka://127.0.0.1:9092', QUEUE: queue });
    expect(result.code).toBe(ExitCode.badInput);
    expectOneLineProblem(
      result.stderr,
      /BROKER_URL: got "kafka:\/\/127.0.0.1:9092", expected a URL whose scheme is amqp:\/\/, amqps:\/\/, redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or rediss\+sentinel:\/\/$/,
    );
  });

  test('fails with a Redis URL whose path is not a database number', async () => {
    const result = await runCli(['status'], { BROKER_URL: 'redis://127.0.0.1:6379/jobs', QUEUE: queue });
    expect(result.code).toBe(ExitCode.badInput);
    expectOneLineProblem(
      result.stderr,
      /BROKER_URL: got "redis:\/\/127.0.0.1:6379\/jobs", expected a Redis URL whose path is a database number/,
    );
  });

  test('fails without QUEUE, and with a malformed QUEUE', async () => {
    const missing = await runCli(['seed', 'a'], { BROKER_URL: REDIS_URL });
    expect(missing.code).toBe(ExitCode.badInput);
    expectOneLineProblem(missing.stderr, /QUEUE: got nothing, expected a queue name of 1 to 200 characters/);
    const bad = await runCli(['seed', 'a'], { BROKER_URL: REDIS_URL, QUEUE: 'amq.jobs' });
    expect(bad.code).toBe(ExitCode.badInput);
    expectOneLineProblem(bad.stderr, /QUEUE: got "amq.jobs", expected a queue name .* not beginning with "amq."/);
  });

  test.each([
    ['LEASE_SECONDS', 'soon', /LEASE_SECONDS: got "soon", expected a finite number greater than 0/],
    ['LEASE_SECONDS', '0', /LEASE_SECONDS: got "0", expected a finite number greater than 0/],
    ['MAX_ATTEMPTS', '2.5', /MAX_ATTEMPTS: got "2.5", expected a whole number of at least 1/],
    ['MAX_ATTEMPTS', '0', /MAX_ATTEMPTS: got "0", expected a whole number of at least 1/],
    ['WORK_SECONDS', '-1', /WORK_SECONDS: got "-1", expected a finite number of at least 0/],
    ['WORK_SECONDS', '10s', /WORK_SECONDS: got "10s", expected a finite number of at least 0/],
    ['WORKER_MODE', 'batch', /WORKER_MODE: got "batch", expected one of single, drain/],
    ['BROKER_RETRY_SECONDS', '1m', /BROKER_RETRY_SECONDS: got "1m", expected a finite number of at least 0/],
  ])('fails with %s=%s', async (name, value, message) => {
    const result = await runCli(['work'], redisEnv(queue, { [name]: value }));
    expect(result.code).toBe(ExitCode.badInput);
    expectOneLineProblem(result.stderr, message);
  });

  test('fails reporting every bad variable at once, one line each', async () => {
    const result = await runCli(['work'], { BROKER_URL: 'ftp://x', QUEUE: '', LEASE_SECONDS: 'x', MAX_ATTEMPTS: '-3' });
    expect(result.code).toBe(ExitCode.badInput);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.replace(/^work-queue: /, '').split(':')[0])).toEqual([
      'BROKER_URL',
      'QUEUE',
      'LEASE_SECONDS',
      'MAX_ATTEMPTS',
    ]);
  });

  test('fails with an unknown command or flag', async () => {
    const command = await runCli(['run'], redisEnv(queue));
    expect(command.code).toBe(ExitCode.badInput);
    expectOneLineProblem(command.stderr, /command: got "run", expected one of seed, work, status/);
    const flag = await runCli(['seed', '--forse', 'a'], redisEnv(queue));
    expect(flag.code).toBe(ExitCode.badInput);
    expectOneLineProblem(flag.stderr, /argument: got "--forse", expected one of --force/);
  });

  describe('bad ITEMS_FILE', () => {
    test('fails without items', async () => {
      const result = await runCli(['seed'], redisEnv(queue));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(
        result.stderr,
        /ITEMS_FILE: got nothing, expected the path of a JSON array of strings, a directory of item files in ITEMS_DIRECTORY, or items as arguments to seed/,
      );
    });

    test('fails when the file is missing', async () => {
      const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: `${files.dir}/missing.json` }));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(
        result.stderr,
        /ITEMS_FILE: got ".*missing.json", expected a readable file holding a JSON array of strings \(ENOENT\)/,
      );
    });

    test('fails when the file is not JSON', async () => {
      const file = files.file('broken.json', '["a", "b"');
      const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: file }));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(
        result.stderr,
        /ITEMS_FILE: got ".*broken.json", expected a file holding a JSON array of strings, but it is not JSON/,
      );
    });

    test('fails when the JSON is not an array', async () => {
      const file = files.file('object.json', '{"items": ["a"]}');
      const result = await runCli(['seed'], amqpEnv(queue, { ITEMS_FILE: file }));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(result.stderr, /ITEMS_FILE: got \{"items":\["a"\]\}, expected a JSON array of strings/);
    });

    test('fails when an element is not a string, naming its index', async () => {
      const file = files.file('mixed.json', '["a", 2, "c"]');
      const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: file }));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(result.stderr, /ITEMS_FILE\[1\]: got 2, expected a string/);
    });

    test('fails when the array is empty', async () => {
      const file = files.file('empty.json', '[]');
      const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: file }));
      expect(result.code).toBe(ExitCode.badInput);
      expectOneLineProblem(result.stderr, /ITEMS_FILE: got \[\], expected at least one item/);
    });
  });

  describe('unreachable broker', () => {
    test('fails for Redis on a closed port', async () => {
      const port = await closedPort();
      const result = await runCli(['work'], {
        BROKER_URL: `redis://:pw@127.0.0.1:${port}`,
        QUEUE: queue,
        BROKER_RETRY_SECONDS: '0',
      });
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expectOneLineProblem(
        result.stderr,
        new RegExp(
          `BROKER_URL: got "redis://:\\*\\*\\*@127.0.0.1:${port}", expected a reachable Redis broker .*ECONNREFUSED`,
        ),
      );
    });

    test('fails for RabbitMQ on a closed port', async () => {
      const port = await closedPort();
      const result = await runCli(['seed', 'a'], {
        BROKER_URL: `amqp://guest:guest@127.0.0.1:${port}`,
        QUEUE: queue,
        BROKER_RETRY_SECONDS: '0',
      });
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expectOneLineProblem(
        result.stderr,
        new RegExp(
          `BROKER_URL: got "amqp://guest:\\*\\*\\*@127.0.0.1:${port}", expected a reachable RabbitMQ \\(AMQP\\) broker .*ECONNREFUSED`,
        ),
      );
    });

    test('fails after waiting BROKER_RETRY_SECONDS for a broker that is not reachable yet', async () => {
      const port = await closedPort();
      const result = await runCli(['status'], {
        BROKER_URL: `redis://127.0.0.1:${port}`,
        QUEUE: queue,
        BROKER_RETRY_SECONDS: '1',
      });
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^work-queue: cannot reach Redis at 127\\.0\\.0\\.1:${port} yet \\(.*ECONNREFUSED.*\\); retrying for up to 1 s$`,
          ),
        ),
        expect.stringMatching(
          /^work-queue: BROKER_URL: got .*, expected a reachable Redis broker .* \(not reachable for 1 s, BROKER_RETRY_SECONDS; .*ECONNREFUSED.*\)$/,
        ),
      ]);
    });

    test('fails for RabbitMQ with wrong credentials', async () => {
      const result = await runCli(['status'], { BROKER_URL: `amqp://guest:wrong@${AMQP.address}`, QUEUE: queue });
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expectOneLineProblem(
        result.stderr,
        new RegExp(
          `BROKER_URL: got "amqp://guest:\\*\\*\\*@${AMQP.address}", expected a reachable RabbitMQ \\(AMQP\\) broker .*accepts these credentials.*ACCESS_REFUSED`,
        ),
      );
    });
  });

  test('loses nothing when a worker is started with bad input', async () => {
    expect((await runCli(['seed', 'kept-1', 'kept-2'], redisEnv(queue))).code).toBe(0);
    expect((await runCli(['seed', 'kept-1', 'kept-2'], amqpEnv(queue))).code).toBe(0);
    for (const env of [redisEnv(queue, { MAX_ATTEMPTS: 'many' }), amqpEnv(queue, { LEASE_SECONDS: '-5' })]) {
      const result = await runCli(['work'], { ...env, WORK_SECONDS: '0' });
      expect(result.code).toBe(ExitCode.badInput);
      expect(result.stdout).toBe('');
    }
    expect(await brokers.redis.lRange(queueKeys(queue).pending, 0, -1)).toEqual(['kept-1', 'kept-2']);
    expect(await amqpCount(brokers.amqp, queue)).toBe(2);
  });

  test('takes the Secret credentials from BROKER_USERNAME/BROKER_PASSWORD even when they hold URL characters', async () => {
    // Kubernetes expands $(BROKER_PASSWORD) verbatim; a password like "p@ss/word" must still work.
    const result = await runCli(['status'], {
      BROKER_USERNAME: 'guest',
      BROKER_PASSWORD: 'p@ss/w:rd',
      BROKER_URL: `amqp://guest:p@ss/w:rd@${AMQP.address}`,
      QUEUE: queue,
    });
    // RabbitMQ refuses the password, which proves the URL was parsed with the right host and user.
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.stderr).toMatch(new RegExp(`got "amqp://guest:\\*\\*\\*@${AMQP.address}".*ACCESS_REFUSED`));
  });
});
