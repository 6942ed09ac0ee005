import { pullPolicy } from './pod';

describe('pullPolicy, with the kubelet defaults', () => {
  test.each([
    ['127.0.0.1:5000/work-queue-stack/worker@sha256:0123', undefined, 'IfNotPresent'],
    ['127.0.0.1:5000/work-queue-stack/worker:e2e', undefined, 'IfNotPresent'],
    ['127.0.0.1:5000/work-queue-stack/worker', undefined, 'Always'],
    ['job-wq:latest', undefined, 'Always'],
    ['job-wq:latest', 'Never', 'Never'],
  ] as const)('%s with imagePullPolicy %s pulls %s', (image, imagePullPolicy, policy) => {
    expect(pullPolicy({ name: 'work-queue', image, imagePullPolicy })).toBe(policy);
  });
});
