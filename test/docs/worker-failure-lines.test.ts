/**
 * The worker's failure lines that docs/pulumi.md shows (a failed Job's last log lines) are the ones
 * the worker prints: its prefix, and for a bad-input line `FIELD: got VALUE, expected WHAT` the very
 * text the worker bundle prints for that input, up to the `...` where the doc cuts it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../worker/helpers';

const DOC = 'docs/pulumi.md';
const markdown = readFileSync(path.resolve(__dirname, '..', '..', DOC), 'utf8');

/** Lines inside fenced code blocks that are the worker's own output: they start with `work-queue` and a colon follows its first word(s). */
function documentedWorkerLines(text: string): string[] {
  const fenced = [...text.matchAll(/^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```[ \t]*$/gm)].flatMap((match) =>
    match[1].split('\n'),
  );
  return fenced.map((line) => line.trim()).filter((line) => /^work-queue\b[^:]*: /.test(line));
}

/** A valid environment for `work` apart from the field under test; the broker is never reached, bad input is refused first. */
const VALID_ENV: Record<string, string> = { BROKER_URL: 'redis://127.0.0.1:1', QUEUE: 'jobs' };

const lines = documentedWorkerLines(markdown);

test(`${DOC} shows worker failure lines`, () => {
  expect(lines.length).toBeGreaterThan(0);
});

test.each(lines)(`${DOC}: "%s" has the prefix the worker prints`, async (line) => {
  const printed = await runCli(['work'], { ...VALID_ENV, QUEUE: '' });
  expect(printed.code).toBe(2);
  const prefix = (text: string) => text.slice(0, text.indexOf(': ') + 2);
  expect(prefix(line)).toBe(prefix(printed.stderr));
});

const badInputLines = lines
  .map((line) => ({ line, match: /^work-queue[^:]*: ([A-Z_]+): got ("[^"]*"), expected /.exec(line) }))
  .filter(({ match }) => match)
  .map(({ line, match }) => ({ line, field: match![1], value: JSON.parse(match![2]) as string }));

test(`${DOC} shows a bad-input line of the worker`, () => {
  expect(badInputLines.length).toBeGreaterThan(0);
});

test.each(badInputLines)(`${DOC}: "$line" is what work prints for $field=$value`, async ({ line, field, value }) => {
  const printed = await runCli(['work'], { ...VALID_ENV, [field]: value });
  expect(printed.code).toBe(2);
  const shown = line.replace(/ \.\.\.$/, '');
  expect(printed.stderr.split('\n').filter((real) => real.startsWith(shown))).toHaveLength(1);
});
