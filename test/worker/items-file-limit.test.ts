import { spawn } from 'node:child_process';
import { closeSync, openSync, ftruncateSync } from 'node:fs';
import { ExitCode, MAX_ITEMS_FILE_BYTES, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import { cliPath, redisEnv, runCli, tempDir } from './helpers';

/** A JSON array of equal items that is exactly `bytes` long. */
function arrayOfSize(bytes: number): { json: string; count: number } {
  const item = 'i'.repeat(98); // "iii...i", is 101 bytes with its quotes and comma
  const count = Math.floor((bytes - 2 + 1) / 101);
  const items = Array.from({ length: count }, () => item);
  const json = JSON.stringify(items);
  const padding = bytes - Buffer.byteLength(json);
  return { json: `[${' '.repeat(padding)}${json.slice(1)}`, count };
}

describe('ITEMS_FILE size limit (seed holds the items in memory)', () => {
  const brokers = useBrokers('redis');
  const files = tempDir();
  const queue = brokers.queue('items-limit');
  const tooLarge = new RegExp(
    `^work-queue: ITEMS_FILE: got ".*", expected a file of at most ${MAX_ITEMS_FILE_BYTES / 1024 / 1024} MiB \\(seed holds the items in memory\\), but it has (\\d+ bytes|more than ${MAX_ITEMS_FILE_BYTES} bytes); seed its items in several runs of smaller files$`,
  );

  afterAll(() => files.remove());

  test('fails for a file one byte over the limit before reading it, in one line, seeding nothing', async () => {
    // A sparse file: refused by its size alone (reading it would fail as JSON instead).
    const file = files.file('too-large.json', '');
    const fd = openSync(file, 'r+');
    ftruncateSync(fd, MAX_ITEMS_FILE_BYTES + 1);
    closeSync(fd);
    const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: file }));
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(tooLarge)]);
    expect(result.stderr).toContain(`but it has ${MAX_ITEMS_FILE_BYTES + 1} bytes`);
    expect(await brokers.redis.exists(queueKeys(queue).pending)).toBe(0);
  });

  test('fails for a pipe that gives more than the limit', async () => {
    const script = `head -c ${MAX_ITEMS_FILE_BYTES + 1024} /dev/zero | "${process.execPath}" "${cliPath()}" seed`;
    const child = spawn('sh', ['-c', script], {
      env: { PATH: process.env.PATH, ...redisEnv(queue, { ITEMS_FILE: '/dev/stdin' }) },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(ExitCode.badInput);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(tooLarge)]);
    expect(stderr).toContain(`but it has more than ${MAX_ITEMS_FILE_BYTES} bytes`);
  });

  test('seeds a file of exactly the limit', async () => {
    const { json, count } = arrayOfSize(MAX_ITEMS_FILE_BYTES);
    expect(Buffer.byteLength(json)).toBe(MAX_ITEMS_FILE_BYTES);
    const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: files.file('at-limit.json', json) }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(ExitCode.ok);
    expect(await brokers.redis.lLen(queueKeys(queue).pending)).toBe(count);
  });
});
