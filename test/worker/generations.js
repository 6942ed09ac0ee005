// The broker generations the broker suites run against, one jest project each (jest.config.js).
// A generation is the environment that test/worker/brokers.ts reads.
const path = require('node:path');

const ci = path.join(__dirname, '..', '..', '.ci');

const deployed = {
  env: {
    WQ_TEST_GENERATION: 'deployed (RabbitMQ 4.0 on 5682, Valkey 8.1 on 6389, from the Debian 13 root)',
    WQ_TEST_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5682',
    WQ_TEST_REDIS_URL: 'redis://127.0.0.1:6389',
    WQ_TEST_RABBITMQCTL: `${ci}/in-trixie rabbitmqctl`,
    WQ_TEST_REDIS_SERVER: `${ci}/trixie-exec valkey-server`,
  },
};

module.exports = {
  machine: {
    env: {
      WQ_TEST_GENERATION: 'machine (RabbitMQ 3.10 on 5672, Redis 7.0 on 6379)',
      WQ_TEST_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      WQ_TEST_REDIS_URL: 'redis://127.0.0.1:6379',
      WQ_TEST_RABBITMQCTL: 'rabbitmqctl',
      WQ_TEST_REDIS_SERVER: 'redis-server',
    },
  },
  deployed,
  // Redis 8.0 where it may differ from Valkey 8.1 (REDIS8 in jest.config.js: the Lua scripts, refused
  // credentials). Its suites use no RabbitMQ; the deployed one stays named, so that a stray AMQP test
  // still has a broker.
  redis8: {
    env: {
      ...deployed.env,
      WQ_TEST_GENERATION: 'redis8 (Redis 8.0 on 6399, from the Debian 13 root)',
      WQ_TEST_REDIS_URL: 'redis://127.0.0.1:6399',
      WQ_TEST_REDIS_SERVER: `${ci}/trixie-exec redis-server`,
    },
  },
};
