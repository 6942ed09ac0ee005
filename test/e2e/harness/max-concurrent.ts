/** The largest number of pods (or Jobs) that ran at the same time; each must have finished. */
export function maxConcurrent(runs: readonly { startedAt: number; finishedAt: number }[]): number {
  const events = runs.flatMap((run) => [
    { at: run.startedAt, change: 1 },
    { at: run.finishedAt, change: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.change - b.change); // an end before a start at the same instant
  let running = 0;
  let most = 0;
  for (const event of events) most = Math.max(most, (running += event.change));
  return most;
}
