import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import { redisEnv, runCli, startCli, tempDir } from './helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records each command's whole standard input in a file of its own under $OUT. */
const RECORD_INPUT = 'cat > "$OUT/input-$$"';

describe('WORK_COMMAND input (the worker on the Redis of the generation)', () => {
  const brokers = useBrokers('redis');
  const files = tempDir();
  const newQueue = () => brokers.queue('command-input');

  afterAll(() => files.remove());

  function recordedInputs(dir: string): string[] {
    return readdirSync(dir)
      .filter((name) => name.startsWith('input-'))
      .map((name) => readFileSync(path.join(dir, name), 'utf8'));
  }

  test('a command gets its whole item on stdin, the empty item and one larger than a pipe holds included, and leaves no file behind', async () => {
    const queue = newQueue();
    const out = path.join(files.dir, queue);
    const scratch = path.join(files.dir, `${queue}-tmp`);
    mkdirSync(out);
    mkdirSync(scratch);
    const items = ['', 'apple', 'x'.repeat(512 * 1024), 'naïve ☃\nsecond line'];
    const itemsFile = files.file(`${queue}.json`, JSON.stringify(items));
    expect((await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: itemsFile }))).code).toBe(ExitCode.ok);
    const result = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_COMMAND: RECORD_INPUT, OUT: out, TMPDIR: scratch }),
    );
    expect(result.code).toBe(ExitCode.ok);
    expect(recordedInputs(out).sort()).toEqual([...items].sort());
    expect(readdirSync(scratch)).toEqual([]);
  });

  test('no command is started with an item it does not have: workers SIGKILLed while they spawn commands leave only whole items', async () => {
    const queue = newQueue();
    const out = path.join(files.dir, queue);
    mkdirSync(out);
    // Larger than a pipe's 64 KiB: an item written into a pipe after spawn would often be cut short.
    const items = Array.from({ length: 300 }, (_, i) => `item-${i}:${'y'.repeat(100 * 1024)}`);
    const wanted = new Set(items);
    // In parts, each a seed run of its own: an ITEMS_FILE holds at most 8 MiB.
    for (let part = 0; part < items.length / 50; part++) {
      const itemsFile = files.file(`${queue}-${part}.json`, JSON.stringify(items.slice(part * 50, (part + 1) * 50)));
      expect((await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: itemsFile, SEED_RUN: `part-${part}` }))).code).toBe(
        ExitCode.ok,
      );
    }
    const env = redisEnv(queue, { WORKER_MODE: 'drain', WORK_COMMAND: RECORD_INPUT, OUT: out, LEASE_SECONDS: '1' });

    // Each worker is killed a random moment after it has started its first command, so that every
    // kill lands while it spawns commands, however fast this machine drains the queue; the rounds
    // go on until six kills (a worker that finds the queue drained exits by itself first).
    let kills = 0;
    for (let round = 0; round < 40 && kills <= 5; round++) {
      const started = readdirSync(out).length;
      const worker = startCli(['work'], env);
      while (readdirSync(out).length === started && worker.child.exitCode === null) await sleep(10);
      await sleep(Math.random() * 150);
      worker.kill('SIGKILL');
      const ended = await worker.exited;
      if (ended.signal === 'SIGKILL') kills++;
      else break;
    }
    expect(kills).toBeGreaterThan(5);
    // A worker that is not killed finishes the queue, the killed workers' leases expired.
    const last = await runCli(['work'], env);
    expect(last.code).toBe(ExitCode.ok);
    await sleep(500); // commands of killed workers that were still running
    const inputs = recordedInputs(out);
    expect(inputs.length).toBeGreaterThanOrEqual(items.length);
    const notWhole = inputs
      .filter((input) => !wanted.has(input))
      .map((input) => `${input.length} bytes: ${input.slice(0, 20)}...`);
    expect(notWhole).toEqual([]);
    expect(await brokers.redis.get(queueKeys(queue).done)).toBe(String(items.length));
  });
});
