/**
 * The deck's imports: code on a slide comes from the step files, never from the deck.
 *
 *   <<< ../steps/02-pid1-fixed/src/server.ts#shutdown       the lines between `// #region shutdown`
 *                                                           and `// #endregion shutdown` (# in YAML,
 *                                                           Dockerfiles and shell)
 *   <<< ../steps/00-broken-app/entrypoint.sh                a whole (small) file
 *   <<< ../steps/02-pid1-fixed/CHANGES.diff#entrypoint.sh   that file's hunks of a step's diff
 *   ![alt](../steps/03-metrics/img/latency.png)             a picture, inlined (the deck is one file)
 *   ![alt](../steps/04-operator/img/*.png)                  an optional picture (the first match): a note
 *                                                           on the slide until a real run has made one
 *   {{build}}                                               commit and date of the build
 *
 * Paths are relative to slides/. A missing file, region or diff file throws an ImportError that
 * names the slide's line, the file and the region: the build fails instead of showing stale code.
 * Pure apart from reading files, so the tests call it directly.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';

export class ImportError extends Error {
  override name = 'ImportError';
}

/** What the expansion needs from outside: where paths start, and the build stamp. */
export interface ImportContext {
  /** The folder that `<<<` and image paths are relative to (slides/). */
  baseDir: string;
  /** Replaces {{build}} on the title slide. */
  stamp: string;
  /** How a path is shown in messages (relative to the repository). */
  display?: (absolute: string) => string;
}

const MARKER = /^\s*(?:\/\/|#)\s*#(region|endregion)\s+(\S+)\s*$/;

/** The lines of `region` in `text`, without marker lines (its own or nested ones), dedented. */
export function extractRegion(text: string, region: string, where: string): string {
  const lines = text.split('\n');
  const opens: number[] = [];
  const closes: number[] = [];
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (m && m[2] === region) (m[1] === 'region' ? opens : closes).push(i);
  });
  const [start] = opens;
  const [end] = closes;
  if (start === undefined) throw new ImportError(`region "${region}" not found in ${where}`);
  if (opens.length > 1 || closes.length > 1)
    throw new ImportError(`region "${region}" is marked twice in ${where}`);
  if (end === undefined)
    throw new ImportError(`region "${region}" is never closed (#endregion ${region}) in ${where}`);
  if (end < start)
    throw new ImportError(`region "${region}" is closed before it is opened in ${where}`);
  const body = lines.slice(start + 1, end).filter((line) => !MARKER.test(line));
  if (body.every((line) => line.trim() === ''))
    throw new ImportError(`region "${region}" is empty in ${where}`);
  return dedent(body).join('\n');
}

function dedent(lines: string[]): string[] {
  const indents = lines
    .filter((line) => line.trim() !== '')
    .map((line) => /^ */.exec(line)![0].length);
  const cut = Math.min(...indents);
  return lines.map((line) => line.slice(cut));
}

/**
 * The hunks of one file in a CHANGES.diff (tooling/step-diff.sh: `+++ 02-pid1-fixed/path`), with
 * their `@@` lines, so a slide shows exactly what the step changed there.
 */
export function extractDiff(text: string, file: string, where: string): string {
  const out: string[] = [];
  let inFile = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('--- ')) {
      inFile = false;
      continue;
    }
    if (line.startsWith('+++ ')) {
      inFile = line.slice(4).replace(/^[^/]+\//, '') === file;
      continue;
    }
    // The region markers are for the deck, not part of the change: leave them off the slide.
    if (inFile && !MARKER.test(line.slice(1))) out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  if (out.length === 0)
    throw new ImportError(`file "${file}" not found in ${where} (the step does not change it)`);
  return out.join('\n');
}

const LANGUAGES: Record<string, string> = {
  '.ts': 'ts',
  '.js': 'js',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.sh': 'bash',
  '.diff': 'diff',
  '.json': 'json',
};
function language(path: string): string {
  if (basename(path) === 'Dockerfile') return 'dockerfile';
  return LANGUAGES[extname(path)] ?? '';
}

const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
};

/** Expands every import of a deck's Markdown; throws an ImportError naming line, file and region. */
export function expandImports(markdown: string, ctx: ImportContext): string {
  const show = ctx.display ?? ((p: string) => relative(ctx.baseDir, p));
  let inFence = false;
  return markdown
    .split('\n')
    .map((line, i) => {
      const at = `deck line ${i + 1}`;
      if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence) return line;
      const imp = /^<<<\s+(\S+?)(?:#(\S+))?\s*$/.exec(line);
      if (imp) return fence(imp[1]!, imp[2], at);
      return line
        .replaceAll('{{build}}', ctx.stamp)
        .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (_all, alt: string, src: string) =>
          image(alt, src, at),
        );
    })
    .join('\n');

  function fence(path: string, region: string | undefined, at: string): string {
    const file = resolve(ctx.baseDir, path);
    if (!existsSync(file))
      throw new ImportError(
        `${at}: ${show(file)} not found (<<< ${path}${region ? `#${region}` : ''})`,
      );
    const text = readFileSync(file, 'utf8');
    const where = `${show(file)} (${at})`;
    let code: string;
    if (extname(file) === '.diff') {
      if (!region)
        throw new ImportError(
          `${at}: a diff import names the changed file: <<< ${path}#src/app.ts`,
        );
      code = extractDiff(text, region, where);
    } else {
      code = region
        ? extractRegion(text, region, where)
        : text
            .split('\n')
            .filter((l) => !MARKER.test(l))
            .join('\n')
            .replace(/\n+$/, '');
    }
    return `\`\`\`${language(file)}\n${code}\n\`\`\``;
  }

  function image(alt: string, src: string, at: string): string {
    if (/^(https?:|data:)/.test(src))
      throw new ImportError(
        `${at}: ${src}: the deck loads nothing remote; put the picture in the repository`,
      );
    // A * in the name: the first picture that matches (by name), or a note until a run makes one.
    const paths = src.includes('*')
      ? glob(resolve(ctx.baseDir, src)).slice(0, 1)
      : [resolve(ctx.baseDir, src)];
    if (paths.length === 0) {
      // No picture yet (it comes from a real run): say so on the slide rather than fail the build.
      return `_(no picture yet: \`${show(resolve(ctx.baseDir, src))}\` comes from a real run)_`;
    }
    const [file] = paths as [string];
    if (!existsSync(file)) throw new ImportError(`${at}: picture ${show(file)} not found`);
    const type = IMAGE_TYPES[extname(file)];
    if (!type) throw new ImportError(`${at}: ${show(file)}: not a .png, .svg or .jpg`);
    return `![${alt}](data:${type};base64,${readFileSync(file).toString('base64')})`;
  }
}

/** `dir/*.png`-style globs: a `*` in the file name only. */
function glob(pattern: string): string[] {
  const dir = dirname(pattern);
  if (dir.includes('*')) throw new ImportError(`${pattern}: only the file name may hold a *`);
  const re = new RegExp(
    `^${basename(pattern)
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => re.test(name))
        .sort()
        .map((name) => join(dir, name))
    : [];
}
