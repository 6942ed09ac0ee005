import { Defaults } from '../contract';

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
 * timeout, head, printf, sleep, date.
 */
/**
 * Sentinel's timings for every monitored primary. A failover Sentinel abandons (none of the
 * replicas looked fit at that moment: `-failover-abort-no-good-slave`, seen when the primary is
 * lost seconds after a replica's last report) is tried again after twice `failover-timeout`: 10 s
 * keeps that second try (20 s later) within the clients' default BROKER_RETRY_SECONDS of 60.
 */
export const SentinelTimings = {
  downAfterMilliseconds: 5000,
  failoverTimeoutMilliseconds: 10000,
  parallelSyncs: 1,
} as const;

/** A primary stops taking writes when fewer replicas than this have acknowledged within the lag. */
export const MinReplicas = { toWrite: 1, maxLagSeconds: 10 } as const;

/**
 * How long the preStop hook of the primary's data node waits for a Sentinel to name another primary,
 * and how long a data node started empty in the primary's place waits for the same (below the
 * liveness probe's 3 failed checks 10 s apart, as the server is not up meanwhile).
 */
export const PRE_STOP_WAIT_SECONDS = 30;
const EMPTY_PRIMARY_WAIT_SECONDS = 20;

const REDIS_PORT = Defaults.redisPort;
const SENTINEL_PORT = Defaults.sentinelPort;

/** The Sentinels that agree a primary is down before one fails it over: a majority of them. */
export function sentinelQuorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * `sentinel_primary [EXCEPT]` prints the primary a Sentinel of `REDIS_NODES` names: the first that
 * answers with a host (other than EXCEPT), or nothing when none does. An error reply (`NOAUTH ...`,
 * `IDONTKNOW ...`) has a space and is not a host; a master the Sentinel does not know is an empty line.
 */
const SENTINEL_PRIMARY = `sentinel_primary() {
  for node in $REDIS_NODES; do
    answer=$(timeout 3 redis-cli -h "$node" -p ${SENTINEL_PORT} --raw SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | head -n 1) || answer=
    case "$answer" in '' | *' '* | "\${1:-}") ;; *) printf '%s\\n' "$answer" && return 0 ;; esac
  done
}`;

/**
 * `fail_over SECONDS` asks a Sentinel to fail the primary over (`SENTINEL FAILOVER`: at once, without
 * waiting for the primary to be down), the other members' Sentinels first (this pod's may be
 * stopping beside the hook, or be new and know no replica), and prints the primary a Sentinel names
 * instead of `REDIS_NODE` within SECONDS of the call, polling each second. Status 2: no Sentinel took
 * the request (`NOGOODSLAVE`: none knows a replica to promote); 1: no other primary named in time.
 * A failover already in progress (`INPROG`) is waited for like one just asked for.
 */
const FAIL_OVER = `ask_failover() {
  case "$(timeout 3 redis-cli -h "$1" -p ${SENTINEL_PORT} --raw SENTINEL FAILOVER "$REDIS_MASTER_NAME" 2>&1)" in OK | INPROG*) return 0 ;; *) return 1 ;; esac
}
fail_over() {
  deadline=$(($(date +%s) + $1))
  taken=
  for node in $REDIS_NODES; do
    if [ "$node" != "$REDIS_NODE" ] && ask_failover "$node"; then taken=yes && break; fi
  done
  if [ -z "$taken" ] && ! ask_failover "$REDIS_NODE"; then return 2; fi
  while [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 1
    promoted=$(sentinel_primary "$REDIS_NODE") || promoted=
    if [ -n "$promoted" ]; then printf '%s\\n' "$promoted" && return 0; fi
  done
  return 1
}`;

/** Sets `primary`: the primary a Sentinel names, or, when none answers (a set starting for the first time), the first of `REDIS_NODES`. */
const FIND_PRIMARY = `primary=$(sentinel_primary) || primary=
if [ -z "$primary" ]; then
  for node in $REDIS_NODES; do primary=$node && break; done
fi`;

/**
 * A data node the Sentinels name primary whose data directory (`--dir` among the arguments) has
 * neither an append-only file nor a snapshot is a new pod in place of the primary (deleted without
 * its preStop hook having failed it over, or before the Sentinels noticed): started as primary, it
 * would make its replicas copy its empty data set. Instead a Sentinel promotes the replica with the
 * most data and this node replicates it; when no Sentinel knows a replica to promote there is
 * nothing to lose and it starts as primary; when the failover is taken but not done in time, it
 * exits (and is restarted) rather than start empty as primary.
 */
const EMPTY_PRIMARY_GUARD = `dir=.
previous=
for arg in "$@"; do
  if [ "$previous" = --dir ]; then dir=$arg; fi
  previous=$arg
done
if [ "$primary" = "$REDIS_NODE" ] && [ ! -e "$dir/appendonlydir" ] && [ ! -e "$dir/dump.rdb" ]; then
  if promoted=$(fail_over ${EMPTY_PRIMARY_WAIT_SECONDS}); then
    primary=$promoted
  elif [ $? -eq 1 ]; then
    printf 'named primary with no data, and no replica promoted within ${EMPTY_PRIMARY_WAIT_SECONDS} s: not starting\\n' >&2
    exit 1
  fi
fi`;

/** Writes the config with the password kept out of the process list and readable by this user only. */
function script(file: string, lines: string, exec: string, guard?: string): string {
  return [
    'set -eu',
    SENTINEL_PRIMARY,
    ...(guard ? [FAIL_OVER] : []),
    FIND_PRIMARY,
    ...(guard ? [guard] : []),
    `conf="$CONFIG_DIRECTORY/${file}"`,
    'umask 077',
    `{\n${lines}\n} > "$conf"`,
    exec,
    '',
  ].join('\n');
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
    EMPTY_PRIMARY_GUARD,
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

/**
 * The data node's preStop hook: when a Sentinel names this node primary, it first stops taking
 * writes (`min-replicas-to-write` raised to `members`, more replicas than it can have: writes are
 * refused with NOREPLICAS, which clients retry, rather than accepted and lost in the moments when
 * the promoted replica and this node are both primaries), then asks the Sentinels to fail it over
 * and waits (at most `PRE_STOP_WAIT_SECONDS`) until one names another primary, so that the pod
 * that comes back under the same name finds a primary to replicate instead of being named one
 * with whatever data it has (none without `storage`, which its replicas would then copy).
 * Otherwise it does nothing. It always succeeds: a failed hook only delays the container's stop.
 */
export function redisPreStopScript(members: number): string {
  return [
    SENTINEL_PRIMARY,
    FAIL_OVER,
    'if [ "$(sentinel_primary)" = "$REDIS_NODE" ]; then',
    `  redis-cli -h "$REDIS_NODE" -p ${REDIS_PORT} CONFIG SET min-replicas-to-write ${members} > /dev/null 2>&1 || true`,
    `  fail_over ${PRE_STOP_WAIT_SECONDS} > /dev/null || true`,
    'fi',
    'exit 0',
    '',
  ].join('\n');
}
