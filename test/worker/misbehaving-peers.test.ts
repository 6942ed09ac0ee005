import { ExitCode } from '../../contract';
import { replyTimeoutMs } from '../../worker/broker-limits';
import { type RunResult, killLeftovers, startCli, uniqueQueue } from './helpers';
import {
  type Behaviour,
  MisbehavingPeer,
  type PeerConnection,
  amqpAnsweringAfterHandshake,
  amqpAnsweringHeader,
  amqpAnsweringStartOk,
  amqpProtocolHeader,
  answeringFirstRequest,
  bulkLengthNotANumber,
  endlessLine,
  heartbeats,
  httpBadRequest,
  hugeBulkTrickle,
  loading,
  nothing,
  okThenClose,
  oversizedFrame,
  randomBytes,
  redisAnsweringAfterPong,
  redisLoading,
  silence,
  startWithOverrunningTable,
  truncatedDeclareOk,
  truncatedTune,
} from './misbehaving-peer';

/** A stack trace line, which no error path of the CLI may print. */
const STACK_LINE = /^\s+at /m;
const RETRY_SECONDS = 3;
/**
 * "Within BROKER_RETRY_SECONDS plus a few seconds", counted from the worker's first connection to
 * the peer (how fast a CLI starts is the bench's business, and some fifty of them start at once
 * here): an attempt begun at the window's end, after a backoff step (up to 2 s), still runs to its
 * own end, at most a command's deadline (`replyTimeoutMs`, here BROKER_RETRY_SECONDS). Most end at
 * once; one fed an endless line ends at MAX_REPLY_BYTES, 128 MiB read, which takes seconds of CPU on
 * a loaded machine. Then 1 s to exit.
 */
const A_FEW_SECONDS = 2 + replyTimeoutMs(RETRY_SECONDS) / 1000 + 1;
/**
 * Connections to the peer within one window: with backoff from 100 ms doubling to 2 s, a window
 * of 3 s holds about seven attempts that fail at once, fewer that wait for their deadline.
 * Reconnecting without backoff, or opening a new window on every attempt, makes hundreds.
 */
const MAX_CONNECTIONS = 10;
/** One line per state change: "cannot reach … yet; retrying", perhaps one more, the final error. */
const MAX_STDERR_LINES = 3;

type Scheme = 'amqp' | 'redis';
type Command = 'work' | 'seed';

interface PeerCase {
  name: string;
  behaviour: Behaviour;
  schemes: Scheme[];
}

/**
 * The peers of the issue, and the same answers from a peer that passes the round trip at connect
 * (RESP: PONG; AMQP: the whole handshake) and misbehaves on the first command the worker sends:
 * where the old clients failed, since they had no round trip at connect.
 */
const PEERS: PeerCase[] = [
  { name: 'silence (accepts, says nothing)', behaviour: silence, schemes: ['amqp', 'redis'] },
  { name: 'random bytes', behaviour: answeringFirstRequest(randomBytes), schemes: ['amqp', 'redis'] },
  {
    name: 'an HTTP server (400 Bad Request, close)',
    behaviour: answeringFirstRequest(httpBadRequest),
    schemes: ['amqp', 'redis'],
  },
  { name: 'Connection.Start, then silence', behaviour: amqpAnsweringHeader(nothing, true), schemes: ['amqp'] },
  {
    name: 'heartbeats only, no Connection.Start',
    behaviour: amqpAnsweringHeader(heartbeats, false),
    schemes: ['amqp'],
  },
  {
    name: 'Connection.Start, then heartbeats only',
    behaviour: amqpAnsweringHeader(heartbeats, true),
    schemes: ['amqp'],
  },
  {
    name: 'a Connection.Start whose field table runs past its frame',
    behaviour: amqpAnsweringHeader(startWithOverrunningTable, false),
    schemes: ['amqp'],
  },
  {
    name: 'a Connection.Tune cut short, after Start-Ok',
    behaviour: amqpAnsweringStartOk(truncatedTune),
    schemes: ['amqp'],
  },
  {
    name: 'a frame that declares 2 GiB, after Start-Ok',
    behaviour: amqpAnsweringStartOk(oversizedFrame),
    schemes: ['amqp'],
  },
  {
    name: 'the handshake, then a method whose value runs past its frame',
    behaviour: amqpAnsweringAfterHandshake(truncatedDeclareOk),
    schemes: ['amqp'],
  },
  {
    name: 'the handshake, then a frame that declares 2 GiB',
    behaviour: amqpAnsweringAfterHandshake(oversizedFrame),
    schemes: ['amqp'],
  },
  { name: 'the handshake, then random bytes', behaviour: amqpAnsweringAfterHandshake(randomBytes), schemes: ['amqp'] },
  { name: 'the handshake, then silence', behaviour: amqpAnsweringAfterHandshake(nothing), schemes: ['amqp'] },
  {
    name: "an AMQP protocol header (RabbitMQ's answer to a non-AMQP client)",
    behaviour: answeringFirstRequest(amqpProtocolHeader),
    schemes: ['redis'],
  },
  { name: '+OK, then close', behaviour: answeringFirstRequest(okThenClose), schemes: ['redis'] },
  { name: '$abc', behaviour: answeringFirstRequest(bulkLengthNotANumber), schemes: ['redis'] },
  { name: '$2000000000, then a trickle', behaviour: answeringFirstRequest(hugeBulkTrickle), schemes: ['redis'] },
  {
    name: 'an endless line (+ and bytes without CRLF)',
    behaviour: answeringFirstRequest(endlessLine),
    schemes: ['redis'],
  },
  { name: '-LOADING to every command', behaviour: redisLoading, schemes: ['redis'] },
  {
    name: 'PONG, then -LOADING (a Redis restarting with its data set)',
    behaviour: redisAnsweringAfterPong(loading),
    schemes: ['redis'],
  },
  { name: 'PONG, then random bytes', behaviour: redisAnsweringAfterPong(randomBytes), schemes: ['redis'] },
  { name: 'PONG, then +OK and close', behaviour: redisAnsweringAfterPong(okThenClose), schemes: ['redis'] },
  { name: 'PONG, then $abc', behaviour: redisAnsweringAfterPong(bulkLengthNotANumber), schemes: ['redis'] },
  {
    name: 'PONG, then $2000000000 and a trickle',
    behaviour: redisAnsweringAfterPong(hugeBulkTrickle),
    schemes: ['redis'],
  },
  { name: 'PONG, then an endless line', behaviour: redisAnsweringAfterPong(endlessLine), schemes: ['redis'] },
  { name: 'PONG, then silence', behaviour: redisAnsweringAfterPong(nothing), schemes: ['redis'] },
];

/** The SIGTERM cases: peers that keep a connect waiting. */
const TERM_PEERS: PeerCase[] = [
  { name: 'silence', behaviour: silence, schemes: ['amqp', 'redis'] },
  { name: 'heartbeats only', behaviour: amqpAnsweringHeader(heartbeats, false), schemes: ['amqp'] },
  {
    name: 'Connection.Start, then heartbeats only',
    behaviour: amqpAnsweringHeader(heartbeats, true),
    schemes: ['amqp'],
  },
];
const TERM_AFTER_MS = 1000;
const TERM_EXIT_MS = 2000;
/** A run still going after this is killed (and fails its test), so a worker that hangs costs seconds, not the test timeout per case. */
const HANG_LIMIT_MS = (RETRY_SECONDS + A_FEW_SECONDS + 10) * 1000;

interface Outcome extends RunResult {
  /** From the first connection to the peer to exit. */
  connectingMs?: number;
  connections: readonly PeerConnection[];
  /** From SIGTERM to exit, when the case sends one. */
  afterTermMs?: number;
  /** Still running after HANG_LIMIT_MS: killed by the test. */
  hung: boolean;
}

const peers: MisbehavingPeer[] = [];
const outcomes = new Map<string, Promise<Outcome>>();

let lastSpawn = Promise.resolve();

/**
 * Runs `spawn` after the previous one, with a turn of the event loop between: a spawn blocks this
 * process for as long as fork and exec take (tens of milliseconds on a loaded machine), and fifty
 * in a row would leave the peers, which live in this process, deaf for seconds.
 */
function inTurn<T>(spawn: () => T): Promise<T> {
  const turn = lastSpawn.then(() => new Promise<void>((resolve) => setTimeout(resolve, 10))).then(spawn);
  lastSpawn = turn.then(() => undefined);
  return turn;
}

/**
 * Starts one CLI run against a fresh peer; the promise never rejects, so it may wait for its test.
 * With `termAfterMs`, SIGTERM goes that long after the worker's first connection reached the peer:
 * on a loaded machine a CLI may take more than a second to start, and a signal before it listens
 * for SIGTERM would test Node's default, not the worker.
 */
async function run(behaviour: Behaviour, scheme: Scheme, command: Command, termAfterMs?: number): Promise<Outcome> {
  const peer = await MisbehavingPeer.start(behaviour);
  peers.push(peer);
  const env = { BROKER_URL: peer.url(scheme), QUEUE: uniqueQueue('peer'), BROKER_RETRY_SECONDS: String(RETRY_SECONDS) };
  const cli = await inTurn(() =>
    command === 'work'
      ? startCli(['work'], { ...env, WORKER_MODE: 'single', WORK_SECONDS: '0' })
      : startCli(['seed', 'apple', 'banana', 'cherry'], env),
  );
  let termAt: number | undefined;
  if (termAfterMs !== undefined) {
    void peer.firstConnection().then(() =>
      setTimeout(() => {
        termAt = Date.now();
        cli.kill('SIGTERM');
      }, termAfterMs),
    );
  }
  let hung = false;
  const limit = setTimeout(() => {
    hung = true;
    cli.kill('SIGKILL');
  }, HANG_LIMIT_MS);
  const result = await cli.exited;
  const exitedAt = Date.now();
  clearTimeout(limit);
  await peer.stop();
  const connections = peer.connections;
  return {
    ...result,
    connectingMs: connections.length > 0 ? exitedAt - connections[0].openedAt : undefined,
    connections,
    afterTermMs: termAt === undefined ? undefined : exitedAt - termAt,
    hung,
  };
}

function key(...parts: string[]): string {
  return parts.join(' | ');
}

function outcome(...parts: string[]): Promise<Outcome> {
  const found = outcomes.get(key(...parts));
  if (!found) throw new Error(`no run was started for ${key(...parts)}`);
  return found;
}

function stderrLines(result: RunResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '');
}

/** What the run did, for a failing assertion's message. */
function described(result: Outcome): string {
  const end = result.hung ? 'still running, killed by the test' : `exit ${String(result.code ?? result.signal)}`;
  const connecting =
    result.connectingMs === undefined
      ? 'never connected'
      : `${(result.connectingMs / 1000).toFixed(1)} s after its first connection`;
  const term = result.afterTermMs === undefined ? '' : `, ${(result.afterTermMs / 1000).toFixed(1)} s after SIGTERM`;
  return `${end} ${connecting}${term}, ${result.connections.length} connections; stderr:\n${result.stderr}stdout:\n${result.stdout}`;
}

const SCHEME_NAMES = { amqp: 'amqp://', redis: 'redis://' } as const;

describe('a peer that is not the broker: exit 3 within BROKER_RETRY_SECONDS plus a few seconds, one line per state change, no stack trace', () => {
  // Every run starts at once: each spends seconds waiting, and together they take as long as the slowest.
  beforeAll(() => {
    for (const peer of PEERS) {
      for (const scheme of peer.schemes) {
        for (const command of ['work', 'seed'] as const)
          outcomes.set(key(peer.name, scheme, command), run(peer.behaviour, scheme, command));
      }
    }
    for (const peer of TERM_PEERS) {
      for (const scheme of peer.schemes)
        outcomes.set(key('SIGTERM', peer.name, scheme), run(peer.behaviour, scheme, 'work', TERM_AFTER_MS));
    }
  });

  afterAll(async () => {
    killLeftovers();
    await Promise.all([...outcomes.values()].map((o) => o.catch(() => undefined)));
    await Promise.all(peers.map((peer) => peer.stop()));
  });

  for (const peer of PEERS) {
    for (const scheme of peer.schemes) {
      for (const command of ['work', 'seed'] as const) {
        test(`${command}, ${SCHEME_NAMES[scheme]} peer: ${peer.name}`, async () => {
          const result = await outcome(peer.name, scheme, command);
          const lines = stderrLines(result);
          const what = described(result);
          expect({ code: result.code, what }).toEqual({ code: ExitCode.brokerUnreachable, what });
          expect({ inTime: result.connectingMs! <= (RETRY_SECONDS + A_FEW_SECONDS) * 1000, what }).toEqual({
            inTime: true,
            what,
          });
          expect(result.stderr).not.toMatch(STACK_LINE);
          expect(result.stderr).not.toMatch(/unexpected error/);
          expect(lines.length).toBeLessThanOrEqual(MAX_STDERR_LINES);
          expect(new Set(lines).size).toBe(lines.length);
          expect(lines.at(-1)).toMatch(new RegExp(`^work-queue: .*${scheme === 'amqp' ? 'RabbitMQ' : 'Redis'}`));
          // Nothing was taken for an item: a peer's `+OK` is not a queue's answer.
          expect(result.stdout).not.toMatch(/Processing|seeded/);
          expect(result.connections.length).toBeGreaterThanOrEqual(1);
          expect(result.connections.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
        });
      }
    }
  }

  for (const peer of TERM_PEERS) {
    for (const scheme of peer.schemes) {
      test(`SIGTERM ${TERM_AFTER_MS / 1000} s into connecting to a ${SCHEME_NAMES[scheme]} peer (${peer.name}) ends the worker with exit 143 within ${TERM_EXIT_MS / 1000} s`, async () => {
        const result = await outcome('SIGTERM', peer.name, scheme);
        const what = described(result);
        expect({ code: result.code, what }).toEqual({ code: ExitCode.interrupted, what });
        expect({ inTime: result.afterTermMs! <= TERM_EXIT_MS, what }).toEqual({ inTime: true, what });
        expect(result.stderr).not.toMatch(STACK_LINE);
        expect(new Set(stderrLines(result)).size).toBe(stderrLines(result).length);
      });
    }
  }
});
