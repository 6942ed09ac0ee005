/**
 * docs/api is the API reference TypeDoc generates from the TSDoc of the package's entry points
 * (typedoc.json), as `npm run docs:api` writes it from the current source: regenerated into a
 * temporary directory and compared with the committed one file by file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const COMMITTED = 'docs/api';
const TYPEDOC = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** The files under `dir`, as paths relative to it with `/` separators, sorted. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/**
 * How the tree at `committed` (named `label`) differs from the freshly `generated` one: each file
 * that differs, that is missing, or that is no longer generated, one line each.
 */
function staleFiles(generated: string, committed: string, label: string): string[] {
  const generatedFiles = filesUnder(generated);
  const committedFiles = filesUnder(committed);
  const problems: string[] = [];
  for (const file of generatedFiles) {
    if (!committedFiles.includes(file)) problems.push(`${label}/${file}: missing`);
    else if (!fs.readFileSync(path.join(generated, file)).equals(fs.readFileSync(path.join(committed, file))))
      problems.push(`${label}/${file}: differs`);
  }
  for (const file of committedFiles) {
    if (!generatedFiles.includes(file)) problems.push(`${label}/${file}: no longer generated`);
  }
  return problems;
}

/** A temporary directory for the test's duration, removed afterwards. */
function withTemporaryDirectory(use: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-reference-'));
  try {
    use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the API reference (docs/api)', () => {
  test('is what npm run docs:api generates from the current source', () => {
    withTemporaryDirectory((generated) => {
      // The same config as `npm run docs:api` (typedoc.json), only written elsewhere; warnings are the script's to show.
      execFileSync(process.execPath, [TYPEDOC, '--out', generated, '--logLevel', 'Error'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      const stale = staleFiles(generated, path.join(ROOT, COMMITTED), COMMITTED);
      if (stale.length > 0) throw new Error(`${COMMITTED} is stale: run npm run docs:api\n${stale.join('\n')}`);
    });
  }, 180_000);
});

describe('the staleness check itself', () => {
  test('names the files that differ, are missing or are no longer generated', () => {
    withTemporaryDirectory((dir) => {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      };
      write('generated/README.md', 'index');
      write('generated/classes/A.md', 'A, new');
      write('generated/classes/B.md', 'B');
      write('committed/README.md', 'index');
      write('committed/classes/A.md', 'A, old');
      write('committed/classes/C.md', 'C');
      expect(staleFiles(path.join(dir, 'generated'), path.join(dir, 'committed'), 'docs/api')).toEqual([
        'docs/api/classes/A.md: differs',
        'docs/api/classes/B.md: missing',
        'docs/api/classes/C.md: no longer generated',
      ]);
      expect(staleFiles(path.join(dir, 'generated'), path.join(dir, 'generated'), 'docs/api')).toEqual([]);
    });
  });
});
