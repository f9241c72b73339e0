/**
 * Opens the built deck in headless chromium from file://, with every request that is not a local
 * file or inline data refused, and takes a screenshot of each slide. Prints one JSON report on
 * stdout; tooling/test/slides.test.ts judges it.
 *
 *   node slides/check.ts slides/out/talk.html slides/out/shots
 *
 * Needs the deck's npm packages (puppeteer-core comes with Marp CLI) and CHROME_PATH.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [htmlArg, shotsArg] = process.argv.slice(2);
if (!htmlArg || !shotsArg) throw new Error('usage: node slides/check.ts DECK.html SHOTS_DIR');
const html = resolve(htmlArg);
const shots = resolve(shotsArg);
mkdirSync(shots, { recursive: true });

// The parts of puppeteer-core this script uses. It is loaded from slides/node_modules at run
// time, so the kit's type-check does not need the deck's packages installed.
interface Request {
  url(): string;
  continue(): Promise<void>;
  abort(): Promise<void>;
}
interface Page {
  setViewport(v: { width: number; height: number }): Promise<void>;
  setRequestInterception(on: boolean): Promise<void>;
  on(event: 'request', cb: (r: Request) => void): void;
  on(event: 'console', cb: (m: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', cb: (e: Error) => void): void;
  on(event: 'requestfailed', cb: (r: Request) => void): void;
  goto(url: string, o: { waitUntil: 'load' }): Promise<unknown>;
  evaluate<T>(fn: string): Promise<T>;
  screenshot(o: { type: 'png' }): Promise<Uint8Array>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
const puppeteerPath = pathToFileURL(
  join(import.meta.dirname, 'node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js'),
).href;
const puppeteer = (await import(puppeteerPath)) as { launch(o: object): Promise<Browser> };

const executablePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  // As root (CI) chromium refuses its sandbox; the deck is our own file.
  args: [
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu',
    '--host-resolver-rules=MAP * ~NOTFOUND',
  ],
});

const refused: string[] = [];
const consoleErrors: string[] = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    const url = r.url();
    if (/^(file|data|blob|about):/.test(url)) void r.continue();
    else {
      refused.push(url);
      void r.abort();
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (!refused.includes(r.url())) consoleErrors.push(`request failed: ${r.url()}`);
  });
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  await page.evaluate('document.fonts.ready');
  // Marp's on-screen controls appear over the slide for a moment after a change: not the slide.
  await page.evaluate(
    `document.head.insertAdjacentHTML('beforeend', '<style>.bespoke-marp-osc { display: none !important }</style>')`,
  );
  const count = await page.evaluate<number>(
    'document.querySelectorAll("svg[data-marpit-svg]").length',
  );

  const slides = [];
  for (let n = 1; n <= count; n++) {
    // Marp's bespoke template shows slide n at #n; wait until it is the active one.
    const state = await page.evaluate<{
      active: number;
      title: string;
      overflow: string[];
      codePx: number | null;
    }>(`(async () => {
      location.hash = '#${n}';
      const svgs = [...document.querySelectorAll('svg[data-marpit-svg]')];
      for (let i = 0; i < 100 && !svgs[${n - 1}].classList.contains('bespoke-marp-active'); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const section = svgs[${n - 1}].querySelector('section');
      // What sticks out of the slide's content box: into the footer's margin, or cut off.
      const box = section.getBoundingClientRect();
      const style = getComputedStyle(section);
      const bottom = box.bottom - parseFloat(style.paddingBottom) + 1;
      const right = box.right - parseFloat(style.paddingRight) + 1;
      // (Chromium has no customized built-in elements: Marp turns <pre is="marp-pre"> into <marp-pre>.)
      const overflow = [...section.querySelectorAll('h1, h2, p, li, pre, marp-pre, table, img')]
        .filter((el) => { const r = el.getBoundingClientRect(); return r.height > 0 && (r.bottom > bottom || r.right > right); })
        .map((el) => el.tagName + ': ' + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 60));
      // The size code is shown at, after Marp shrank each block to fit its width (a transform).
      const codePx = [...section.querySelectorAll('pre code, marp-pre code')].map((code) =>
        parseFloat(getComputedStyle(code).fontSize) * (code.getBoundingClientRect().width / (code.offsetWidth || 1)));
      const title = section.querySelector('h1')?.textContent ?? '';
      return { active: svgs.findIndex((s) => s.classList.contains('bespoke-marp-active')) + 1, title, overflow, codePx: codePx.length ? Math.min(...codePx) : null };
    })()`);
    const png = await page.screenshot({ type: 'png' });
    const file = join(shots, `${String(n).padStart(2, '0')}.png`);
    writeFileSync(file, png);
    // Ink: the share of pixels that differ clearly from the slide's most common colour (its background).
    const dataUrl = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
    const measured = await page.evaluate<{
      width: number;
      height: number;
      ink: number;
    }>(`(async () => {
      const img = new Image();
      img.src = ${JSON.stringify(dataUrl)};
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width; canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      const counts = new Map();
      for (let i = 0; i < px.length; i += 4) { const k = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2]; counts.set(k, (counts.get(k) || 0) + 1); }
      const bg = [...counts].sort((a, b) => b[1] - a[1])[0][0];
      const [r, g, b] = [bg >> 16, (bg >> 8) & 255, bg & 255];
      let ink = 0;
      for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) > 96) ink++;
      return { width: img.width, height: img.height, ink: ink / (px.length / 4) };
    })()`);
    slides.push({
      n,
      file,
      title: state.title,
      active: state.active,
      overflow: state.overflow,
      codePx: state.codePx,
      sha1: createHash('sha1').update(png).digest('hex'),
      ...measured,
    });
  }
  // The presenter view (key p, or ?view=presenter) from file://: the slide, the next one and its notes.
  await page.goto(`${pathToFileURL(html).href}?view=presenter#1`, { waitUntil: 'load' });
  const presenterNotes = await page.evaluate<string>(`(async () => {
    for (let i = 0; i < 100 && !document.querySelector('.bespoke-marp-presenter-note-container'); i++) await new Promise((r) => setTimeout(r, 20));
    return document.querySelector('.bespoke-marp-presenter-note-container')?.innerText ?? '';
  })()`);
  await page
    .screenshot({ type: 'png' })
    .then((png) => writeFileSync(join(shots, 'presenter.png'), png));
  console.log(JSON.stringify({ count, slides, presenterNotes, refused, consoleErrors }, null, 1));
} finally {
  await browser.close();
}
