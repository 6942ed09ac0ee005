import { baseImages, nodeMajor } from './dockerfile';

describe('baseImages', () => {
  test('lists external images once, without stage names or scratch, with ARG defaults applied', () => {
    const dockerfile = [
      '# syntax=docker/dockerfile:1',
      'ARG NODE_MAJOR=22',
      'FROM --platform=linux/amd64 node:${NODE_MAJOR}-bookworm-slim AS build',
      'RUN npm ci \\',
      '  && npm run build',
      'FROM build AS test',
      'FROM scratch AS empty',
      'from node:$NODE_MAJOR-bookworm-slim',
      'COPY --from=build /app /app',
    ].join('\n');
    expect(baseImages(dockerfile)).toEqual(['node:22-bookworm-slim']);
  });
});

describe('nodeMajor', () => {
  test.each([
    ['node:22-bookworm-slim', 22],
    ['docker.io/library/node:20', 20],
    ['node:22.11.0-slim', 22],
    ['debian:bookworm-slim', undefined],
    ['node:lts', undefined],
  ])('%s gives %s', (image, major) => {
    expect(nodeMajor(image)).toBe(major);
  });
});
