import { readTarget } from '../../worker/config';
import { ExitCode } from '../../contract';
import { CliError } from '../../worker/errors';
import { type ConnectionKind, Reconnecting } from '../../worker/reconnect';

/**
 * The retry logic of every broker connection, with connections that are plain objects: what a
 * client library does is tested against the real brokers and misbehaving peers elsewhere; here it
 * is when Reconnecting waits, how long, and what it says.
 */

interface FakeConnection {
  readonly id: number;
  lost: boolean;
}

class Lost extends Error {}
class Unreachable extends Error {}

/** A connection kind whose `open` follows a script: 'ok', 'unreachable' or 'hang' (until aborted). */
function scriptedKind(script: ('ok' | 'unreachable' | 'hang')[]) {
  const opened: FakeConnection[] = [];
  let attempts = 0;
  const kind: ConnectionKind<FakeConnection> = {
    open(signal) {
      const step = script[Math.min(attempts++, script.length - 1)];
      if (step === 'unreachable') return Promise.reject(new Unreachable('ECONNREFUSED'));
      if (step === 'hang')
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('destroyed')), { once: true }),
        );
      const connection = { id: opened.length, lost: false };
      opened.push(connection);
      return Promise.resolve(connection);
    },
    isLost: (connection, error) => error instanceof Lost || connection.lost,
    isUnreachable: (error) => error instanceof Unreachable,
    close: () => Promise.resolve(),
  };
  return { kind, opened, attempts: () => attempts };
}

const broker = readTarget({ BROKER_URL: 'redis://127.0.0.1:1', QUEUE: 'q' }).broker;

function options(retrySeconds: number, signal?: AbortSignal) {
  const lines: string[] = [];
  return { lines, options: { retrySeconds, clientName: 'work', signal, log: (line: string) => lines.push(line) } };
}

describe('Reconnecting', () => {
  test('a connection lost again before it served an operation opens no new retry window, and the log says each change once', async () => {
    // Opens at once, then every new connection is lost at its first operation (a broker that is
    // still loading, a peer that is not the broker) until the retry window is over.
    const { kind, opened } = scriptedKind(['ok']);
    const { lines, options: connectOptions } = options(2);
    const connection = await Reconnecting.connect(kind, broker, connectOptions);
    const started = Date.now();
    const failure = await connection
      .use(() => Promise.reject(new Lost('LOADING Redis is loading the dataset in memory')))
      .catch((error: unknown) => error);
    const elapsed = Date.now() - started;
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(ExitCode.brokerUnreachable);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(4000);
    // Backoff grows from 0.1 s to 2 s: a handful of connections in 2 s, not one every 0.1 s.
    expect(opened.length).toBeGreaterThanOrEqual(3);
    expect(opened.length).toBeLessThanOrEqual(7);
    expect(lines).toEqual([
      expect.stringMatching(
        /^lost the connection to Redis at 127\.0\.0\.1:1 \(LOADING Redis is loading .*\); reconnecting for up to 2 s$/,
      ),
    ]);
  });

  test('a connection that served an operation ends the window: the next loss opens a new one', async () => {
    const { kind } = scriptedKind(['ok']);
    const { lines, options: connectOptions } = options(5);
    const connection = await Reconnecting.connect(kind, broker, connectOptions);
    let calls = 0;
    const operation = () =>
      ++calls % 2 === 1 ? Promise.reject(new Lost('connection reset')) : Promise.resolve('done');
    await expect(connection.use(operation)).resolves.toBe('done');
    await expect(connection.use(operation)).resolves.toBe('done');
    expect(lines.map((line) => line.replace(/after [0-9.]+ s$/, 'after N s'))).toEqual([
      'lost the connection to Redis at 127.0.0.1:1 (connection reset); reconnecting for up to 5 s',
      'reconnected to Redis at 127.0.0.1:1 after N s',
      'lost the connection to Redis at 127.0.0.1:1 (connection reset); reconnecting for up to 5 s',
      'reconnected to Redis at 127.0.0.1:1 after N s',
    ]);
  });

  test('a long operation that reports progress on a new connection ends the window, as a returning one does', async () => {
    const { kind } = scriptedKind(['ok']);
    const { lines, options: connectOptions } = options(5);
    const connection = await Reconnecting.connect(kind, broker, connectOptions);
    let runs = 0;
    // A seed: it confirms some of its items on each connection, then loses it, three times over.
    const operation = () => {
      if (++runs > 1) connection.progressed();
      return runs <= 3 ? Promise.reject(new Lost('connection reset')) : Promise.resolve('seeded');
    };
    await expect(connection.use(operation)).resolves.toBe('seeded');
    expect(lines.filter((line) => line.startsWith('lost the connection'))).toHaveLength(3);
    expect(lines.filter((line) => line.startsWith('reconnected'))).toHaveLength(3);
  });

  test('an attempt that never finishes its handshake is abandoned at the window’s end, and the peer’s socket destroyed', async () => {
    const { kind, attempts } = scriptedKind(['hang']);
    const { lines, options: connectOptions } = options(2);
    const started = Date.now();
    const failure = await Reconnecting.connect(kind, broker, connectOptions).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((failure as CliError).exitCode).toBe(ExitCode.brokerUnreachable);
    expect((failure as CliError).message).toMatch(
      /not reachable for 2 s, BROKER_RETRY_SECONDS; no complete handshake within [0-9.]+ s/,
    );
    expect(attempts()).toBeLessThanOrEqual(3);
    expect(lines).toEqual([
      expect.stringMatching(
        /^cannot reach Redis at 127\.0\.0\.1:1 yet \(no complete handshake within 2\.0 s: .*\); retrying for up to 2 s$/,
      ),
    ]);
  });

  test('the stop signal ends an attempt in its handshake at once, with exit code 143', async () => {
    const { kind } = scriptedKind(['hang']);
    const stop = new AbortController();
    const { options: connectOptions } = options(60, stop.signal);
    setTimeout(() => stop.abort(), 200);
    const started = Date.now();
    const failure = await Reconnecting.connect(kind, broker, connectOptions).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((failure as CliError).exitCode).toBe(ExitCode.interrupted);
  });

  test('a broker that comes up within the window: one line while waiting, one once a connection served an operation', async () => {
    const { kind } = scriptedKind(['unreachable', 'unreachable', 'ok']);
    const { lines, options: connectOptions } = options(10);
    const connection = await Reconnecting.connect(kind, broker, connectOptions);
    expect(lines).toHaveLength(1);
    await connection.use(() => Promise.resolve());
    await connection.use(() => Promise.resolve());
    expect(lines.map((line) => line.replace(/after [0-9.]+ s$/, 'after N s'))).toEqual([
      'cannot reach Redis at 127.0.0.1:1 yet (ECONNREFUSED); retrying for up to 10 s',
      'connected to Redis at 127.0.0.1:1 after N s',
    ]);
  });
});
