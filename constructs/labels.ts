/** The recommended `app.kubernetes.io` labels for a part of the stack. */
export function appLabels(name: string, instance: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'work-queue-stack',
  };
}
