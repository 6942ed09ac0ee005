// The one module of the worker that imports node-redis: the worker bundle (worker/build.js) puts
// it in a file of its own, node-redis.cjs, which only a pod whose BROKER_URL names Redis loads.
// The client module alone, not the package's index: that one also loads cluster, pool and
// Sentinel support, which a pod would parse for nothing.
export { default as RedisClient, type RedisClientOptions } from '@redis/client/dist/lib/client';
export { ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError } from '@redis/client/dist/lib/errors';
export type { RedisFunctions, RedisModules, RedisScripts, TypeMapping } from '@redis/client/dist/lib/RESP/types';
