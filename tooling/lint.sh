#!/usr/bin/env bash
# The kit's linters: `npm run lint` runs them all; ./kit test runs each as a test
# (tooling/test/lint.test.ts). Usage: tooling/lint.sh [eslint|prettier|shellcheck]...
#                                      tooling/lint.sh --list shell
#   - eslint:     TypeScript with its types (eslint.config.js), and JavaScript; in the steps'
#                 sources, lines of at most 100 columns (the slides show them)
#   - prettier:   the code is as Prettier prints it (.prettierrc.json; `npm run format` fixes it)
#   - shellcheck: every shell script (.shellcheckrc), Debian's shellcheck
# Node.js and the root npm packages must be on hand (./kit test: ensure_deps); shellcheck too
# (./kit test installs it as root: apt_install).
# --list shell prints the shell scripts shellcheck reads, one per line from the kit's root, and
# runs no linter: tooling/test/waits.test.ts scans the same ones for sleeping loops.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KIT_ROOT"

# The steps' (and the operator's) own npm packages, for ESLint's type information: the same
# `npm ci` as their Dockerfiles, on the host, when the lockfile changed (scripts not run).
step_deps() {
  local dir
  for dir in steps/*/ steps/*/operator/; do
    [ -f "$dir/package-lock.json" ] || continue
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      progress "installing the npm packages of ${dir%/} (npm ci, for ESLint's types)"
      (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    fi
  done
}

# The shell scripts: *.sh and the files that start with a sh or bash shebang (kit, .ci/run...),
# among the files git tracks and the new ones it does not ignore (as ESLint and Prettier see them).
shell_scripts() {
  local files
  if files="$(git ls-files -co --exclude-standard 2>/dev/null)" && [ -n "$files" ]; then :; else
    files="$(find . -type f -not -path '*/node_modules/*' -not -path './.git/*' | sed 's|^\./||')"
  fi
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "${f##*/}" in
      *.sh) echo "$f" ;;
      *.*) ;;
      *) if head -n1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh$'; then echo "$f"; fi ;;
    esac
  done <<<"$files"
}

run() {
  case "$1" in
    eslint) step_deps; node_modules/.bin/eslint --max-warnings=0 . ;;
    prettier) node_modules/.bin/prettier --check --log-level=warn . ;;
    shellcheck)
      command -v shellcheck >/dev/null || die "shellcheck is missing: apt-get install shellcheck (./kit test installs it as root)"
      local scripts; mapfile -t scripts < <(shell_scripts)
      shellcheck "${scripts[@]}" ;;
    *) die "unknown linter $1: eslint, prettier or shellcheck" ;;
  esac
}

if [ "${1:-}" = --list ]; then
  if [ "${2:-}" != shell ] || [ $# -ne 2 ]; then die "usage: tooling/lint.sh --list shell"; fi
  shell_scripts
  exit 0
fi

[ $# -gt 0 ] || set -- eslint prettier shellcheck
rc=0
for linter in "$@"; do run "$linter" || rc=1; done
exit $rc
