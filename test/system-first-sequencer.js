const Sequencer = require('@jest/test-sequencer').default;

/**
 * The system suites (test/cluster, test/package: local clusters and Sentinels, npm pack and
 * installs) start first, the rest in jest's own order. On a clean clone (CI) jest has no durations
 * of earlier runs and goes by file size, which starts `rabbitmq-cluster-4.0.test.ts` (a few lines
 * that call the shared suite, 75 s) last, alone on one worker at the end of the run.
 */
const SYSTEM = /\/test\/(cluster|package)\//;

class SystemFirstSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    return [...ordered.filter((test) => SYSTEM.test(test.path)), ...ordered.filter((test) => !SYSTEM.test(test.path))];
  }
}

module.exports = SystemFirstSequencer;
