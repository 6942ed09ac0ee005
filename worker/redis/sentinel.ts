import { isIP } from 'node:net';
import type { SentinelConfig } from '../config';
import { ConnectDeadlineError } from '../reconnect';
import { type RedisAddress, RedisLink } from './client';
import { ErrorReply } from './node-redis';
import { oneOf, shownReply, text, tuple, UnexpectedReplyError } from './reply';

/**
 * How long one Sentinel may take to connect and answer before the next is asked: a Sentinel that
 * is down or silent must not use up the whole attempt while the others could answer.
 */
const SENTINEL_ANSWER_MS = 2000;

/** No Sentinel asked knew a primary by the master name (all are starting, or the name is wrong). */
export class NoPrimaryKnownError extends Error {}

/** The node Sentinel named is not (or no longer) the primary: a failover is under way. */
export class NotPrimaryError extends Error {}

/** A Sentinel's answer for the master: its host and port. */
const masterAddress = tuple(text, text);
/** The first element of ROLE's reply. */
const role = oneOf('master', 'slave', 'sentinel');

/**
 * The primary of a replicated Redis, found as Redis' Sentinel client guidelines describe: each
 * Sentinel is asked in turn (SENTINEL GET-MASTER-ADDR-BY-NAME); the first that answers is asked
 * first next time; the node it names must say it is the primary (ROLE) before it is used. Sentinel
 * and data nodes take the same credentials and TLS settings.
 */
export class SentinelPrimary {
  private readonly sentinels: RedisAddress[];

  constructor(
    private readonly config: SentinelConfig,
    private readonly address: Omit<RedisAddress, 'host' | 'port'>,
  ) {
    this.sentinels = config.nodes.map(({ host, port }) => this.at(host, port, 0));
  }

  /** Connects to the primary the Sentinels name now; throws when none names one or it is not the primary. */
  async connect(signal: AbortSignal): Promise<RedisLink> {
    const { host, port } = await this.find(signal);
    const link = await RedisLink.open(this.at(host, port, this.address.database), signal);
    try {
      const answer = await link.send(['ROLE']);
      const current = role(Array.isArray(answer) ? answer[0] : answer, 'ROLE[0]');
      if (current !== 'master')
        throw new NotPrimaryError(
          `${host}:${port}, which Sentinel names the primary of ${this.config.master}, is a ${current}`,
        );
      return link;
    } catch (error) {
      throw link.fail(error as Error);
    }
  }

  /** Asks each Sentinel in turn; the first to name a primary is asked first from then on. */
  private async find(signal: AbortSignal): Promise<{ host: string; port: number }> {
    let firstError: unknown;
    for (const sentinel of [...this.sentinels]) {
      try {
        const primary = await this.ask(sentinel, signal);
        this.sentinels.splice(this.sentinels.indexOf(sentinel), 1);
        this.sentinels.unshift(sentinel);
        return primary;
      } catch (error) {
        // Refused credentials, or the attempt itself ended: no other Sentinel would change that.
        if (error instanceof ErrorReply || signal.aborted) throw error;
        firstError ??= error;
      }
    }
    throw firstError;
  }

  private async ask(sentinel: RedisAddress, signal: AbortSignal): Promise<{ host: string; port: number }> {
    const silent = new AbortController();
    const timer = setTimeout(() => silent.abort(new ConnectDeadlineError(SENTINEL_ANSWER_MS)), SENTINEL_ANSWER_MS);
    const stop = AbortSignal.any([signal, silent.signal]);
    let link: RedisLink | undefined;
    const onStop = () => link?.fail(stop.reason as Error);
    stop.addEventListener('abort', onStop, { once: true });
    try {
      link = await RedisLink.open(sentinel, stop);
      const answer = await link.send(
        ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.config.master],
        'SENTINEL GET-MASTER-ADDR-BY-NAME',
      );
      if (answer === null)
        throw new NoPrimaryKnownError(
          `the Sentinel at ${sentinel.host}:${sentinel.port} knows no primary named ${this.config.master}`,
        );
      const [host, port] = masterAddress(answer, 'the master address');
      if (!/^\d+$/.test(port))
        throw new UnexpectedReplyError(
          `the Sentinel at ${sentinel.host}:${sentinel.port} named ${shownReply(answer)} as the primary, not a host and port`,
        );
      return { host, port: Number(port) };
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      await link?.close().catch(() => undefined);
    }
  }

  private at(host: string, port: number, database: number): RedisAddress {
    const tls = this.address.tls ? { servername: isIP(host) ? undefined : host } : undefined;
    return { ...this.address, host, port, database, tls };
  }
}
