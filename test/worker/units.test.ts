import { Defaults, Env } from '../../contract';
import { integer } from '../../worker/redis/reply';
import { luaScript } from '../../worker/redis/script';
import { CLAIM } from '../../worker/redis/scripts/claim';
import { COMPLETE } from '../../worker/redis/scripts/complete';
import { FAIL } from '../../worker/redis/scripts/fail';
import { RELEASE } from '../../worker/redis/scripts/release';
import { RENEW } from '../../worker/redis/scripts/renew';
import { SEED_BEGIN } from '../../worker/redis/scripts/seed-begin';
import { SEED_CHUNK } from '../../worker/redis/scripts/seed-chunk';
import { STATUS } from '../../worker/redis/scripts/status';
import { redraw } from '../../worker/status';

describe('the contract', () => {
  test('BROKER_RETRY_SECONDS, 60 s unless set', () => {
    expect(Env.brokerRetrySeconds).toBe('BROKER_RETRY_SECONDS');
    expect(Defaults.brokerRetrySeconds).toBe(60);
  });
});

describe('status --watch on a terminal', () => {
  const status = { pending: 3, inProgress: 1, done: 6, dead: 0, seeded: 10 };
  const queue = 'job2';

  test.each([200, 80, 64, 60, 40, 30, 20, 8])('the redraw fits %i columns', (columns) => {
    expect(Array.from(redraw(queue, status, columns)).length).toBeLessThan(columns);
  });

  test('a wide terminal gets the full bar and line; a narrower one a narrower bar, then no queue name, then no bar', () => {
    expect(redraw(queue, status, 200)).toBe(
      `[${'#'.repeat(18)}${'.'.repeat(12)}] queue job2: pending 3, in progress 1, done 6, dead 0 (seeded 10)`,
    );
    expect(redraw(queue, status, 80)).toMatch(/^\[[#.]{5,29}\] queue job2: /);
    expect(redraw(queue, status, 64)).toMatch(/^\[[#.]{5,}\] pending 3, /);
    expect(redraw(queue, status, 60)).toBe('pending 3, in progress 1, done 6, dead 0 (seeded 10)');
    expect(redraw(queue, status, 40)).toBe('pending 3, in progress 1, done 6, dead…');
  });
});

describe('Redis scripts', () => {
  test('each script names its keys and arguments at the top, in the order it is called with', () => {
    expect(COMPLETE.source.split('\n').slice(0, 2)).toEqual([
      'local pending, processing, leases, done, dead, seed, reply = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]',
      'local call, retry, replyTtl, tokenList = ARGV[1], ARGV[2], ARGV[3], ARGV[4]',
    ]);
    for (const script of [CLAIM, COMPLETE, FAIL, RELEASE, RENEW, SEED_BEGIN, SEED_CHUNK, STATUS])
      expect(script.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  test('fails for a body that declares a local with the name of a key', () => {
    expect(() =>
      luaScript({
        name: 'test',
        keys: ['dead'],
        args: [],
        body: 'local claimed, dead = {}, {}\nreturn 0',
        reply: integer,
      }),
    ).toThrow('the body redeclares dead');
  });
});
