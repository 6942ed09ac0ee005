import { imagePullPolicy } from '../../constructs/image-pull-policy';

describe('imagePullPolicy', () => {
  test('IfNotPresent for a fixed tag, also behind a registry with a port, so a locally loaded image runs', () => {
    for (const image of [
      'job-wq:1.2',
      'x:1.2',
      'localhost:5000/x:1.2',
      'registry.example.com:443/team/job-wq:2024-05-01',
      'job-wq:latest-but-fixed',
    ]) {
      expect([image, imagePullPolicy(image)]).toEqual([image, 'IfNotPresent']);
    }
  });

  test('Always for a floating reference: no tag, or latest (the port of a registry is no tag)', () => {
    for (const image of [
      'job-wq',
      'job-wq:latest',
      'localhost:5000/x',
      'localhost:5000/x:latest',
      'registry.example.com:443/team/job-wq',
    ]) {
      expect([image, imagePullPolicy(image)]).toEqual([image, 'Always']);
    }
  });

  test('IfNotPresent for a digest, with or without a tag before it', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    for (const image of [`x@${digest}`, `localhost:5000/x@${digest}`, `job-wq:latest@${digest}`]) {
      expect([image, imagePullPolicy(image)]).toEqual([image, 'IfNotPresent']);
    }
  });
});
