// Marp's functional engine (marp --engine slides/engine.mjs): Marp Core as it is, plus the
// deck's imports (imports.ts), expanded before Markdown is parsed. A failed import throws, and
// marp-cli fails the build with its message.
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandImports } from './imports.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

/** "commit 1a2b3c4 · 2026-11-30", with "+ local changes" when the tree is dirty; outside git, just the date. */
function buildStamp() {
  const date = new Date().toISOString().slice(0, 10);
  const git = (...args) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const dirty =
      git('status', '--porcelain', '--untracked-files=no') !== '' ? ' + local changes' : '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty} · built ${date}`;
  } catch {
    return `not a git checkout · built ${date}`;
  }
}

const stamp = buildStamp();

export default ({ marp }) =>
  marp.use((md) => {
    md.core.ruler.before('normalize', 'kit_imports', (state) => {
      state.src = expandImports(state.src, {
        baseDir: here,
        stamp,
        display: (p) => relative(root, p),
      });
    });
  });
