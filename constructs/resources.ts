import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/** CPU in millicores and memory in MiB, as a request and a limit. */
export interface ResourceBudget {
  readonly cpuMillis: { readonly request: number; readonly limit: number };
  readonly memoryMiB: { readonly request: number; readonly limit: number };
}

/** Container resources from a budget; the defaults of every container we synthesize are written this way. */
export function containerResources(budget: ResourceBudget): kplus.ContainerResources {
  return {
    cpu: { request: cpu(budget.cpuMillis.request), limit: cpu(budget.cpuMillis.limit) },
    memory: { request: Size.mebibytes(budget.memoryMiB.request), limit: Size.mebibytes(budget.memoryMiB.limit) },
  };
}

/** Whole cores as `1`, the rest in millicores. */
function cpu(millis: number): kplus.Cpu {
  return millis % 1000 === 0 ? kplus.Cpu.units(millis / 1000) : kplus.Cpu.millis(millis);
}
