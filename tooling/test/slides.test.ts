/**
 * The talk's deck (slides/): `./kit slides` builds an HTML deck that opens offline and a PDF with
 * the speaker notes; every slide renders in headless chromium; and code on a slide cannot drift
 * from the steps, because a missing region fails the build.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { KIT_ROOT } from '@kit/testkit';
import { expandImports, extractDiff, extractRegion, ImportError } from '../../slides/imports.ts';

const execFileAsync = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'kit-slides-'));
const out = join(tmp, 'out');
let stdout = '';

// `./kit slides` as a presenter runs it (into a folder of the test's own). The first run installs
// the deck's npm packages and Debian's chromium: minutes, not seconds.
beforeAll(async () => {
  ({ stdout } = await execFileAsync(`${KIT_ROOT}/kit`, ['slides', '--out', out], {
    timeout: 300_000,
  }));
  process.stdout.write(stdout);
}, 320_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('imports: code comes from the steps, or the build fails', () => {
  const source = [
    'a',
    '  // #region r',
    '  one',
    '  // #region inner',
    '    two',
    '  // #endregion inner',
    '  // #endregion r',
    'b',
  ].join('\n');

  test('a region is its lines, without any marker, dedented', () => {
    expect(extractRegion(source, 'r', 'f.ts')).toBe('one\n  two');
    expect(extractRegion('# #region y\nkey: 1\n# #endregion y\n', 'y', 'f.yaml')).toBe('key: 1');
  });

  test('a missing, unclosed or doubled region is an error that names the region and the file', () => {
    expect(() => extractRegion(source, 'nope', 'steps/x/f.ts')).toThrow(
      'region "nope" not found in steps/x/f.ts',
    );
    expect(() => extractRegion('// #region r\nx', 'r', 'f.ts')).toThrow(
      'region "r" is never closed',
    );
    expect(() => extractRegion('// #region r\n// #region r\n// #endregion r', 'r', 'f.ts')).toThrow(
      'marked twice',
    );
    expect(() => extractRegion('// #endregion r\n// #region r', 'r', 'f.ts')).toThrow(
      'closed before it is opened',
    );
    // The marker removed, its #endregion left behind: still "not found", naming region and file.
    expect(() => extractRegion('x\n// #endregion r', 'r', 'steps/x/f.ts')).toThrow(
      'region "r" not found in steps/x/f.ts',
    );
  });

  test("a diff import is that file's hunks of CHANGES.diff, without the deck's markers", () => {
    const diff = [
      '--- 01/a.sh',
      '+++ 02/a.sh',
      '@@ -1 +1 @@',
      '-x',
      '+y',
      '--- 01/src/b.ts',
      '+++ 02/src/b.ts',
      '@@ -1,2 +1,3 @@',
      '+// #region z',
      ' k',
      '',
    ].join('\n');
    expect(extractDiff(diff, 'a.sh', 'CHANGES.diff')).toBe('@@ -1 +1 @@\n-x\n+y');
    expect(extractDiff(diff, 'src/b.ts', 'CHANGES.diff')).toBe('@@ -1,2 +1,3 @@\n k');
    expect(() => extractDiff(diff, 'c.ts', 'steps/02/CHANGES.diff')).toThrow(
      'file "c.ts" not found in steps/02/CHANGES.diff',
    );
  });

  test('the Markdown: <<< becomes a fenced block in the language of the file; pictures are inlined; a missing file fails', () => {
    const ctx = {
      baseDir: `${KIT_ROOT}/slides`,
      stamp: 'commit abc',
      display: (p: string) => relative(KIT_ROOT, p),
    };
    const md = expandImports(
      '# {{build}}\n<<< ../steps/02-pid1-fixed/Dockerfile#entrypoint\n![](../steps/03-metrics/img/latency.png)',
      ctx,
    );
    expect(md).toMatch(
      /^# commit abc\n```dockerfile\n(.*\n)*ENTRYPOINT \["\/app\/entrypoint.sh"\]\n```\n!\[\]\(data:image\/png;base64,/,
    );
    expect(() => expandImports('x\n<<< ../steps/02-pid1-fixed/nope.ts#a', ctx)).toThrow(
      ImportError,
    );
    expect(() => expandImports('x\n<<< ../steps/02-pid1-fixed/nope.ts#a', ctx)).toThrow(
      'deck line 2: steps/02-pid1-fixed/nope.ts not found',
    );
    expect(() => expandImports('![](https://example.com/a.png)', ctx)).toThrow(
      'loads nothing remote',
    );
    // Inside a fenced block, <<< is text (a shell heredoc, say), not an import.
    expect(expandImports('```bash\n<<< ../nope\n```', ctx)).toBe('```bash\n<<< ../nope\n```');
    // Optional pictures (a * in the name) that no run has produced yet: a note, not a failure.
    expect(expandImports('![](../steps/03-metrics/img/none-*.png)', ctx)).toContain(
      'no picture yet: `steps/03-metrics/img/none-*.png`',
    );
  });
});

describe('./kit slides', () => {
  let html = '';
  let slides = 0;

  beforeAll(() => {
    html = readFileSync(join(out, 'talk.html'), 'utf8');
    slides = (html.match(/<svg data-marpit-svg=/g) ?? []).length;
  });

  test('builds the HTML deck and the PDF, and prints the slide count and the build time', () => {
    expect(stdout).toMatch(
      new RegExp(`^deck: ${slides} slides in \\d+\\.\\d s: .*talk\\.html .*talk\\.pdf`, 'm'),
    );
    expect(slides).toBeGreaterThanOrEqual(20);
  });

  test('the title slide carries the build stamp: commit and date', async () => {
    const { stdout: commit } = await execFileAsync('git', [
      '-C',
      KIT_ROOT,
      'rev-parse',
      '--short',
      'HEAD',
    ]);
    expect(html).toContain(`commit ${commit.trim()}`);
    expect(html).toContain(`built ${new Date().toISOString().slice(0, 10)}`);
  });

  test('every slide has speaker notes, each naming who speaks: Narrator, Developer or Operations', () => {
    const notes = [
      ...html.matchAll(/<div class="bespoke-marp-note" data-index="(\d+)"[^>]*>([\s\S]*?)<\/div>/g),
    ];
    expect(notes.map((m) => Number(m[1]))).toEqual([...Array(slides).keys()]);
    for (const [, index, text] of notes)
      expect({ index, roles: /(Narrator|Developer|Operations)\b/.test(text ?? '') }).toEqual({
        index,
        roles: true,
      });
    for (const role of ['Narrator:', 'Developer:', 'Operations:']) expect(html).toContain(role);
  });

  test('the PDF has one page per slide, and the speaker notes as PDF notes', () => {
    const pdf = readFileSync(join(out, 'talk.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    // Marp writes compressed object streams: inflate every stream, then read the objects.
    const objects = [pdf.toString('latin1')];
    for (const m of pdf.toString('latin1').matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
      try {
        objects.push(inflateSync(Buffer.from(m[1] ?? '', 'latin1')).toString('latin1'));
      } catch {
        /* an image, not objects */
      }
    }
    const text = objects.join('\n');
    expect((text.match(/\/Type \/Page\n/g) ?? []).length).toBe(slides);
    const notes = [...text.matchAll(/\/Subtype \/Text\n[\s\S]*?\/Contents <FEFF([0-9A-F]+)>/g)].map(
      (m) =>
        Buffer.from(m[1] ?? '', 'hex')
          .swap16()
          .toString('utf16le'),
    );
    expect(notes).toHaveLength(slides);
    expect(notes[0]).toContain('Narrator: Welcome.');
  });

  test('the HTML names nothing remote to load: no http(s) in src, url() or @import; links only to the demo on 127.0.0.1', () => {
    expect(html.match(/\bsrc=["']?https?:[^"'\s>]*/gi) ?? []).toEqual([]);
    expect(html.match(/url\(\s*["']?https?:[^)]*/gi) ?? []).toEqual([]);
    expect(html.match(/@import[^;]*https?:[^;]*/gi) ?? []).toEqual([]);
    expect(
      (html.match(/\bhref=["']?https?:[^"'\s>]*/gi) ?? []).filter(
        (href) => !/^href=["']?http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(href),
      ),
    ).toEqual([]);
  });

  test('every slide renders in headless chromium from file://: no console error, nothing fetched from the network, not blank, nothing cut off', async () => {
    const { stdout: json } = await execFileAsync(
      process.execPath,
      [`${KIT_ROOT}/slides/check.ts`, join(out, 'talk.html'), join(out, 'shots')],
      {
        env: { ...process.env, CHROME_PATH: process.env.CHROME_PATH ?? '/usr/bin/chromium' },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const report = JSON.parse(json) as {
      count: number;
      presenterNotes: string;
      refused: string[];
      consoleErrors: string[];
      slides: {
        n: number;
        title: string;
        active: number;
        width: number;
        height: number;
        ink: number;
        sha1: string;
        overflow: string[];
        codePx: number | null;
      }[];
    };
    expect(report.count).toBe(slides);
    expect(report.presenterNotes).toContain('Narrator: Welcome.'); // the presenter view shows the notes
    expect(report.refused).toEqual([]);
    expect(report.consoleErrors).toEqual([]);
    for (const s of report.slides) {
      // The slide shown is the one asked for, a full 1280×720 frame, with something on it, inside its box.
      expect({
        n: s.n,
        active: s.active,
        size: `${s.width}x${s.height}`,
        overflow: s.overflow,
      }).toEqual({ n: s.n, active: s.n, size: '1280x720', overflow: [] });
      // A slide with nothing but its footer and page number measures 0.002; a title alone, 0.008.
      expect({ n: s.n, ink: s.ink > 0.005 }).toEqual({ n: s.n, ink: true });
    }
    // Code a room can read, on every slide: Marp shrinks a block until its longest line fits, so
    // long lines make small code.
    const small = report.slides.filter((s) => s.codePx !== null && s.codePx < 14);
    expect(small.map((s) => `${s.n} ${s.title}: ${s.codePx?.toFixed(1)} px`)).toEqual([]);
    // Twenty-odd different pictures, not one slide shot twenty times.
    expect(new Set(report.slides.map((s) => s.sha1)).size).toBe(slides);
    const code = report.slides
      .filter((s) => s.codePx !== null)
      .map((s) => `${s.n}:${s.codePx?.toFixed(0)}`)
      .join(' ');
    console.log(
      `rendered ${slides} slides; least ink ${Math.min(...report.slides.map((s) => s.ink)).toFixed(3)} (slide ${report.slides.reduce((a, b) => (b.ink < a.ink ? b : a)).n}); code px by slide ${code}`,
    );
  }, 150_000);
});

describe('the drift gate', () => {
  // A throwaway copy of the deck and of what it imports; only the copy is changed.
  const copy = join(tmp, 'copy');
  const build = () =>
    execFileAsync(process.execPath, [
      `${KIT_ROOT}/slides/build.ts`,
      '--deck',
      join(copy, 'slides/talk.md'),
      '--out',
      join(copy, 'out'),
      '--html-only',
    ]);

  beforeAll(() => {
    const skip = (src: string) => !/\/(node_modules|dist|out)$/.test(src);
    for (const dir of ['slides', 'steps', 'k8s', 'load/benchmarks'])
      cpSync(join(KIT_ROOT, dir), join(copy, dir), { recursive: true, filter: skip });
  });

  test('the copy builds as it is; without the `// #region shutdown` marker it fails, naming the region and the file', async () => {
    await expect(build()).resolves.toMatchObject({
      stdout: expect.stringMatching(/^deck: \d+ slides/),
    });
    const server = join(copy, 'steps/02-pid1-fixed/src/server.ts');
    const text = readFileSync(server, 'utf8');
    expect(text).toContain('// #region shutdown\n');
    writeFileSync(server, text.replace('// #region shutdown\n', ''));
    await expect(build()).rejects.toMatchObject({
      stderr: expect.stringMatching(
        /^kit: the deck did not build .*region "shutdown" not found in steps\/02-pid1-fixed\/src\/server\.ts \(deck line \d+\)$/m,
      ),
    });
  }, 60_000);
});
