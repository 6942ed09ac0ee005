import * as kplus from 'cdk8s-plus-28';

/**
 * The pull policy of an image reference: `IfNotPresent` for a digest and for a fixed tag, so an
 * image loaded onto the nodes (`kind load docker-image`) runs without a registry; `Always` for a
 * floating reference, no tag or `latest`, which may have been pushed again (as Kubernetes defaults).
 */
export function imagePullPolicy(image: string): kplus.ImagePullPolicy {
  if (image.includes('@')) return kplus.ImagePullPolicy.IF_NOT_PRESENT;
  const tag = imageTag(image);
  return tag === undefined || tag === 'latest' ? kplus.ImagePullPolicy.ALWAYS : kplus.ImagePullPolicy.IF_NOT_PRESENT;
}

/** The tag of a reference without digest: after the last `:` of the last path part (a registry's `:port` is not one). */
function imageTag(image: string): string | undefined {
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.indexOf(':');
  return colon === -1 ? undefined : lastPart.slice(colon + 1);
}
