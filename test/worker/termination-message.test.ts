import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CliError } from '../../worker/errors';
import { ExitCode } from '../../contract';
import {
  MAX_TERMINATION_MESSAGE_BYTES,
  TerminationMessage,
  truncateUtf8,
  writeTerminationMessage,
} from '../../worker/termination-message';
import { killLeftovers, runCli, startCli } from './helpers';
import { ItemsVolumes } from './indexed-fixture';

describe('the termination message', () => {
  test('single: the item, its outcome and attempt, and the exit code', () => {
    const message = new TerminationMessage();
    message.start('single');
    message.itemEnded('apple', 'done', { attempt: 2 });
    expect(JSON.parse(message.render(ExitCode.ok))).toEqual({
      item: 'apple',
      outcome: 'done',
      attempt: 2,
      exitCode: 0,
    });
  });

  test('single: a failed item exits 1 with a reason; no item taken leaves the item out', () => {
    const failed = new TerminationMessage();
    failed.start('single');
    failed.itemEnded('pear', 'failed', { attempt: 1 });
    expect(JSON.parse(failed.render(ExitCode.failed))).toEqual({
      item: 'pear',
      outcome: 'failed',
      attempt: 1,
      exitCode: 1,
      reason: 'the item was not done',
    });
    const none = new TerminationMessage();
    none.start('single');
    expect(none.render(ExitCode.ok)).toBe('{"exitCode":0}');
  });

  test('drain: counts of this pod and the last failure, also from an item the broker dead-lettered at a claim', () => {
    const message = new TerminationMessage();
    message.start('drain');
    expect(JSON.parse(message.render(ExitCode.ok))).toEqual({ done: 0, failed: 0, dead: 0, exitCode: 0 });
    message.itemEnded('a', 'done', { attempt: 1 });
    message.itemEnded('b', 'failed', { attempt: 1 });
    message.itemEnded('c', 'dead', { attempt: 3 });
    message.itemEnded('d', 'done', { attempt: 1 });
    expect(JSON.parse(message.render(ExitCode.ok))).toEqual({
      done: 2,
      failed: 1,
      dead: 1,
      lastFailure: { item: 'c', outcome: 'dead', attempt: 3 },
      exitCode: 0,
    });
    message.deadLettered('e', 3);
    message.itemEnded('f', 'handedBack', { attempt: 1 });
    expect(JSON.parse(message.render(ExitCode.interrupted))).toEqual({
      done: 2,
      failed: 1,
      dead: 2,
      lastFailure: { item: 'e', outcome: 'dead', attempt: 3 },
      exitCode: 143,
      reason: 'stopped by SIGTERM before the work was finished; what it held was handed back',
    });
  });

  test("an error's message is the reason, on one line", () => {
    const message = new TerminationMessage();
    const error = new CliError(
      'WORKER_MODE: got "fast", expected one of single, drain, indexed\nQUEUE: missing',
      ExitCode.badInput,
    );
    expect(JSON.parse(message.render(ExitCode.badInput, error))).toEqual({
      exitCode: 2,
      reason: 'WORKER_MODE: got "fast", expected one of single, drain, indexed; QUEUE: missing',
    });
  });

  test('a long item is cut at a whole code point and the line stays within its bound, however the item escapes', () => {
    for (const item of ['\u{1F34E}'.repeat(200_000), '\u0001'.repeat(100_000), `"${'é'.repeat(5000)}`]) {
      const message = new TerminationMessage();
      message.start('drain');
      message.itemEnded(item, 'dead', { attempt: 3 });
      const text = message.render(ExitCode.failed, new Error(item));
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_TERMINATION_MESSAGE_BYTES);
      const parsed = JSON.parse(text);
      expect(parsed.truncated).toBe(true);
      expect(parsed.lastFailure.item.endsWith('…')).toBe(true);
      expect(item.startsWith(parsed.lastFailure.item.slice(0, -1))).toBe(true);
      expect(parsed.lastFailure.item).not.toContain('\uFFFD');
    }
  });

  test('truncateUtf8 keeps what fits, never half a code point', () => {
    expect(truncateUtf8('apple', 5)).toBe('apple');
    expect(truncateUtf8('apples', 5)).toBe('ap…');
    expect(truncateUtf8('a\u{1F34E}bcdef', 7)).toBe('a…');
    expect(truncateUtf8('a\u{1F34E}bcdef', 8)).toBe('a\u{1F34E}…');
  });

  test('a path that cannot be written is logged, and nothing is thrown', () => {
    const lines: string[] = [];
    writeTerminationMessage('{}', { TERMINATION_MESSAGE_PATH: '/nonexistent-directory/termination-log' }, (line) =>
      lines.push(line),
    );
    expect(lines).toEqual([
      expect.stringMatching(
        /^could not write the termination message to \/nonexistent-directory\/termination-log \(TERMINATION_MESSAGE_PATH\): /,
      ),
    ]);
  });
});

describe('work-queue work writes its termination message', () => {
  const volumes = new ItemsVolumes();
  const scratch = mkdtempSync(path.join(tmpdir(), 'work-queue-termination-'));
  let directory: string;
  let count = 0;
  const messagePath = () => path.join(scratch, `termination-log-${++count}`);
  const indexedEnv = (index: number, extra: Record<string, string>) => ({
    WORKER_MODE: 'indexed',
    ITEMS_DIRECTORY: directory,
    JOB_COMPLETION_INDEX: String(index),
    ...extra,
  });

  beforeAll(() => {
    directory = volumes.volume({ 0: ['apple', 'pear'] });
  });

  afterAll(() => {
    killLeftovers();
    volumes.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('for a done and a failed item of an Indexed Job, and for bad input', async () => {
    const [done, failed, missing] = [messagePath(), messagePath(), messagePath()];
    const results = await Promise.all([
      runCli(['work'], indexedEnv(0, { WORK_COMMAND: 'cat >/dev/null', TERMINATION_MESSAGE_PATH: done })),
      runCli(['work'], indexedEnv(1, { WORK_COMMAND: 'exit 7', TERMINATION_MESSAGE_PATH: failed })),
      runCli(['work'], indexedEnv(2, { TERMINATION_MESSAGE_PATH: missing })),
    ]);
    expect(results.map(({ code }) => code)).toEqual([ExitCode.ok, ExitCode.failed, ExitCode.badInput]);
    expect(JSON.parse(readFileSync(done, 'utf8'))).toEqual({ item: 'apple', outcome: 'done', index: 0, exitCode: 0 });
    expect(JSON.parse(readFileSync(failed, 'utf8'))).toEqual({
      item: 'pear',
      outcome: 'failed',
      index: 1,
      exitCode: 1,
      reason: 'the item was not done',
    });
    expect(JSON.parse(readFileSync(missing, 'utf8'))).toEqual({
      exitCode: 2,
      reason: expect.stringMatching(/^JOB_COMPLETION_INDEX: /),
    });
  });

  test('for a broker it cannot reach (exit 3), and on SIGTERM (exit 143)', async () => {
    const unreachable = messagePath();
    const unreached = await runCli(['work'], {
      WORKER_MODE: 'drain',
      QUEUE: 'termination-message',
      BROKER_URL: 'redis://127.0.0.1:1',
      BROKER_RETRY_SECONDS: '0',
      TERMINATION_MESSAGE_PATH: unreachable,
    });
    expect(unreached.code).toBe(ExitCode.brokerUnreachable);
    expect(JSON.parse(readFileSync(unreachable, 'utf8'))).toEqual({
      done: 0,
      failed: 0,
      dead: 0,
      exitCode: 3,
      reason: expect.stringContaining('127.0.0.1:1'),
    });

    const stopped = messagePath();
    const worker = startCli(
      ['work'],
      indexedEnv(0, { WORK_COMMAND: 'echo started; sleep 60', TERMINATION_MESSAGE_PATH: stopped }),
    );
    await worker.waitFor(/^started$/m);
    worker.kill('SIGTERM');
    await worker.waitFor(/SIGTERM: taking no more items/);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(ExitCode.interrupted);
    expect(JSON.parse(readFileSync(stopped, 'utf8'))).toEqual({
      item: 'apple',
      outcome: 'handedBack',
      index: 0,
      exitCode: 143,
      reason: 'stopped by SIGTERM before the work was finished; what it held was handed back',
    });
  });

  test('keeps its exit code when the message cannot be written', async () => {
    const result = await runCli(
      ['work'],
      indexedEnv(0, { WORK_COMMAND: 'cat >/dev/null', TERMINATION_MESSAGE_PATH: path.join(scratch, 'missing', 'log') }),
    );
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stderr).toMatch(
      /^work-queue: could not write the termination message to .*missing\/log \(TERMINATION_MESSAGE_PATH\): /m,
    );
  });
});
