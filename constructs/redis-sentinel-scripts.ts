import { Defaults } from '../worker/contract';

/*
 * The start scripts of a replicated RedisPod's two containers, POSIX sh run as
 * `sh -c SCRIPT <name> [args...]`. Each writes its config into `$CONFIG_DIRECTORY` and ends in
 * `exec redis-server <file> [--sentinel] "$@"`, so that arguments given after the script override
 * the file. They read only these environment variables:
 * - `REDIS_NODE`: this member's announced host (a DNS name or an IP address);
 * - `REDIS_NODES`: every member's announced host, space-separated, in ordinal order;
 * - `REDIS_MASTER_NAME`: the name the Sentinels know the primary by;
 * - `CONFIG_DIRECTORY`: a writable directory for the config (Sentinel rewrites its file there);
 * - `REDIS_PASSWORD` (optional): the password of data nodes and Sentinels alike, and
 *   `REDISCLI_AUTH` (the same, for redis-cli to ask password-protected Sentinels).
 * They use only what the valkey/valkey and redis images have: sh, redis-cli, redis-server,
 * timeout, head, printf.
 */
/** Sentinel's timings for every monitored primary. */
export const SentinelTimings = {
  downAfterMilliseconds: 5000,
  failoverTimeoutMilliseconds: 60000,
  parallelSyncs: 1,
} as const;

/** A primary stops taking writes when fewer replicas than this have acknowledged within the lag. */
export const MinReplicas = { toWrite: 1, maxLagSeconds: 10 } as const;

const REDIS_PORT = Defaults.redisPort;
const SENTINEL_PORT = Defaults.sentinelPort;

/** The Sentinels that agree a primary is down before one fails it over: a majority of them. */
export function sentinelQuorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * Sets `primary`: the primary a Sentinel of `REDIS_NODES` names (the first that answers with a
 * host), or, when none answers (a set starting for the first time), the first of `REDIS_NODES`.
 * An error reply (`NOAUTH ...`, `IDONTKNOW ...`) has a space and is not a host; a master the
 * Sentinel does not know is an empty line.
 */
const FIND_PRIMARY = `primary=
for node in $REDIS_NODES; do
  answer=$(timeout 3 redis-cli -h "$node" -p ${SENTINEL_PORT} --raw SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | head -n 1) || answer=
  case "$answer" in '' | *' '*) ;; *) primary=$answer && break ;; esac
done
if [ -z "$primary" ]; then
  for node in $REDIS_NODES; do primary=$node && break; done
fi`;

/** Writes the config with the password kept out of the process list and readable by this user only. */
function script(file: string, lines: string, exec: string): string {
  return ['set -eu', FIND_PRIMARY, `conf="$CONFIG_DIRECTORY/${file}"`, 'umask 077', `{\n${lines}\n} > "$conf"`, exec, ''].join('\n');
}

/**
 * The data node: a replica of the primary unless it is the primary, announcing `REDIS_NODE`,
 * with the append-only file, no eviction and `min-replicas-to-write`, so that a primary cut off
 * from its replicas stops taking writes it would lose on a failover.
 */
export function redisDataScript(): string {
  return script(
    'redis.conf',
    [
      `  printf 'port ${REDIS_PORT}\\n'`,
      `  if [ "$primary" != "$REDIS_NODE" ]; then printf 'replicaof %s ${REDIS_PORT}\\n' "$primary"; fi`,
      `  printf 'replica-announce-ip %s\\n' "$REDIS_NODE"`,
      `  if [ -n "\${REDIS_PASSWORD:-}" ]; then`,
      `    printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"`,
      '  else',
      "    printf 'protected-mode no\\n'",
      '  fi',
      `  printf 'min-replicas-to-write ${MinReplicas.toWrite}\\nmin-replicas-max-lag ${MinReplicas.maxLagSeconds}\\n'`,
      "  printf 'appendonly yes\\nappendfsync everysec\\nmaxmemory-policy noeviction\\n'",
    ].join('\n'),
    'exec redis-server "$conf" "$@"',
  );
}

/**
 * The Sentinel beside each data node: monitors the primary under `REDIS_MASTER_NAME` with a
 * majority quorum of `members`, by host name (resolve-hostnames comes before the monitor line,
 * which needs it), announcing `REDIS_NODE`. The file stays writable: Sentinel records what it
 * learns (replicas, other Sentinels, a new primary) in it.
 */
export function sentinelScript(members: number): string {
  const master = '"$REDIS_MASTER_NAME"';
  return script(
    'sentinel.conf',
    [
      `  printf 'port ${SENTINEL_PORT}\\nsentinel resolve-hostnames yes\\nsentinel announce-hostnames yes\\n'`,
      `  printf 'sentinel announce-ip %s\\n' "$REDIS_NODE"`,
      `  printf 'sentinel monitor %s %s ${REDIS_PORT} ${sentinelQuorum(members)}\\n' ${master} "$primary"`,
      `  printf 'sentinel down-after-milliseconds %s ${SentinelTimings.downAfterMilliseconds}\\n' ${master}`,
      `  printf 'sentinel failover-timeout %s ${SentinelTimings.failoverTimeoutMilliseconds}\\n' ${master}`,
      `  printf 'sentinel parallel-syncs %s ${SentinelTimings.parallelSyncs}\\n' ${master}`,
      `  if [ -n "\${REDIS_PASSWORD:-}" ]; then`,
      `    printf 'requirepass %s\\nsentinel auth-pass %s %s\\nsentinel sentinel-pass %s\\n' "$REDIS_PASSWORD" ${master} "$REDIS_PASSWORD" "$REDIS_PASSWORD"`,
      '  else',
      "    printf 'protected-mode no\\n'",
      '  fi',
    ].join('\n'),
    'exec redis-server "$conf" --sentinel "$@"',
  );
}
