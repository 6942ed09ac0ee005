import { type Duration } from 'cdk8s';

/**
 * A Duration prop as the seconds that manifests and the worker's variables take, fractions kept
 * (`Duration.millis(1500)` is 1.5): the prop's rule decides whether they may be.
 */
export function secondsOf(duration: Duration): number;
export function secondsOf(duration: Duration | undefined): number | undefined;
export function secondsOf(duration: Duration | undefined): number | undefined {
  return duration?.toSeconds({ integral: false });
}

/** How an error names a Duration prop, whose value it shows in seconds: `workTimeout in seconds`. */
export function inSeconds(field: string): string {
  return `${field} in seconds`;
}
