import type { IService } from 'kubernetes-models/v1/Service';

/** The names a pod in `namespace` (default: the Service's own) resolves a Service by. */
export function serviceHostNames(service: IService, namespace?: string): string[] {
  const name = service.metadata!.name!;
  const own = service.metadata!.namespace ?? 'default';
  const qualified = [`${name}.${own}`, `${name}.${own}.svc`, `${name}.${own}.svc.cluster.local`];
  return namespace === undefined || namespace === own ? [name, ...qualified] : qualified;
}
