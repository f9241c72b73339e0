/**
 * Builds the deck (run by `./kit slides`): slides/talk.md, with the code it imports from the steps
 * (engine.mjs + imports.ts), into one self-contained HTML file and a PDF with the speaker notes.
 *
 *   node slides/build.ts [--deck slides/talk.md] [--out slides/out] [--html-only]
 *
 * Marp CLI does the rendering; the PDF through the browser at CHROME_PATH (Debian's chromium).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const usage = 'usage: ./kit slides [--out DIR] [--html-only] [--deck slides/talk.md]';
const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        deck: { type: 'string', default: join(here, 'talk.md') },
        out: { type: 'string', default: join(here, 'out') },
        'html-only': { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`kit: ${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
})();
const deck = resolve(args.deck);
const out = resolve(args.out);
const name = basename(deck, '.md');
// The engine next to the deck: a copy of slides/ (the tests' drift gate) imports from its own steps.
const engine = join(dirname(deck), 'engine.mjs');
const marp = join(here, 'node_modules', '.bin', 'marp');
if (!existsSync(marp))
  throw new Error(`${marp} is missing: run ./kit slides (it installs slides/package.json)`);
mkdirSync(out, { recursive: true });

const t0 = performance.now();
const show = (p: string) => relative(process.cwd(), p) || '.';

function run(what: string, extra: string[]): void {
  process.stderr.write(`building ${what}...\n`);
  const result = spawnSync(marp, ['--engine', engine, '--html', '--no-stdin', ...extra, deck], {
    encoding: 'utf8',
    env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: 'true' },
  });
  if (result.status !== 0) {
    // Marp wraps its message over several lines: join them, so the error reads as one line.
    const message = `${result.stdout}${result.stderr}`.replace(/\n +/g, ' ').trim();
    const errors = message
      .split('\n')
      .filter((l) => l.includes('ERROR'))
      .map((l) => l.replace(/^\[ ERROR \] Failed converting Markdown\. \((.*)\)$/, '$1'));
    process.stderr.write(
      `kit: the deck did not build (${what}): ${errors.length > 0 ? errors.join(' ') : message}\n`,
    );
    process.exit(1);
  }
}

const html = join(out, `${name}.html`);
run('the HTML deck', ['-o', html]);
const slides = (readFileSync(html, 'utf8').match(/<svg data-marpit-svg=/g) ?? []).length;
const size = (p: string) => `${Math.round(statSync(p).size / 1024)} KB`;
let pdfLine = '';
if (!args['html-only']) {
  const pdf = join(out, `${name}.pdf`);
  run('the PDF with speaker notes', ['--pdf', '--pdf-notes', '--pdf-outlines', '-o', pdf]);
  pdfLine = `, ${show(pdf)} (${size(pdf)}, speaker notes as PDF notes)`;
}
const seconds = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `deck: ${slides} slides in ${seconds} s: ${show(html)} (${size(html)}, opens offline from file://)${pdfLine}`,
);
