/**
 * The Node.js versions the README names for developing the repository (its Prerequisites row for
 * `npm ci`) are ones every package `npm ci` installs declares it runs on: package-lock.json's
 * `engines.node` of each, read offline. A dependency that raises its floor fails this test before
 * `npm ci` warns EBADENGINE to someone who followed the README.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as semver from 'semver';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The range in the first code span of the README's Prerequisites row about `npm ci` (`\|` in a table cell is a `|`). */
function documentedDevRange(readme: string): string {
  const row = readme.split('\n').find((line) => line.startsWith('|') && line.split(' | ')[0].includes('`npm ci`'));
  if (!row) throw new Error('README.md has no Prerequisites row whose first cell names `npm ci`');
  const span = /`((?:[^`\\]|\\.)+)`/.exec(row.split(' | ').slice(1).join(' | '));
  if (!span) throw new Error(`README.md's row "${row}" names no Node.js range in a code span`);
  const range = span[1].replace(/\\\|/g, '|');
  if (!semver.validRange(range))
    throw new Error(`README.md's row "${row}": got "${range}", expected a semver range of Node.js versions`);
  return range;
}

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

test('every package npm ci installs declares an engines.node that admits the Node.js versions the README names for development', () => {
  const documented = documentedDevRange(read('README.md'));
  const packages: Record<string, LockedPackage> = JSON.parse(read('package-lock.json')).packages;
  const refusing = Object.entries(packages)
    .filter(([location]) => location !== '')
    .map(([location, locked]) => ({
      location,
      version: locked.version,
      node: Array.isArray(locked.engines) ? undefined : locked.engines?.node,
    }))
    .filter(({ node }) => node !== undefined && !semver.subset(documented, node))
    .map(
      ({ location, version, node }) =>
        `${location.replace(/^.*node_modules\//, '')}@${String(version)} wants node ${String(node)}`,
    );
  expect({ documented, refusing }).toEqual({ documented, refusing: [] });
});
