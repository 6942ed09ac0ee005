// setupFiles of the deployed generation's project: RabbitMQ 4.0 and Valkey 8.1 (.ci/start-brokers).
const { deployed } = require('./generations');

Object.assign(process.env, deployed.env);
