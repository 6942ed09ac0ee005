import { type IConstruct } from 'constructs';
import { fail } from './validate';

/** The Kubernetes release a construct's manifests are written for when its `kubernetesVersion` is not given. */
export const DEFAULT_KUBERNETES_VERSION = '1.33';

/** A Job field that an older API server drops (its feature gate off by default) or rejects. */
export interface JobFeature {
  /** The prop that asks for the field, with its value. @default - none: every such Job uses it */
  readonly prop?: { readonly name: string; readonly value: unknown };
  /** The first minor release of Kubernetes 1 where the field is on by default (beta or GA). */
  readonly since: number;
  /** The field's Kubernetes name and its history, e.g. "backoffLimitPerIndex is beta from 1.29 and GA in 1.33". */
  readonly history: string;
  /** What an older API server does with the Job. */
  readonly olderServer: string;
}

const VERSION = /^v?1\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([-+][0-9A-Za-z.+-]*)?$/;

/**
 * Checks `kubernetesVersion` and that every feature the manifests use is on by default in it: a
 * synth for an older cluster fails with one line rather than writing a Job that its API server
 * rejects or runs without the field.
 */
export function checkKubernetesVersion(
  scope: IConstruct,
  version: string | undefined,
  features: readonly JobFeature[],
): void {
  const given = version ?? DEFAULT_KUBERNETES_VERSION;
  const match = typeof given === 'string' ? VERSION.exec(given) : null;
  if (!match) fail(scope, 'kubernetesVersion', given, 'a Kubernetes version such as "1.31" or "v1.30.4"');
  const minor = Number(match[1]);
  for (const feature of features) {
    if (minor >= feature.since) continue;
    const why = `${feature.history}; an older API server ${feature.olderServer}`;
    if (feature.prop === undefined) fail(scope, 'kubernetesVersion', given, `1.${feature.since} or later: ${why}`);
    fail(
      scope,
      feature.prop.name,
      feature.prop.value,
      `nothing with kubernetesVersion ${given}, or a cluster of 1.${feature.since} or later: ${why}`,
    );
  }
}
