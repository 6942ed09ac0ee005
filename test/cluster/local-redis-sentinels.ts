import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { listening } from '../listening';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { createClient } from 'redis';
import { RedisPod } from '../../constructs';
import { Defaults, GENERATED_SECRET_BYTES } from '../../contract';
import { sleep } from '../../worker/sleep';

/** A container of the synthesized StatefulSet as the kubelet would start it. */
interface SynthesizedContainer {
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly { name: string; value?: string; valueFrom?: object }[];
  /** The command of the container's preStop hook, if it has one. */
  readonly preStop?: readonly string[];
}

/** What a replicated RedisPod gives its members: the two containers' commands and the master name. */
export interface SynthesizedReplicas {
  readonly members: number;
  readonly master: string;
  readonly password: string;
  readonly data: SynthesizedContainer;
  readonly sentinel: SynthesizedContainer;
}

/**
 * The variables the start scripts read (constructs/redis-sentinel-scripts.ts), which the local
 * members are given with local values; POD_NAME and POD_NAMESPACE only feed REDIS_NODE(S) in a pod.
 */
const SCRIPT_VARIABLES = [
  'POD_NAME',
  'POD_NAMESPACE',
  'REDIS_NODE',
  'REDIS_NODES',
  'REDIS_MASTER_NAME',
  'CONFIG_DIRECTORY',
  'REDIS_PASSWORD',
  'REDISCLI_AUTH',
];

/** Synthesizes `new RedisPod(chart, 'redis', { replicas, password })` and reads its containers. */
export function synthesizeReplicas(members: number): SynthesizedReplicas {
  const chart = new Chart(Testing.app(), 'broker');
  const password = randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
  const broker = new RedisPod(chart, 'redis', { replicas: members, password });
  type Container = Omit<SynthesizedContainer, 'preStop' | 'args'> & {
    name: string;
    args?: string[];
    lifecycle?: { preStop?: { exec?: { command: string[] } } };
  };
  const objects = chart.toJson() as { kind: string; spec?: { template?: { spec?: { containers?: Container[] } } } }[];
  const containers = objects.find((o) => o.kind === 'StatefulSet')?.spec?.template?.spec?.containers ?? [];
  const container = (name: string): SynthesizedContainer => {
    const found = containers.find((c) => c.name === name);
    if (!found)
      throw new Error(
        `the synthesized StatefulSet has no container ${name}: ${containers.map((c) => c.name).join(', ')}`,
      );
    const unknown = found.env.map((variable) => variable.name).filter((name) => !SCRIPT_VARIABLES.includes(name));
    if (unknown.length > 0)
      throw new Error(`container ${name} reads ${unknown.join(', ')}, which the local members do not give`);
    return {
      command: found.command,
      args: found.args ?? [],
      env: found.env,
      preStop: found.lifecycle?.preStop?.exec?.command,
    };
  };
  const master = broker.connection.sentinelMaster;
  if (master === undefined) throw new Error('the synthesized RedisPod has no Sentinel master name in its connection');
  return { members, master, password, data: container('redis'), sentinel: container('sentinel') };
}

/** How the members' programs are found: this machine's Redis, or the Debian 13 root's Valkey under Redis' names. */
export interface ServerFamily {
  readonly name: string;
  /** A directory put first on PATH, holding `redis-server` and `redis-cli`. @default - the machine's own */
  readonly binDirectory?: string;
}

/** Valkey 8.1 of the Debian 13 root, under the names the valkey/valkey image gives it (redis-server, redis-cli). */
export function valkeyFromTrixie(): ServerFamily {
  const directory = mkdtempSync(path.join(tmpdir(), 'work-queue-valkey-bin-'));
  const exec = path.resolve(__dirname, '..', '..', '.ci', 'trixie-exec');
  for (const [name, program] of [
    ['redis-server', 'valkey-server'],
    ['redis-cli', 'valkey-cli'],
  ]) {
    writeFileSync(path.join(directory, name), `#!/bin/sh\nexec ${exec} ${program} "$@"\n`);
    chmodSync(path.join(directory, name), 0o755);
  }
  return { name: 'Valkey 8.1 (Debian 13 root)', binDirectory: directory };
}

/** The wait before a container whose process exited is started again (the kubelet's first back-off is 10 s). */
const RESTART_DELAY_MS = 1000;

/** One member: a data node and its Sentinel, each a process started from the synthesized script. */
class LocalMember {
  data?: ChildProcess;
  sentinel?: ChildProcess;

  constructor(
    readonly host: string,
    readonly directory: string,
  ) {}
}

/**
 * The members of a replicated RedisPod run on this machine from the synthesized start scripts,
 * as the kubelet starts the containers: each member on its own loopback address (127.0.0.x, the
 * pod's IP) with the pod's ports 6379 and 26379, its own data and config directories, and the
 * script's arguments followed by `--bind <address> --dir <its data directory>`. The shared Redis
 * on 127.0.0.1 is never touched.
 */
export class LocalSentinelSet {
  readonly members: LocalMember[];
  private readonly root: string;
  private stopping = false;
  /** The containers that exited and were started again, as `<host> <role> exited with <code>`. */
  readonly restarts: string[] = [];

  constructor(
    readonly synthesized: SynthesizedReplicas,
    private readonly family: ServerFamily,
    hosts: readonly string[],
  ) {
    this.root = mkdtempSync(path.join(tmpdir(), 'work-queue-sentinels-'));
    this.members = hosts.map((host, index) => new LocalMember(host, path.join(this.root, `member-${index}`)));
  }

  /** BROKER_URL as a client Job gets it, with the members' Sentinels as the hosts. */
  get brokerUrl(): string {
    const sentinels = this.members.map((member) => `${member.host}:${Defaults.sentinelPort}`).join(',');
    return `redis+sentinel://:${this.synthesized.password}@${sentinels}/${this.synthesized.master}/0`;
  }

  /** Starts every member's data node and Sentinel, then waits until they agree on a primary with all replicas. */
  async start(): Promise<void> {
    for (const member of this.members) {
      for (const port of [Defaults.redisPort, Defaults.sentinelPort]) {
        if (await listening(member.host, port)) {
          throw new Error(
            `${member.host}:${port} is taken, by a process an earlier run left behind: stop it (ss -ltnp 'sport = :${port}')`,
          );
        }
      }
    }
    for (const member of this.members) {
      this.startData(member);
      this.startSentinel(member);
    }
    await this.settled(60_000);
  }

  /** Starts a member's data node again, as the kubelet restarts a container that died. */
  startData(member: LocalMember): void {
    member.data = this.spawn(member, 'data', this.synthesized.data);
  }

  startSentinel(member: LocalMember): void {
    member.sentinel = this.spawn(member, 'sentinel', this.synthesized.sentinel);
  }

  /**
   * Deletes a member's pod as the kubelet does: the data container's preStop hook runs while the
   * Sentinel container (which has none) is sent SIGTERM; once the hook is done, the data container
   * gets SIGTERM. Resolves when both have exited, with how long the hook took.
   */
  async deletePod(member: LocalMember): Promise<{ hookMs: number }> {
    const { preStop } = this.synthesized.data;
    if (!preStop) throw new Error('the synthesized data container has no preStop hook');
    const { data, sentinel } = this.takeContainers(member);
    const stopped = [data, sentinel].flatMap((child) => (child ? [exited(child)] : []));
    sentinel?.kill('SIGTERM');
    const started = Date.now();
    const [program, ...args] = preStop;
    const hook = spawn(program, args, { env: this.env(member, 'data'), stdio: ['ignore', 'ignore', 'ignore'] });
    await exited(hook);
    const hookMs = Date.now() - started;
    data?.kill('SIGTERM');
    await Promise.all(stopped);
    return { hookMs };
  }

  /** Ends a member's pod at once (a crash, a forced deletion): both containers get SIGKILL, no hook runs. */
  async killPod(member: LocalMember): Promise<void> {
    const { data, sentinel } = this.takeContainers(member);
    const stopped = [data, sentinel].flatMap((child) => (child ? [exited(child)] : []));
    data?.kill('SIGKILL');
    sentinel?.kill('SIGKILL');
    await Promise.all(stopped);
  }

  /** The member's processes, no longer the member's: a pod being deleted, whose containers are not restarted. */
  private takeContainers(member: LocalMember): { data?: ChildProcess; sentinel?: ChildProcess } {
    const { data, sentinel } = member;
    member.data = undefined;
    member.sentinel = undefined;
    return { data, sentinel };
  }

  /** The StatefulSet's new pod under the member's name: empty volumes (no claim), both containers started. */
  replacePod(member: LocalMember): void {
    rmSync(member.directory, { recursive: true, force: true });
    this.startData(member);
    this.startSentinel(member);
  }

  /** The member holding the primary now, by what the Sentinels say (the first that answers). */
  async primary(): Promise<LocalMember> {
    for (const member of this.members) {
      const host = await this.askSentinel(member).catch(() => undefined);
      const found = this.members.find((candidate) => candidate.host === host);
      if (found) return found;
    }
    throw new Error('no Sentinel names a primary');
  }

  /** Waits until a Sentinel names a primary other than `old`; returns it and the milliseconds waited. */
  async newPrimary(old: LocalMember, timeoutMs = 60_000): Promise<{ primary: LocalMember; waitedMs: number }> {
    const started = Date.now();
    for (;;) {
      for (const member of this.members) {
        if (member === old) continue;
        const host = await this.askSentinel(member).catch(() => undefined);
        const primary = this.members.find((candidate) => candidate.host === host && candidate !== old);
        if (primary) return { primary, waitedMs: Date.now() - started };
      }
      if (Date.now() - started > timeoutMs)
        throw new Error(`no Sentinel named a new primary within ${timeoutMs} ms\n${this.logTails()}`);
      await sleep(100);
    }
  }

  /**
   * Waits until every running Sentinel names the same primary, that primary has a replica on
   * every other running data node, each acknowledging in time (so that min-replicas-to-write
   * counts it), and each Sentinel knows the others.
   */
  async settled(timeoutMs: number): Promise<LocalMember> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      try {
        const running = this.members.filter((member) => member.sentinel?.exitCode === null);
        const named = new Set(await Promise.all(running.map((member) => this.askSentinel(member))));
        const primary = this.members.find((member) => named.size === 1 && named.has(member.host));
        if (primary) {
          const replicas = this.members.filter(
            (member) => member !== primary && member.data?.exitCode === null && member.data.signalCode === null,
          ).length;
          const info = String(await this.command(primary.host, 6379, ['INFO', 'replication']));
          const connected = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? -1);
          const good = Number(/min_slaves_good_slaves:(\d+)/.exec(info)?.[1] ?? -1);
          const others = await Promise.all(
            running.map(
              async (member) =>
                (await this.command(member.host, Defaults.sentinelPort, [
                  'SENTINEL',
                  'SENTINELS',
                  this.synthesized.master,
                ])) as unknown[],
            ),
          );
          const known = await Promise.all(running.map((member) => this.replicasKnown(member)));
          if (
            connected === replicas &&
            good === replicas &&
            others.every((list) => list.length === running.length - 1) &&
            known.every((count) => count === replicas)
          ) {
            return primary;
          }
          last = `primary ${primary.host} has ${connected} of ${replicas} replicas (${good} acknowledging in time); Sentinels know ${others.map((list) => list.length).join(', ')} others and ${known.join(', ')} healthy replicas`;
        } else {
          last = `the Sentinels name ${[...named].join(', ')}`;
        }
      } catch (error) {
        last = String(error);
      }
      if (Date.now() > deadline)
        throw new Error(`the members did not settle within ${timeoutMs} ms: ${last}\n${this.logTails()}`);
      await sleep(200);
    }
  }

  /** Sends one command to a member's data node (6379) or Sentinel (26379), with the password. */
  async command(host: string, port: number, args: string[]): Promise<unknown> {
    const client = createClient({
      socket: { host, port, connectTimeout: 2000, reconnectStrategy: false },
      password: this.synthesized.password,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  /** Kills every process and removes the directories. */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.members
      .flatMap((member) => [member.data, member.sentinel])
      .filter(
        (child): child is ChildProcess => child !== undefined && child.exitCode === null && child.signalCode === null,
      );
    const exited = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(exited);
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The replicas a member's Sentinel knows as healthy ones (flags `slave` only, link to the primary up). */
  private async replicasKnown(member: LocalMember): Promise<number> {
    const replicas = (await this.command(member.host, Defaults.sentinelPort, [
      'SENTINEL',
      'REPLICAS',
      this.synthesized.master,
    ])) as Record<string, string>[];
    return replicas.filter((replica) => replica.flags === 'slave' && replica['master-link-status'] === 'ok').length;
  }

  private async askSentinel(member: LocalMember): Promise<string> {
    const answer = await this.command(member.host, Defaults.sentinelPort, [
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.synthesized.master,
    ]);
    if (!Array.isArray(answer)) throw new Error(`the Sentinel at ${member.host} knows no primary`);
    return String(answer[0]);
  }

  /**
   * Runs a container's command and arguments, its volume (`--dir`, the pod's data volume) mapped to
   * the member's data directory, bound to the member's address.
   */
  private spawn(member: LocalMember, role: 'data' | 'sentinel', container: SynthesizedContainer): ChildProcess {
    const dataDirectory = path.join(member.directory, 'data');
    const env = this.env(member, role);
    for (const directory of [env.CONFIG_DIRECTORY, dataDirectory]) mkdirSync(directory, { recursive: true });
    const log = openSync(path.join(member.directory, `${role}.log`), 'a');
    const args = container.args.map((arg, index) => (container.args[index - 1] === '--dir' ? dataDirectory : arg));
    const [program, ...rest] = [...container.command, ...args, '--bind', member.host];
    const child = spawn(program, rest, { env, cwd: member.directory, stdio: ['ignore', log, log] });
    // As the kubelet restarts a container whose process exited (restartPolicy Always); one the test
    // killed with a signal stays down, as on a lost node, until the test starts it again.
    child.once('exit', (code) => {
      if (code === null || this.stopping || member[role] !== child) return;
      this.restarts.push(`${member.host} ${role} exited with ${code}`);
      setTimeout(() => {
        if (!this.stopping && member[role] === child) member[role] = this.spawn(member, role, container);
      }, RESTART_DELAY_MS);
    });
    return child;
  }

  /** The last lines each member's processes wrote, for a failure's message. */
  logTails(): string {
    return this.members
      .flatMap((member) =>
        ['data', 'sentinel'].map((role) => {
          const file = path.join(member.directory, `${role}.log`);
          const lines = existsSync(file)
            ? readFileSync(file, 'utf8')
                .trimEnd()
                .split('\n')
                .filter((line) => !/overcommit|oO0OoO0OoO0Oo|version=|monotonic clock|Configuration loaded/.test(line))
                .slice(-30)
            : ['(no log)'];
          return `${member.host} ${role}:\n  ${lines.join('\n  ')}`;
        }),
      )
      .join('\n');
  }

  /** The environment a member's container gets: the script's variables with the member's local values. */
  private env(member: LocalMember, role: 'data' | 'sentinel'): Record<string, string> {
    return {
      PATH: [this.family.binDirectory, process.env.PATH ?? '/usr/bin:/bin'].filter(Boolean).join(':'),
      REDIS_NODE: member.host,
      REDIS_NODES: this.members.map((m) => m.host).join(' '),
      REDIS_MASTER_NAME: this.synthesized.master,
      CONFIG_DIRECTORY: path.join(member.directory, `${role}-config`),
      REDIS_PASSWORD: this.synthesized.password,
      REDISCLI_AUTH: this.synthesized.password,
    };
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}
