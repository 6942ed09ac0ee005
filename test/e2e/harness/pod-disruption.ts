/**
 * What takes a Job's pod away besides its own exit, as the cluster does it, and the
 * `DisruptionTarget` condition each way leaves on the pod (reasons from k8s.io/api core/v1
 * types.go, PodReason*; the pod-disruption docs, "Pod disruption conditions"):
 *
 * - the Eviction API (`kubectl drain`, the cluster autoscaler): the API server's eviction
 *   subresource (pkg/registry/core/pod/storage/eviction.go) adds `DisruptionTarget`, reason
 *   `EvictionByEvictionAPI`, and deletes the pod with the eviction's grace period, the pod's
 *   `terminationGracePeriodSeconds` by default; the kubelet sends SIGTERM, then SIGKILL when the
 *   grace period is over, and since 1.27 gives the pod a terminal phase before it goes: Succeeded
 *   when its container exited 0, Failed otherwise (the pod-lifecycle docs, "Pod phase").
 * - node-pressure eviction by the kubelet (pkg/kubelet/eviction/eviction_manager.go, synchronize
 *   and evictPod): `DisruptionTarget`, reason `TerminationByKubelet`, the pod killed with a
 *   grace-period override (immediateEvictionGracePeriodSeconds = 1 for a hard threshold) and its
 *   phase set to Failed whatever the exit code; the pod is not deleted, so it stays active for the
 *   Job controller until it is Failed.
 * - a lost node: its containers die with it, unseen; the pod keeps its last status (Running, so
 *   still active for the Job controller) until the pod garbage collector, once the Node object is
 *   gone and after its 40 s quarantine, marks it Failed with `DisruptionTarget`, reason
 *   `DeletionByPodGC`, and force-deletes it (pkg/controller/podgc/gc_controller.go, gcOrphaned,
 *   markFailedAndDeletePodWithCondition).
 */

/** The reason of a pod's DisruptionTarget condition. */
export type DisruptionReason = 'EvictionByEvictionAPI' | 'TerminationByKubelet' | 'DeletionByPodGC';

export interface PodCondition {
  readonly type: 'DisruptionTarget';
  readonly status: 'True';
  readonly reason: DisruptionReason;
  /** When it was added (ms since the epoch). */
  readonly at: number;
}

export type Disruption =
  /** Deleted with that grace period (seconds), the pod's terminationGracePeriodSeconds when unset. */
  | { readonly reason: 'EvictionByEvictionAPI'; readonly gracePeriodSeconds?: number }
  /** Killed with that grace period (seconds), 1 by default (a hard eviction threshold). */
  | { readonly reason: 'TerminationByKubelet'; readonly gracePeriodSeconds?: number }
  /** The node is lost now; the pod garbage collector marks the pod Failed `podGcAfterMs` later. */
  | { readonly reason: 'DeletionByPodGC'; readonly podGcAfterMs?: number };

/** The kubelet's grace-period override for a hard eviction threshold (immediateEvictionGracePeriodSeconds). */
export const KUBELET_EVICTION_GRACE_SECONDS = 1;

type Listener = (podName: string, disruption: Disruption) => boolean;

/**
 * Where a test disrupts the pods of a Job: the Job controller (runJob's `disruptions` option)
 * listens and applies each disruption to its pod. A disruption of a pod that no Job runs, or of
 * one that is no longer running, fails, as the Eviction API answers 404 or 429.
 */
export class PodDisruptions {
  private readonly listeners = new Set<Listener>();

  /** The Eviction API (`kubectl drain`): DisruptionTarget, then a graceful delete. */
  evict(podName: string, gracePeriodSeconds?: number): void {
    this.emit(podName, { reason: 'EvictionByEvictionAPI', gracePeriodSeconds });
  }

  /** Node-pressure eviction by the kubelet: DisruptionTarget, SIGTERM, SIGKILL after `gracePeriodSeconds`, phase Failed. */
  evictByKubelet(podName: string, gracePeriodSeconds = KUBELET_EVICTION_GRACE_SECONDS): void {
    this.emit(podName, { reason: 'TerminationByKubelet', gracePeriodSeconds });
  }

  /** The node of these pods is lost: their containers die now, the pod garbage collector fails the pods `podGcAfterMs` later. */
  loseNode(podNames: readonly string[], podGcAfterMs = 0): void {
    for (const name of podNames) this.emit(name, { reason: 'DeletionByPodGC', podGcAfterMs });
  }

  /** Called by the Job controller; the listener answers whether the pod was its and still running. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(podName: string, disruption: Disruption): void {
    const taken = [...this.listeners].some((listener) => listener(podName, disruption));
    if (!taken)
      throw new Error(`pod ${podName} is not a running pod of any Job: it cannot be disrupted (${disruption.reason})`);
  }
}
