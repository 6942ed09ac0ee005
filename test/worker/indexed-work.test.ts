import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../../contract';
import { killLeftovers, processGone, runCli, startCli } from './helpers';
import { ItemsVolumes } from './indexed-fixture';

/** `work-queue work` in a pod of an Indexed Job: no broker, only the items' directory and the index. */
function indexedEnv(directory: string, index: number, extra: Record<string, string> = {}): Record<string, string> {
  return { WORKER_MODE: 'indexed', ITEMS_DIRECTORY: directory, JOB_COMPLETION_INDEX: String(index), ...extra };
}

describe('work-queue work with WORKER_MODE=indexed (no broker)', () => {
  const volumes = new ItemsVolumes();
  const ITEMS = ['apple', 'caf\u00e9 \u{1F34E}', '', 'two\nlines', 'fig', 'grape'];
  let directory: string;

  beforeAll(() => {
    directory = volumes.volume({ 0: ITEMS.slice(0, 3), 3: ITEMS.slice(3, 5), 5: ITEMS.slice(5) });
  });

  afterAll(() => {
    killLeftovers();
    volumes.remove();
  });

  test("gives WORK_COMMAND the bytes of each index's item on stdin and exits 0", async () => {
    const results = await Promise.all(
      ITEMS.map((_item, index) => runCli(['work'], indexedEnv(directory, index, { WORK_COMMAND: 'cat' }))),
    );
    expect(results.map(({ code, stderr }) => ({ code, stderr }))).toEqual(
      ITEMS.map(() => ({ code: ExitCode.ok, stderr: '' })),
    );
    expect(results.map(({ stdout }) => stdout)).toEqual(ITEMS);
  });

  test('the built-in handler prints the item', async () => {
    const result = await runCli(['work'], indexedEnv(directory, 4, { WORK_SECONDS: '0' }));
    expect(result).toMatchObject({ code: ExitCode.ok, stdout: 'Processing fig\n', stderr: '' });
  });

  test('exits 1 with one line for a command that fails', async () => {
    const result = await runCli(['work'], indexedEnv(directory, 4, { WORK_COMMAND: 'cat; exit 3' }));
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stdout).toBe('fig');
    expect(result.stderr).toBe('work-queue: item 4 "fig" failed: WORK_COMMAND did not exit 0\n');
  });

  test('exits 1 with one line for an item that outlasts WORK_TIMEOUT_SECONDS, its command stopped', async () => {
    const result = await runCli(
      ['work'],
      indexedEnv(directory, 0, { WORK_COMMAND: 'echo started; sleep 60', WORK_TIMEOUT_SECONDS: '0.5' }),
    );
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stdout).toBe('started\n');
    expect(result.stderr).toBe(
      'work-queue: item 0 "apple" outlasted WORK_TIMEOUT_SECONDS (0.5 s): stopped, a failed attempt\n',
    );
  });

  test('exits 2 with one line for an index past the last item', async () => {
    const result = await runCli(['work'], indexedEnv(directory, ITEMS.length));
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toBe(
      `work-queue: JOB_COMPLETION_INDEX: got "6", expected an index below 6, the number of items in ${directory}\n`,
    );
    expect(result.stdout).toBe('');
  });

  test('exits 2 with one line for a missing directory, and for missing variables', async () => {
    const missing = path.join(directory, 'missing');
    const result = await runCli(['work'], indexedEnv(missing, 0));
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toBe(
      `work-queue: ITEMS_DIRECTORY: got ${JSON.stringify(missing)}, expected a readable directory of item files items-0.json and on (ENOENT)\n`,
    );
    const unset = await runCli(['work'], { WORKER_MODE: 'indexed' });
    expect(unset.code).toBe(ExitCode.badInput);
    expect(
      unset.stderr
        .trim()
        .split('\n')
        .map((line) => line.split(':')[1].trim()),
    ).toEqual(['ITEMS_DIRECTORY', 'JOB_COMPLETION_INDEX']);
  });

  test('exits 143 on SIGTERM, once the whole process group of its command is stopped', async () => {
    const worker = startCli(['work'], indexedEnv(directory, 5, { WORK_COMMAND: 'sleep 60 & echo "child $!"; wait' }));
    await worker.waitFor(/^child \d+$/m);
    const child = Number(/^child (\d+)$/m.exec(worker.stdout)![1]);
    worker.kill('SIGTERM');
    await worker.waitFor(/SIGTERM: taking no more items/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(result.stderr).toMatch(/^work-queue: item 5 "grape" was stopped unfinished: the worker is shutting down$/m);
    expect(processGone(child)).toBe(true);
  });

  test('exits 0 when the item finishes within the grace period after SIGTERM', async () => {
    const go = path.join(volumes.volume({}), 'go');
    const worker = startCli(
      ['work'],
      indexedEnv(directory, 3, { WORK_COMMAND: `echo waiting; while [ ! -e ${go} ]; do sleep 0.05; done; cat` }),
    );
    await worker.waitFor(/^waiting$/m);
    worker.kill('SIGTERM');
    await worker.waitFor(/SIGTERM: taking no more items/);
    writeFileSync(go, '');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toBe('waiting\ntwo\nlines');
  });
});
