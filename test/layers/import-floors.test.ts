/**
 * The floors of eslint.config.mjs hold: contract/ is the ground floor, constructs and stacks never
 * import the worker, the worker never imports them. Each case lints a real file of a floor with
 * one forbidden import added, as `npm run lint` would see it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Lints each file with its extra import in one child process (jest's module loader cannot load
 * ESLint's ES-module config); returns the problems of each, as `<rule>: <message>`.
 */
function problemsWith(cases: ReadonlyArray<readonly [file: string, extraImport: string]>): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const { readFileSync } = require('node:fs');
    const { join } = require('node:path');
    const eslint = new ESLint({ cwd: process.cwd() });
    (async () => {
      const results = [];
      for (const [file, extra] of JSON.parse(process.argv[1])) {
        const text = readFileSync(file, 'utf8') + '\\n' + extra + '\\n';
        const [result] = await eslint.lintText(text, { filePath: join(process.cwd(), file) });
        results.push(result.messages.map((m) => (m.ruleId ?? '') + ': ' + m.message));
      }
      process.stdout.write(JSON.stringify(results));
    })();`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script, JSON.stringify(cases)], { cwd: ROOT, encoding: 'utf8' }),
  ) as string[][];
}

/** [file, module it imports, the rule that must refuse it] */
const forbidden: Array<[string, string, string]> = [
  ['constructs/labels.ts', '../worker/sleep', 'import-x/no-restricted-paths'],
  ['stacks/main.ts', '../worker/sleep', 'import-x/no-restricted-paths'],
  ['worker/sleep.ts', '../constructs/labels', 'import-x/no-restricted-paths'],
  ['worker/sleep.ts', '../stacks/config', 'import-x/no-restricted-paths'],
  ['contract/items.ts', '../worker/sleep', 'import-x/no-restricted-paths'],
  ['contract/items.ts', 'cdk8s', 'no-restricted-imports'],
];

const importing = (module: string) =>
  `import * as imported from '${module}';\nexport const importedForTheTest = imported;`;

const allowed = ['constructs/labels.ts', 'worker/sleep.ts', 'stacks/main.ts'].map(
  (file) => [file, importing('../contract')] as const,
);

describe('import floors', () => {
  let forbiddenProblems: string[][];
  let allowedProblems: string[][];
  beforeAll(() => {
    const problems = problemsWith([
      ...forbidden.map(([file, module]) => [file, importing(module)] as const),
      ...allowed,
    ]);
    forbiddenProblems = problems.slice(0, forbidden.length);
    allowedProblems = problems.slice(forbidden.length);
  }, 120_000);

  it.each(forbidden.map((entry, index) => [...entry, index] as const))(
    'fails %s importing %s',
    (_file, _module, rule, index) => {
      expect(forbiddenProblems[index].filter((problem) => problem.startsWith(`${rule}:`))).not.toHaveLength(0);
    },
  );

  it.each(allowed.map(([file], index) => [file, index] as const))('lets %s import the contract', (_file, index) => {
    expect(allowedProblems[index]).toEqual([]);
  });
});
