import { readFileSync } from 'node:fs';
import { type Socket, createServer } from 'node:net';
import path from 'node:path';
import { ExitCode, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import { amqpEnv, redisEnv, runCli, tempDir } from './helpers';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver';

/** Fails the item "bad" with exit code 3: with MAX_ATTEMPTS=2 it is retried once, then dead-lettered. */
const COMMAND = 'item=$(cat); [ "$item" != bad ] || exit 3';
const ITEMS = ['apple', 'bad', 'pear'];
/** What each delivery's span says, by item size (apple 5 bytes, bad 3, pear 4), in that order. */
const DELIVERIES = [
  { size: 3, attempt: 1, outcome: 'retry', exitCode: 3, error: 'command_failed' },
  { size: 3, attempt: 2, outcome: 'dead', exitCode: 3, error: 'command_failed' },
  { size: 4, attempt: 1, outcome: 'done', exitCode: 0, error: undefined },
  { size: 5, attempt: 1, outcome: 'done', exitCode: 0, error: undefined },
];

const HOOK = path.join(__dirname, 'loaded-files-hook.js');

describe('traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let receiver: OtlpReceiver;
  const brokers = useBrokers('redis', 'amqp');
  const files = tempDir();
  let runs = 0;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
  });

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await receiver?.close();
    files.remove();
  });

  /** Runs the CLI with the hook that lists the files it loads; returns the run and whether it loaded any of OpenTelemetry. */
  async function run(args: string[], env: Record<string, string>) {
    const loadedFiles = path.join(files.dir, `loaded-${++runs}`);
    const result = await runCli(args, { ...env, NODE_OPTIONS: `--require ${HOOK}`, WQ_TEST_LOADED_FILES: loadedFiles });
    const loaded = readFileSync(loadedFiles, 'utf8').split('\n');
    return {
      ...result,
      tracingLoaded: loaded.some((file) => path.basename(file) === 'tracing.cjs' || file.includes('@opentelemetry')),
    };
  }

  const BROKERS = [
    {
      name: 'Redis',
      broker: 'redis',
      env: redisEnv,
      system: 'redis',
      protocol: 'http/protobuf',
      mode: 'drain',
      workers: 1,
    },
    {
      name: 'RabbitMQ',
      broker: 'amqp',
      env: amqpEnv,
      system: 'rabbitmq',
      protocol: 'http/json',
      mode: 'single',
      workers: DELIVERIES.length,
    },
  ] as const;

  test.each(BROKERS)(
    '$name: the seed run is a span, each delivery a span under it with the messaging attributes and its outcome ($protocol)',
    async ({ broker, env, system, protocol, mode, workers }) => {
      const queue = brokers.queue(`traces-${broker}`, broker);
      const traced = env(queue, {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      });
      const seeded = await run(['seed', ...ITEMS], traced);
      expect(seeded.code).toBe(ExitCode.ok);
      expect(seeded.tracingLoaded).toBe(true);
      // On RabbitMQ a `single` worker per delivery, side by side: the one that finds the queue empty takes the retried item.
      const worked = await Promise.all(
        Array.from({ length: workers }, () =>
          run(['work'], { ...traced, WORKER_MODE: mode, MAX_ATTEMPTS: '2', WORK_COMMAND: COMMAND }),
        ),
      );
      for (const { stderr, tracingLoaded } of worked)
        expect([stderr, tracingLoaded]).toEqual([expect.not.stringMatching(/traces:/), true]);
      const spans = receiver.spans.filter((span) => span.attributes['messaging.destination.name'] === queue);
      showingSpans(spans, () => checkTrace(spans, { queue, system, protocol }));
      if (broker === 'redis') expect(await brokers.redis.pTTL(queueKeys(queue).traces)).toBeGreaterThan(0);
    },
  );

  /** Runs the checks; a failure shows the spans as the receiver prints them. */
  function showingSpans(spans: readonly ReceivedSpan[], check: () => void): void {
    try {
      check();
    } catch (error) {
      (error as Error).message += `\n\nspans received:\n${receiver.print(spans)}`;
      throw error;
    }
  }

  function checkTrace(
    spans: readonly ReceivedSpan[],
    { queue, system, protocol }: { queue: string; system: string; protocol: string },
  ): void {
    expect(receiver.problems).toEqual([]);
    const [seed, ...others] = spans.filter((span) => span.attributes['messaging.operation.name'] === 'seed');
    expect(others).toEqual([]);
    expect(seed).toMatchObject({
      name: `seed ${queue}`,
      kind: 4,
      parentSpanId: '',
      service: 'work-queue',
      contentType: contentTypeOf(protocol),
    });
    expect(seed.attributes).toEqual({
      'messaging.system': system,
      'messaging.destination.name': queue,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'seed',
      'messaging.batch.message_count': ITEMS.length,
      'work_queue.seed.id': expect.stringMatching(/^[0-9a-f]{32}$/),
      'work_queue.seed.total': ITEMS.length,
    });
    const items = spans.filter((span) => span.attributes['messaging.operation.name'] === 'process');
    for (const item of items) {
      expect(item).toMatchObject({
        name: `process ${queue}`,
        kind: 5,
        traceId: seed.traceId,
        parentSpanId: seed.spanId,
        service: 'work-queue',
      });
      expect(item.attributes).toMatchObject({
        'messaging.system': system,
        'messaging.destination.name': queue,
        'messaging.operation.type': 'process',
      });
    }
    expect(items.map(delivery).sort(bySizeThenAttempt)).toEqual(DELIVERIES);
  }

  test.each(BROKERS)(
    '$name: without OTEL_EXPORTER_OTLP_ENDPOINT no file of OpenTelemetry is loaded and nothing is stored for traces',
    async ({ broker, env, mode }) => {
      const queue = brokers.queue(`untraced-${broker}`, broker);
      const seeded = await run(['seed', 'plain'], env(queue));
      const worked = await run(['work'], { ...env(queue), WORKER_MODE: mode, WORK_SECONDS: '0' });
      expect([seeded.code, worked.code]).toEqual([ExitCode.ok, ExitCode.ok]);
      expect(worked.stdout).toBe('Processing plain\n');
      expect([seeded.tracingLoaded, worked.tracingLoaded]).toEqual([false, false]);
      if (broker === 'redis') expect(await brokers.redis.exists(queueKeys(queue).traces)).toBe(0);
      expect(receiver.spans.filter((span) => span.attributes['messaging.destination.name'] === queue)).toEqual([]);
    },
  );

  test('a collector that never answers holds the exit up for the flush bound only, and the spans are reported dropped', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const queue = brokers.queue('traces-silent', 'redis');
      const started = Date.now();
      const { port } = silent.address() as { port: number };
      const seeded = await runCli(
        ['seed', 'one'],
        redisEnv(queue, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }),
      );
      expect(seeded.code).toBe(ExitCode.ok);
      expect(seeded.stderr).toMatch(
        /traces: http:\/\/127\.0\.0\.1:\d+\/v1\/traces took more than 2 s: the spans not sent by then are dropped/,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

function contentTypeOf(protocol: string): string {
  return protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
}

function delivery(span: ReceivedSpan) {
  const { attributes, status } = span;
  const error = Object.hasOwn(attributes, 'error.type') ? attributes['error.type'] : undefined;
  // A failed delivery is an error span, and only a failed one.
  expect(status.code).toBe(error === undefined ? 0 : 2);
  return {
    size: attributes['messaging.message.body.size'],
    attempt: attributes['work_queue.attempt'],
    outcome: attributes['work_queue.outcome'],
    exitCode: attributes['process.exit.code'],
    error,
  };
}

function bySizeThenAttempt(a: ReturnType<typeof delivery>, b: ReturnType<typeof delivery>): number {
  return Number(a.size) - Number(b.size) || Number(a.attempt) - Number(b.attempt);
}
