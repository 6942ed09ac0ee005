/**
 * The README and docs/ stay navigable and the README stays short: every relative link and
 * `#anchor` in README.md, CHANGELOG.md, docs/*.md and the generated API reference (the markdown
 * under docs/api/) resolves (anchors as GitHub derives them from headings), every docs page is
 * linked from the README and links back to it, and README.md is at most 12 KB.
 */
import * as fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const README_MAX_BYTES = 12 * 1024;

const docsPages = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const apiPages = fs
  .readdirSync(path.join(ROOT, 'docs', 'api'), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.md'))
  .map((name) => path.posix.join('docs/api', name.split(path.sep).join('/')));
const pages = ['README.md', 'CHANGELOG.md', ...docsPages, ...apiPages];

/** The text outside fenced code blocks and inline code spans, where links and headings count. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens (github-slugger). */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_]{1,2}([^*_]+)[*_]{1,2}/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown file's headings, numbered -1, -2, ... when a slug repeats, as GitHub does. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const counts = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(match[1]);
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    found.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return found;
}

/** The targets of the inline links and images of a markdown file. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
}

/** What is wrong with the relative links of `page` (a path relative to the repository root). */
function brokenLinks(page: string): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(fs.readFileSync(path.join(ROOT, page), 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    const parts = target.split('#', 2);
    const [file] = parts;
    const anchor = parts.at(1);
    const resolved = file ? path.normalize(path.join(path.dirname(page), decodeURIComponent(file))) : page;
    if (resolved.startsWith('..') || !fs.existsSync(path.join(ROOT, resolved))) {
      problems.push(`${page}: (${target}): ${resolved} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md')) {
      problems.push(`${page}: (${target}): an anchor into ${resolved}, which is not markdown`);
      continue;
    }
    if (!anchors(fs.readFileSync(path.join(ROOT, resolved), 'utf8')).has(anchor)) {
      problems.push(`${page}: (${target}): ${resolved} has no heading with the anchor #${anchor}`);
    }
  }
  return problems;
}

describe('README.md and docs/', () => {
  test('README.md is at most 12 KB', () => {
    expect(fs.statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  test('every relative link and #anchor resolves', () => {
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });

  test('every docs page is linked from the README', () => {
    const linked = new Set(
      linkTargets(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).map((target) =>
        path.normalize(target.split('#')[0]),
      ),
    );
    expect(docsPages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test('every docs page starts with its title, then one line of purpose that links back to the README', () => {
    const problems = docsPages.filter((page) => {
      const [title, blank, purpose] = fs.readFileSync(path.join(ROOT, page), 'utf8').split('\n');
      return !/^# \S/.test(title) || blank !== '' || !purpose.includes('](../README.md)');
    });
    expect(problems).toEqual([]);
  });
});

describe('the link checks themselves', () => {
  test('anchors follow GitHub: punctuation and code marks dropped, repeated headings numbered', () => {
    const markdown =
      '# work-queue stack\n## The tutorials: `npm run synth`\n### What is awaited, and how it fails\n## Config\n## Config\n```sh\n# not a heading\n```\n';
    expect([...anchors(markdown)]).toEqual([
      'work-queue-stack',
      'the-tutorials-npm-run-synth',
      'what-is-awaited-and-how-it-fails',
      'config',
      'config-1',
    ]);
  });

  test('links inside code are not links', () => {
    expect(linkTargets('[a](x.md) `[b](y.md)`\n```md\n[c](z.md)\n```\n![d](img.png#top)')).toEqual([
      'x.md',
      'img.png#top',
    ]);
  });
});
