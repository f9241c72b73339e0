/**
 * The kit's documents: every relative link of its Markdown files leads to a file that exists (and
 * an anchor to a heading of it), the root README stays short, and a step's DESIGN.md quotes only
 * code and PromQL that are really in the kit, as its README must (steps.test.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { KIT_ROOT } from '../testkit/docker.js';

const SKIP = new Set(['node_modules', '.git', 'out', 'dist']);

/** The kit's Markdown files, relative to its root (the deck, slides/talk.md, has tests of its own). */
function markdownFiles(dir = KIT_ROOT): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (SKIP.has(name)) return [];
      if (statSync(path).isDirectory()) return markdownFiles(path);
      return name.endsWith('.md') ? [relative(KIT_ROOT, path)] : [];
    })
    .filter((file) => file !== 'slides/talk.md');
}

/** The text outside fenced code blocks and inline code. */
const prose = (markdown: string) =>
  markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The anchors GitHub gives the headings of MARKDOWN. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown
    .replace(/^```[\s\S]*?^```/gm, '')
    .matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

const files = markdownFiles();

test('the kit has its documents', () => {
  expect(files).toEqual(
    expect.arrayContaining(['README.md', 'docs/ARCHITECTURE.md', 'steps/04-operator/DESIGN.md']),
  );
});

test.each(files)(
  '%s: every relative link leads to a file, and every anchor to a heading',
  (file) => {
    const markdown = readFileSync(join(KIT_ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // https:, mailto:
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved =
        path === ''
          ? join(KIT_ROOT, file)
          : join(KIT_ROOT, dirname(file), decodeURIComponent(path));
      if (!existsSync(resolved)) {
        broken.push(`${target}: no such file`);
      } else if (
        anchor !== undefined &&
        resolved.endsWith('.md') &&
        !anchors(readFileSync(resolved, 'utf8')).has(anchor)
      ) {
        broken.push(`${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  },
);

test('the root README is read in two minutes: under 150 lines', () => {
  expect(readFileSync(join(KIT_ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThan(150);
});

const designs = readdirSync(join(KIT_ROOT, 'steps')).filter((step) =>
  existsSync(join(KIT_ROOT, 'steps', step, 'DESIGN.md')),
);

test.each(designs)(
  '%s/DESIGN.md quotes only code that is really in the step, and PromQL as in rules.yml',
  (step) => {
    const read = (path: string) => readFileSync(join(KIT_ROOT, path), 'utf8');
    const lines = (dir: string): string[] =>
      readdirSync(join(KIT_ROOT, dir)).flatMap((name) =>
        statSync(join(KIT_ROOT, dir, name)).isDirectory()
          ? lines(`${dir}/${name}`)
          : read(`${dir}/${name}`).split('\n'),
      );
    const sources = [`steps/${step}/src`, `steps/${step}/operator/src`].filter((dir) =>
      existsSync(join(KIT_ROOT, dir)),
    );
    const source = new Set(sources.flatMap(lines).map((line) => line.trim()));
    const rules = new Set(
      read('k8s/prometheus/rules.yml')
        .split('\n')
        .map((line) => line.trim()),
    );
    const design = read(`steps/${step}/DESIGN.md`);
    const quoted = (lang: string) =>
      [...design.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))]
        .flatMap((block) => (block[1] ?? '').split('\n').map((line) => line.trim()))
        .filter((line) => line !== '' && line !== '...');
    expect(quoted('ts').filter((line) => !source.has(line))).toEqual([]);
    expect(quoted('promql').filter((line) => !rules.has(line))).toEqual([]);
  },
);
