// setupFiles of the redis8 project: Redis 8.0 from the Debian 13 root (.ci/start-brokers).
const { redis8 } = require('./generations');

Object.assign(process.env, redis8.env);
