import { effectiveMaxScale, jobsToCreate, kedaMinor, maxScale, type ScaledJobScaling } from './keda-formula';

const idle = { runningJobCount: 0, pendingJobCount: 0 };

describe("KEDA's maxReplicaCount table (keda-docs 2.16, reference/scaledjob-spec.md), default strategy", () => {
  test.each`
    queueLength | maxReplicaCount | targetAverageValue | runningJobCount | scale
    ${10}       | ${3}            | ${1}               | ${0}            | ${3}
    ${10}       | ${3}            | ${2}               | ${0}            | ${3}
    ${10}       | ${3}            | ${1}               | ${1}            | ${2}
    ${10}       | ${100}          | ${1}               | ${0}            | ${10}
    ${4}        | ${3}            | ${5}               | ${0}            | ${1}
  `(
    'queue length $queueLength, max $maxReplicaCount, target $targetAverageValue, running $runningJobCount: scale $scale',
    ({ queueLength, maxReplicaCount, targetAverageValue, runningJobCount, scale }) => {
      const scaling: ScaledJobScaling = { kedaVersion: '2.16', maxReplicaCount, strategy: 'default' };
      expect(
        jobsToCreate(queueLength, { targetAverageValue, activationValue: 0 }, scaling, {
          runningJobCount,
          pendingJobCount: 0,
        }),
      ).toBe(scale);
    },
  );
});

describe('maxScale', () => {
  test('is the queue length divided by the target, rounded up, at most maxReplicaCount', () => {
    expect(maxScale(9, 10, 3)).toBe(1);
    expect(maxScale(21, 10, 3)).toBe(3);
    expect(maxScale(31, 10, 3)).toBe(3);
    expect(maxScale(0, 1, 3)).toBe(0);
  });
});

describe('scalingStrategy', () => {
  test('default deducts every running Job, pending or not', () => {
    expect(
      effectiveMaxScale({ kedaVersion: '2.16', maxReplicaCount: 5, strategy: 'default' }, 2, {
        runningJobCount: 2,
        pendingJobCount: 1,
      }),
    ).toBe(0);
  });

  test('accurate deducts only pending Jobs while the sum stays within maxReplicaCount', () => {
    // Two Jobs hold their items (unacknowledged, not in the queue length); two items wait, one Job is not up yet.
    expect(
      effectiveMaxScale({ kedaVersion: '2.16', maxReplicaCount: 5, strategy: 'accurate' }, 2, {
        runningJobCount: 2,
        pendingJobCount: 1,
      }),
    ).toBe(1);
  });

  test('accurate fills up to maxReplicaCount once maxScale plus the running Jobs exceed it', () => {
    expect(
      effectiveMaxScale({ kedaVersion: '2.16', maxReplicaCount: 3, strategy: 'accurate' }, 3, {
        runningJobCount: 2,
        pendingJobCount: 0,
      }),
    ).toBe(1);
    expect(
      effectiveMaxScale({ kedaVersion: '2.16', maxReplicaCount: 3, strategy: 'accurate' }, 3, {
        runningJobCount: 3,
        pendingJobCount: 0,
      }),
    ).toBe(0);
  });

  // KEDA's own TestAccurateScalingStrategy (pkg/scaling/executor/scale_jobs_test.go at 576a714): GetEffectiveMaxScale(maxScale, running, pending, maxReplicaCount).
  test.each`
    maxScaleValue | running | pending | maxReplicaCount | v216 | v219
    ${3}          | ${2}    | ${0}    | ${5}            | ${3} | ${3}
    ${5}          | ${2}    | ${0}    | ${5}            | ${3} | ${3}
    ${3}          | ${4}    | ${2}    | ${10}           | ${1} | ${1}
    ${5}          | ${4}    | ${2}    | ${5}            | ${1} | ${1}
    ${3}          | ${3}    | ${3}    | ${5}            | ${2} | ${0}
    ${15}         | ${15}   | ${15}   | ${20}           | ${5} | ${0}
    ${10}         | ${10}   | ${10}   | ${15}           | ${5} | ${0}
    ${20}         | ${15}   | ${10}   | ${20}           | ${5} | ${5}
  `(
    'accurate with maxScale $maxScaleValue, $running running of which $pending pending, max $maxReplicaCount: $v216 in 2.16, $v219 in 2.19',
    ({ maxScaleValue, running, pending, maxReplicaCount, v216, v219 }) => {
      const jobs = { runningJobCount: running, pendingJobCount: pending };
      expect(
        effectiveMaxScale({ kedaVersion: '2.16', maxReplicaCount, strategy: 'accurate' }, maxScaleValue, jobs),
      ).toBe(v216);
      expect(
        effectiveMaxScale({ kedaVersion: '2.18', maxReplicaCount, strategy: 'accurate' }, maxScaleValue, jobs),
      ).toBe(v216);
      expect(
        effectiveMaxScale({ kedaVersion: '2.19', maxReplicaCount, strategy: 'accurate' }, maxScaleValue, jobs),
      ).toBe(v219);
      expect(
        effectiveMaxScale({ kedaVersion: '2.20', maxReplicaCount, strategy: 'accurate' }, maxScaleValue, jobs),
      ).toBe(v219);
    },
  );

  test('accurate, two Jobs pending and two messages ready under maxReplicaCount 3: 2.16 creates one more Job, 2.19 none (kedacore/keda#7329)', () => {
    const trigger = { targetAverageValue: 1, activationValue: 0 };
    const pending = { runningJobCount: 2, pendingJobCount: 2 };
    expect(jobsToCreate(2, trigger, { kedaVersion: '2.16', maxReplicaCount: 3, strategy: 'accurate' }, pending)).toBe(
      1,
    );
    expect(jobsToCreate(2, trigger, { kedaVersion: '2.19', maxReplicaCount: 3, strategy: 'accurate' }, pending)).toBe(
      0,
    );
  });

  test('fails for a KEDA version before 2.16', () => {
    expect(() => kedaMinor('2.15')).toThrow('KEDA 2.15: the emulator models 2.16 and later');
    expect(kedaMinor('2.19')).toBe(19);
  });

  test('custom deducts customScalingQueueLengthDeduction and the given share of running Jobs, at most maxReplicaCount', () => {
    const custom: ScaledJobScaling = {
      kedaVersion: '2.16',
      maxReplicaCount: 100,
      strategy: 'custom',
      customScalingQueueLengthDeduction: 1,
      customScalingRunningJobPercentage: 0.5,
    };
    expect(effectiveMaxScale(custom, 10, { runningJobCount: 3, pendingJobCount: 0 })).toBe(8);
    expect(effectiveMaxScale({ ...custom, maxReplicaCount: 4 }, 10, idle)).toBe(4);
  });
});

describe('jobsToCreate', () => {
  const scaling: ScaledJobScaling = { kedaVersion: '2.16', maxReplicaCount: 3, strategy: 'default' };

  test('creates none while the queue is not longer than the activation value', () => {
    expect(jobsToCreate(0, { targetAverageValue: 1, activationValue: 0 }, scaling, idle)).toBe(0);
    expect(jobsToCreate(2, { targetAverageValue: 1, activationValue: 2 }, scaling, idle)).toBe(0);
    expect(jobsToCreate(3, { targetAverageValue: 1, activationValue: 2 }, scaling, idle)).toBe(3);
  });

  test('creates at most scaleTo, the queue length rounded up (createJobs), when the target is below 1', () => {
    expect(jobsToCreate(2, { targetAverageValue: 0.5, activationValue: 0 }, scaling, idle)).toBe(2);
  });

  test('never creates a negative number of Jobs', () => {
    expect(
      jobsToCreate(1, { targetAverageValue: 1, activationValue: 0 }, scaling, {
        runningJobCount: 3,
        pendingJobCount: 0,
      }),
    ).toBe(0);
  });
});
