import { readSeed, readWork } from '../../worker/config';
import { Defaults, ExitCode, seedId } from '../../contract';
import { CliError } from '../../worker/errors';

/** SEED_ID and SEED_WAIT_SECONDS (work) and SEED_RUN (seed), as the worker reads them at start-up. */

const TARGET = { BROKER_URL: 'redis://127.0.0.1:6379', QUEUE: 'jobs' };

/** The problem lines a bad environment is reported with (a CliError with exit 2). */
function problems(read: (env: Record<string, string>) => unknown, env: Record<string, string>): string[] {
  try {
    read(env);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.badInput);
    return (error as CliError).message.split('\n');
  }
  throw new Error(`no problem reported for ${JSON.stringify(env)}`);
}

describe('SEED_ID and SEED_WAIT_SECONDS', () => {
  test('unset: no seed to wait for, and the default wait', () => {
    const { work } = readWork(TARGET);
    expect(work.seedId).toBeUndefined();
    expect(work.seedWaitSeconds).toBe(Defaults.seedWaitSeconds);
  });

  test('an empty SEED_ID is unset', () => {
    expect(readWork({ ...TARGET, SEED_ID: '' }).work.seedId).toBeUndefined();
  });

  test('takes the id seedId() produces, and a wait of 0 or a fraction of a second', () => {
    const id = seedId(['a', 'b'], 'rerun-1');
    expect(readWork({ ...TARGET, SEED_ID: id, SEED_WAIT_SECONDS: '0' }).work).toMatchObject({
      seedId: id,
      seedWaitSeconds: 0,
    });
    expect(readWork({ ...TARGET, SEED_ID: id, SEED_WAIT_SECONDS: '2.5' }).work.seedWaitSeconds).toBe(2.5);
  });

  test.each([
    ['upper case', seedId(['a']).toUpperCase()],
    ['too short', seedId(['a']).slice(1)],
    ['too long', `${seedId(['a'])}0`],
    ['not hexadecimal', 'z'.repeat(32)],
    ['surrounded by spaces', ` ${seedId(['a'])} `],
  ])('fails with a SEED_ID %s, naming it and the expected form', (_, value) => {
    expect(problems(readWork, { ...TARGET, SEED_ID: value })).toEqual([
      `SEED_ID: got ${JSON.stringify(value)}, expected the seed id of the items, 32 lowercase hexadecimal digits (as \`work-queue seed\` prints it and the constructs set it); unset when another producer fills the queue`,
    ]);
  });

  test.each(['-1', 'forever', 'Infinity'])('fails with SEED_WAIT_SECONDS=%s', (value) => {
    expect(problems(readWork, { ...TARGET, SEED_WAIT_SECONDS: value })).toEqual([
      `SEED_WAIT_SECONDS: got ${JSON.stringify(value)}, expected a finite number of at least 0`,
    ]);
  });

  test('reports every bad variable at once, one line each', () => {
    const lines = problems(readWork, {
      BROKER_URL: 'ftp://x',
      QUEUE: 'jobs',
      MAX_ATTEMPTS: '0',
      SEED_ID: 'abc',
      SEED_WAIT_SECONDS: '-5',
    });
    expect(lines.map((line) => line.split(':')[0])).toEqual([
      'BROKER_URL',
      'MAX_ATTEMPTS',
      'SEED_ID',
      'SEED_WAIT_SECONDS',
    ]);
  });
});

describe('SEED_RUN', () => {
  test('unset or empty: no run label', () => {
    expect(readSeed(TARGET).run).toBeUndefined();
    expect(readSeed({ ...TARGET, SEED_RUN: '' }).run).toBeUndefined();
  });

  test.each(['2024-06-01', 'rerun 2', 'x', 'a'.repeat(63), 'ticket#42/b'])('takes %j exactly as given', (run) => {
    expect(readSeed({ ...TARGET, SEED_RUN: run })).toMatchObject({ queue: 'jobs', run });
  });

  test.each([
    ['too long', 'a'.repeat(64)],
    ['with a leading space', ' rerun'],
    ['with a trailing space', 'rerun '],
    ['a control character', 'line\nbreak'],
    ['not ASCII', 'über'],
  ])('fails with a SEED_RUN %s, naming it and what is expected', (_, value) => {
    const [line] = problems(readSeed, { ...TARGET, SEED_RUN: value });
    expect(line).toMatch(/^SEED_RUN: got .*, expected a run label of 1 to 63 printable ASCII characters/);
  });

  test('reports SEED_RUN with the other bad variables at once', () => {
    const lines = problems(readSeed, { BROKER_URL: '', QUEUE: 'amq.bad', SEED_RUN: ' ' });
    expect(lines.map((line) => line.split(':')[0])).toEqual(['BROKER_URL', 'QUEUE', 'SEED_RUN']);
  });
});
