import { stripVTControlCharacters } from 'node:util';
import { spawn } from 'node:child_process';
import { ExitCode } from '../../contract';
import { useBrokers } from './broker-fixture';
import { amqpEnv, cliPath, connectAmqp, redisEnv, runCli, uniqueQueue } from './helpers';

describe('work-queue CLI', () => {
  const brokers = useBrokers('redis');

  beforeAll(async () => {
    // Fails clearly when RabbitMQ is not there (the status tests ask it too).
    await (await connectAmqp()).close();
  });

  test.each([
    ['seed', /^usage: work-queue seed \[--force\] \[ITEM\.\.\.\]$/m],
    ['work', /^usage: work-queue work$/m],
    ['status', /^usage: work-queue status \[--watch\] \[--json\]$/m],
  ])("%s --help prints that command's usage and exits 0, whatever the environment", async (command, usage) => {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([command, flag], {});
      expect(result.code).toBe(ExitCode.ok);
      expect(result.stdout).toMatch(usage);
      expect(result.stdout).toMatch(/BROKER_RETRY_SECONDS/);
      expect(result.stderr).toBe('');
    }
  });

  test('fails for status of a queue that never existed, with the same line on both brokers, --json too', async () => {
    const queue = uniqueQueue('never');
    const expected = `work-queue: QUEUE: got "${queue}", expected an existing queue; seed it or start a worker first\n`;
    for (const env of [redisEnv(queue), amqpEnv(queue)]) {
      for (const args of [['status'], ['status', '--watch'], ['status', '--json'], ['status', '--watch', '--json']]) {
        const result = await runCli(args, env);
        expect(result.code).toBe(ExitCode.failed);
        expect(result.stderr).toBe(expected);
        expect(result.stdout).toBe('');
      }
    }
  });

  test('status --watch fits every redraw into a terminal 60 columns wide', async () => {
    const queue = brokers.queue('a-queue-whose-name-alone-fills-most-of-a-narrow-terminal');
    await brokers.redis.rPush(queue, ['w1', 'w2', 'w3']);
    const watch = runInTerminal(60, ['status', '--watch'], redisEnv(queue));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await runCli(['work'], redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.3' }))).code).toBe(
      ExitCode.ok,
    );
    const { code, output } = await watch;
    expect(code).toBe(ExitCode.ok);
    const rows = output.split(/\r\n|\r|\n/).map((row) => stripVTControlCharacters(row));
    expect(rows.filter((row) => row.includes('pending')).length).toBeGreaterThan(1);
    for (const row of rows) expect(Array.from(row).length).toBeLessThan(60);
    expect(rows.filter((row) => row.includes('pending')).pop()).toMatch(
      /\[#+\] pending 0, in progress 0, done 3, dead 0$/,
    );
  });
});

/** Runs the CLI on a pseudo-terminal `columns` wide (util-linux `script`); resolves with all it drew. */
function runInTerminal(
  columns: number,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const command = `stty cols ${columns} rows 24; exec ${process.execPath} ${cliPath()} ${args.join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', (error) =>
      reject(new Error(`util-linux script is needed for the terminal test: ${error.message}`)),
    );
    child.on('close', (code) => resolve({ code, output }));
  });
}
