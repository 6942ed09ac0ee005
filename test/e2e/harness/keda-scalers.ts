/**
 * The queue length of a ScaledJob trigger, read the way KEDA's scaler for it reads it:
 * `rabbitmq` over AMQP declares the queue passively and takes its message count (ready messages
 * only: those a worker holds unacknowledged are not counted); `redis` takes LLEN of the list.
 * Credentials come from the trigger's TriggerAuthentication, resolved from the stack's Secrets, as
 * KEDA resolves them. A setting KEDA would honour and this module does not model is an error, never ignored.
 */
import { connect as connectAmqp } from 'amqplib';
import { createClient } from 'redis';
import { findObject, type KubeObject, objectSource, secretValue } from './manifests';
import type { TriggerTarget } from './keda-formula';

/** A trigger of a ScaledJob (keda.sh/v1alpha1 ScaleTriggers). */
export interface ScaleTrigger {
  readonly type: string;
  readonly metadata: Partial<Record<string, string>>;
  readonly authenticationRef?: { readonly name: string; readonly kind?: string };
}

/** A TriggerAuthentication (keda.sh/v1alpha1), as far as the emulation reads it. */
interface TriggerAuthentication extends KubeObject {
  readonly spec: {
    readonly secretTargetRef?: { parameter: string; name: string; key: string }[];
    readonly [other: string]: unknown;
  };
}

export interface Scaler {
  readonly target: TriggerTarget;
  queueLength(): Promise<number>;
  close(): Promise<void>;
}

export interface ScalerContext {
  /** The stack's objects: TriggerAuthentications and the Secrets they read. */
  readonly objects: KubeObject[];
  /** The address a host name of the trigger leads to; throws for a name KEDA's operator could not resolve. */
  resolveHost(host: string): string;
}

/** The broker host a trigger names (rabbitmq: of `host`; redis: of `address`). */
export function triggerHost(trigger: ScaleTrigger): string {
  if (trigger.type === 'rabbitmq') return new URL(required(trigger, 'host')).hostname;
  if (trigger.type === 'redis') return splitAddress(required(trigger, 'address')).host;
  throw new Error(`trigger type ${trigger.type} is not emulated (rabbitmq and redis are)`);
}

/** Connects to the trigger's broker as KEDA's scaler does; the caller closes the scaler. */
export function openScaler(trigger: ScaleTrigger, context: ScalerContext): Promise<Scaler> {
  if (trigger.type === 'rabbitmq') return openRabbitMqScaler(trigger, context);
  if (trigger.type === 'redis') return openRedisScaler(trigger, context);
  throw new Error(`trigger type ${trigger.type} is not emulated (rabbitmq and redis are)`);
}

async function openRabbitMqScaler(trigger: ScaleTrigger, context: ScalerContext): Promise<Scaler> {
  onlyKnown(trigger, ['host', 'protocol', 'queueName', 'mode', 'value', 'activationValue', 'vhostName']);
  const url = new URL(required(trigger, 'host'));
  const protocol = trigger.metadata.protocol ?? 'auto';
  if (url.protocol !== 'amqp:' || (protocol !== 'amqp' && protocol !== 'auto')) {
    throw new Error(
      `rabbitmq trigger: only protocol amqp with an amqp:// host is emulated, got protocol ${protocol} and ${url.protocol}//`,
    );
  }
  if (trigger.metadata.mode !== 'QueueLength')
    throw new Error(`rabbitmq trigger: only mode QueueLength is emulated, got ${String(trigger.metadata.mode)}`);
  const auth = authParams(trigger, context.objects, ['username', 'password']);
  const queueName = required(trigger, 'queueName');
  // KEDA's AMQP client (amqp091-go) takes the vhost from the path, "/" when there is none; username
  // and password from the TriggerAuthentication replace those of the host URL, guest:guest by default.
  const connection = await connectAmqp({
    protocol: 'amqp',
    hostname: context.resolveHost(url.hostname),
    port: Number(url.port || 5672),
    vhost: trigger.metadata.vhostName ?? (url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/'),
    username: auth.username ?? (decodeURIComponent(url.username) || 'guest'),
    password: auth.password ?? (decodeURIComponent(url.password) || 'guest'),
  });
  const channel = await connection.createChannel();
  return {
    target: { targetAverageValue: number(trigger, 'value'), activationValue: number(trigger, 'activationValue', 0) },
    // QueueDeclarePassive: the message count of the declare-ok, which counts ready messages only.
    queueLength: async () => (await channel.checkQueue(queueName)).messageCount,
    close: () => connection.close(),
  };
}

async function openRedisScaler(trigger: ScaleTrigger, context: ScalerContext): Promise<Scaler> {
  onlyKnown(trigger, ['address', 'listName', 'listLength', 'activationListLength', 'databaseIndex', 'enableTLS']);
  if ((trigger.metadata.enableTLS ?? 'false') !== 'false') throw new Error('redis trigger: enableTLS is not emulated');
  const auth = authParams(trigger, context.objects, ['username', 'password']);
  const { host, port } = splitAddress(required(trigger, 'address'));
  const listName = required(trigger, 'listName');
  const client = createClient({
    socket: { host: context.resolveHost(host), port },
    database: number(trigger, 'databaseIndex', 0),
    username: auth.username,
    password: auth.password,
  });
  client.on('error', () => undefined); // a failed command rejects; the emulator reports that
  await client.connect();
  return {
    // KEDA's defaults: listLength 5, activationListLength 0.
    target: {
      targetAverageValue: number(trigger, 'listLength', 5),
      activationValue: number(trigger, 'activationListLength', 0),
    },
    queueLength: () => client.lLen(listName),
    close: async () => {
      await client.quit();
    },
  };
}

/** The trigger's authentication parameters from its TriggerAuthentication's `secretTargetRef`s. */
function authParams(trigger: ScaleTrigger, objects: KubeObject[], known: string[]): Record<string, string | undefined> {
  const ref = trigger.authenticationRef;
  if (!ref) return {};
  if ((ref.kind ?? 'TriggerAuthentication') !== 'TriggerAuthentication')
    throw new Error(`${trigger.type} trigger: authenticationRef kind ${String(ref.kind)} is not emulated`);
  const authentication = findObject(objects, 'TriggerAuthentication', ref.name) as TriggerAuthentication | undefined;
  if (!authentication)
    throw new Error(`${trigger.type} trigger: TriggerAuthentication ${ref.name} is not in the synthesized manifests`);
  const { secretTargetRef = [], ...others } = authentication.spec;
  if (Object.keys(others).length > 0)
    throw new Error(
      `TriggerAuthentication ${ref.name}: only secretTargetRef is emulated, got ${Object.keys(others).join(', ')}`,
    );
  const secrets = objectSource(objects);
  const params: Record<string, string | undefined> = {};
  for (const { parameter, name, key } of secretTargetRef) {
    if (!known.includes(parameter))
      throw new Error(
        `TriggerAuthentication ${ref.name}: parameter ${parameter} of a ${trigger.type} trigger is not emulated`,
      );
    const value = secretValue(secrets, name, key);
    if (value === undefined)
      throw new Error(
        `TriggerAuthentication ${ref.name}: Secret ${name} has no key ${key} in the synthesized manifests`,
      );
    params[parameter] = value;
  }
  return params;
}

function onlyKnown(trigger: ScaleTrigger, known: string[]): void {
  const unknown = Object.keys(trigger.metadata).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`${trigger.type} trigger: metadata ${unknown.join(', ')} is not emulated`);
}

function required(trigger: ScaleTrigger, key: string): string {
  const value = trigger.metadata[key];
  if (value === undefined) throw new Error(`${trigger.type} trigger: metadata.${key} is missing`);
  return value;
}

function number(trigger: ScaleTrigger, key: string, fallback?: number): number {
  const text = trigger.metadata[key];
  const value = text === undefined ? fallback : Number(text);
  if (value === undefined || !Number.isFinite(value))
    throw new Error(`${trigger.type} trigger: metadata.${key} is ${JSON.stringify(text)}, not a number`);
  return value;
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(address);
  if (!match) throw new Error(`redis trigger: address ${JSON.stringify(address)} is not host:port`);
  return { host: match[1], port: Number(match[2]) };
}
