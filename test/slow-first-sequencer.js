const Sequencer = require('@jest/test-sequencer').default;

/**
 * Folders whose suites take minutes each (local RabbitMQ clusters and Sentinels, synth and the
 * Pulumi mocks, npm pack and installs), in the order they start. Jest orders by the durations of
 * earlier runs, which a clean clone (CI) does not have: it then goes by file size, and a
 * two-minute suite started last leaves one worker alone at the end of the run.
 */
const SLOW_FIRST = ['/test/cluster/', '/test/stacks/', '/test/package/'];

function rank(test) {
  const index = SLOW_FIRST.findIndex((folder) => test.path.includes(folder));
  return index === -1 ? SLOW_FIRST.length : index;
}

/** Jest's own order (slowest or failed first, by its cache), with the known-slow folders ahead of it. */
class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const known = super.sort(tests);
    return known
      .map((test, position) => ({ test, position }))
      .sort((a, b) => rank(a.test) - rank(b.test) || a.position - b.position)
      .map(({ test }) => test);
  }
}

module.exports = SlowFirstSequencer;
