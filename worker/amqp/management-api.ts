import type { BrokerConfig, ManagementApi } from '../config';
import { Env } from '../../contract';
import type { QueueReplicas } from '../queue';
import { thrownField } from '../thrown';
import { describeCause } from '../unreachable';
import { amqpCredentials } from './connection';

/** `status` waits no longer than this for the management API: it is extra, the counts come by AMQP. */
const TIMEOUT_MS = 2000;

/**
 * A quorum queue's leader and members from RabbitMQ's management API (`GET /api/queues/<vhost>/<name>`),
 * which AMQP does not tell: with BROKER_MANAGEMENT_URL, the user and password of that URL or of BROKER_URL.
 */
export async function readQueueReplicas(broker: BrokerConfig, queue: string): Promise<QueueReplicas> {
  const api = broker.management;
  if (!api) return { unreadable: `${Env.brokerManagementUrl} is not set; the RabbitMQ management API tells them` };
  const url = `${api.url}api/queues/${encodeURIComponent(broker.path)}/${encodeURIComponent(queue)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: basicAuth(api, broker) },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const why =
      thrownField(error, 'name') === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : describeCause(thrownField(error, 'cause') ?? error);
    return { unreadable: `${api.url}: ${why}` };
  }
  if (!response.ok) return { unreadable: `${api.url} answered ${response.status} ${response.statusText}`.trimEnd() };
  const body = (await response.json().catch(() => undefined)) as { leader?: unknown; members?: unknown } | undefined;
  if (typeof body?.leader !== 'string' || !Array.isArray(body.members))
    return { unreadable: `${api.url} names no leader and members of ${queue} (not a quorum queue?)` };
  return { leader: body.leader, members: body.members.map(String).sort() };
}

function basicAuth(api: ManagementApi, broker: BrokerConfig): string {
  const fromBrokerUrl = amqpCredentials(broker);
  const username = api.username ?? fromBrokerUrl.username;
  const password = api.password ?? fromBrokerUrl.password;
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
