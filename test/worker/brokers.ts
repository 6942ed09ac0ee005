/**
 * The brokers of this test run's generation (test/worker/generations.js, one jest project each):
 * every broker address, credential and broker tool of the worker tests comes from here.
 * WQ_TEST_AMQP_URL and WQ_TEST_REDIS_URL name the brokers, WQ_TEST_RABBITMQCTL the command that
 * reaches that RabbitMQ's node, WQ_TEST_REDIS_SERVER the server the outage tests start their own of.
 * Without them (a test file run alone outside a project), the machine's brokers.
 */
const setting = (name: string, fallback: string): string => process.env[name] || fallback;

export const GENERATION = setting('WQ_TEST_GENERATION', 'machine (RabbitMQ 3.10 on 5672, Redis 7.0 on 6379)');
export const AMQP_URL = setting('WQ_TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672');
export const REDIS_URL = setting('WQ_TEST_REDIS_URL', 'redis://127.0.0.1:6379');
/** The command (and leading arguments) of rabbitmqctl for this generation's node. */
export const RABBITMQCTL = setting('WQ_TEST_RABBITMQCTL', 'rabbitmqctl').split(' ');
/** The command (and leading arguments) of redis-server or valkey-server for the tests' own servers. */
export const REDIS_SERVER = setting('WQ_TEST_REDIS_SERVER', 'redis-server').split(' ');

const amqp = new URL(AMQP_URL);
const redis = new URL(REDIS_URL);

export const AMQP = {
  host: amqp.hostname,
  port: Number(amqp.port || 5672),
  username: decodeURIComponent(amqp.username),
  password: decodeURIComponent(amqp.password),
  /** host:port as the worker prints it. */
  address: `${amqp.hostname}:${amqp.port || 5672}`,
};

export const REDIS = { host: redis.hostname, port: Number(redis.port || 6379) };

/** The error a test gets when its broker does not answer: which broker, where, and how to start it. */
export function unreachable(broker: 'RabbitMQ' | 'Redis', url: string, error: unknown): Error {
  const { hostname, port } = new URL(url);
  return new Error(
    `${broker} of the ${GENERATION} generation not reachable at ${hostname}:${port || (broker === 'RabbitMQ' ? 5672 : 6379)} (${String(error)}): start the brokers with .ci/start-brokers (as root)`,
    { cause: error },
  );
}
