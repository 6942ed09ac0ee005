import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { createTerminationMessageFile, resetTerminationMessageFile, terminatedState } from './termination-message';

describe("the kubelet's termination message", () => {
  let directory: string;
  const file = {
    policy: { name: 'c' } as IContainer,
    fallback: { name: 'c', terminationMessagePolicy: 'FallbackToLogsOnError' } as IContainer,
  };
  const log = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
  const logs = () => Promise.resolve(log);

  beforeEach(() => (directory = mkdtempSync(join(tmpdir(), 'termination-message-'))));
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  test('an empty world-writable file, mounted at terminationMessagePath or /dev/termination-log', () => {
    const mount = createTerminationMessageFile(directory, file.policy);
    expect(mount.containerPath).toBe('/dev/termination-log');
    expect(readFileSync(mount.hostPath, 'utf8')).toBe('');
    expect(statSync(mount.hostPath).mode & 0o777).toBe(0o666);
    expect(
      createTerminationMessageFile(directory, { name: 'c', terminationMessagePath: '/tmp/why' }).containerPath,
    ).toBe('/tmp/why');
  });

  test('what the container wrote, its last 4096 bytes, whatever the exit code and policy', async () => {
    const mount = createTerminationMessageFile(directory, file.fallback);
    writeFileSync(mount.hostPath, '{"item":"apple"}');
    expect(await terminatedState(mount, file.fallback, 0, logs)).toEqual({
      exitCode: 0,
      reason: 'Completed',
      message: '{"item":"apple"}',
    });
    writeFileSync(mount.hostPath, `${'a'.repeat(10)}${'b'.repeat(4096)}`);
    expect(await terminatedState(mount, file.policy, 1, logs)).toEqual({
      exitCode: 1,
      reason: 'Error',
      message: 'b'.repeat(4096),
    });
  });

  test('an empty file: no message, unless FallbackToLogsOnError and a non-zero exit take the last 80 lines within 2048 bytes of the log', async () => {
    const mount = createTerminationMessageFile(directory, file.fallback);
    expect(await terminatedState(mount, file.policy, 1, logs)).toEqual({ exitCode: 1, reason: 'Error' });
    expect(await terminatedState(mount, file.fallback, 0, logs)).toEqual({ exitCode: 0, reason: 'Completed' });
    const { message } = await terminatedState(mount, file.fallback, 137, logs);
    expect(message).toBe(log.split('\n').slice(20, 100).join('\n') + '\n');
    const long = `${'x'.repeat(3000)}\nlast\n`;
    expect((await terminatedState(mount, file.fallback, 1, () => Promise.resolve(long))).message).toBe(
      long.slice(-2048),
    );
  });

  test("a restarted container's run starts with an empty file", async () => {
    const mount = createTerminationMessageFile(directory, file.policy);
    writeFileSync(mount.hostPath, 'first run');
    resetTerminationMessageFile(mount);
    expect(await terminatedState(mount, file.policy, 0, logs)).toEqual({ exitCode: 0, reason: 'Completed' });
  });
});
