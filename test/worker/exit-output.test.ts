import { spawn } from 'node:child_process';
import { ExitCode } from '../../contract';
import { useBrokers } from './broker-fixture';
import { cliPath, processed, redisEnv, runCli, tempDir } from './helpers';

/**
 * What a worker writes before it exits reaches a reader that is slow to read it: a pipe holds
 * 64 KiB, and Node.js drops what it queued beyond that when the process exits at once.
 */
describe('output at exit', () => {
  const brokers = useBrokers('redis');

  test('a drain worker whose reader starts reading 2 s late still delivers every Processing line', async () => {
    const queue = brokers.queue('exit-output');
    const items = Array.from({ length: 2000 }, (_, i) => `item-${i}-${'x'.repeat(40)}`);
    const files = tempDir();
    const seeded = await runCli(
      ['seed'],
      redisEnv(queue, { ITEMS_FILE: files.file('items.json', JSON.stringify(items)) }),
    );
    files.remove();
    expect(seeded).toMatchObject({ code: ExitCode.ok, stderr: '' });

    // The reader is a shell pipeline that starts reading 2 s late: Node.js itself would read
    // into its own buffer at once.
    const child = spawn('sh', ['-c', '"$0" "$1" work | (sleep 2; cat)', process.execPath, cliPath()], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr: stderr.replace(/^work-queue: queue \S+ is drained: .*\n/m, '') }).toEqual({
      code: ExitCode.ok,
      stderr: '',
    });
    expect(Buffer.byteLength(stdout)).toBeGreaterThan(65536);
    expect(processed(stdout).sort()).toEqual([...items].sort());
  });
});
