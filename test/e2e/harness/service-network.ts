/**
 * The broker Services of one cluster as its pods (and KEDA's operator) reach them: every Service
 * gets a loopback address of its own, which its names resolve to (service-hosts.ts) and where its
 * gate (service-gate.ts) opens once a booted StatefulSet in its namespace matches its selector.
 * Until then connections to it are refused, as when a Service has no ready endpoints.
 */
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import { type BackendPort, gatePorts, ServiceGate } from './service-gate';
import { serviceHostNames } from './service-hosts';

/** A line of a pod's /etc/hosts. */
export interface HostEntry {
  readonly name: string;
  readonly address: string;
}

export interface ServiceNetworkOptions {
  /** Where a broker's container port leads on 127.0.0.1 (the broker generation's ports). @default the container port itself */
  readonly backendPort?: BackendPort;
}

interface Entry {
  service: IService;
  readonly gate: ServiceGate;
}

export class ServiceNetwork {
  private readonly entries = new Map<string, Entry>();
  private readonly openings: Promise<void>[] = [];
  /** 127.1.<n>.<service>: a block of this cluster's own (a random n keeps a cluster left open by a failed test out of the way). */
  private readonly prefix = `127.1.${1 + Math.floor(Math.random() * 254)}.`;
  private readonly backendPort: BackendPort;

  constructor(options: ServiceNetworkOptions = {}) {
    this.backendPort = options.backendPort ?? ((containerPort) => containerPort);
  }

  /** Records a Service the store holds (created or updated); its address stays the same. */
  add(service: IService): void {
    const key = keyOf(service);
    const entry = this.entries.get(key);
    if (entry) entry.service = service;
    else {
      if (this.entries.size >= 254) throw new Error('the e2e harness gives a cluster at most 254 Services');
      this.entries.set(key, { service, gate: new ServiceGate(key, `${this.prefix}${this.entries.size + 1}`) });
    }
  }

  /** Every Service's names as a pod of `namespace` resolves them, each to its Service's address. */
  hosts(namespace: string): HostEntry[] {
    return [...this.entries.values()].flatMap(({ service, gate }) =>
      serviceHostNames(service, namespace).map((name) => ({ name, address: gate.address })),
    );
  }

  /** The address `host` resolves to from `namespace`, if it names a Service. */
  resolve(host: string, namespace: string): string | undefined {
    return this.hosts(namespace).find((entry) => entry.name === host)?.address;
  }

  /** Opens the gate of every Service that selects one of the booted StatefulSets' pods. */
  open(booted: readonly IStatefulSet[]): void {
    for (const { service, gate } of this.entries.values()) {
      if (gate.isOpen) continue;
      const backend = booted.find((set) => selects(service, set));
      if (!backend) continue;
      const opening = gate.open(gatePorts(service, backend.spec!.template.spec!.containers, this.backendPort));
      opening.catch(() => undefined); // awaited by opened()
      this.openings.push(opening);
    }
  }

  /** Resolves once every gate opened so far listens (rejects if one could not). */
  async opened(): Promise<void> {
    await Promise.all(this.openings);
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.values()].map(({ gate }) => gate.close()));
  }
}

function keyOf(object: IService | IStatefulSet): string {
  return `${object.metadata!.namespace ?? 'default'}/${String(object.metadata!.name)}`;
}

/** Whether the Service's selector matches the StatefulSet's pods (same namespace, every selector label on the pod template). */
function selects(service: IService, set: IStatefulSet): boolean {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return false;
  if ((service.metadata!.namespace ?? 'default') !== (set.metadata!.namespace ?? 'default')) return false;
  const labels = set.spec?.template.metadata?.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
