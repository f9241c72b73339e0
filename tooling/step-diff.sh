#!/usr/bin/env bash
# Prints what a step changes from the step before it (the story beat, ready for a slide).
# Usage: tooling/step-diff.sh STEP        e.g. tooling/step-diff.sh 02-pid1-fixed
# Each step keeps the result in CHANGES.diff; the kit's tests fail when it is stale
# (regenerate with: tooling/step-diff.sh --write).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KIT_ROOT/steps"

step_diff() {
  local step="$1" prev="" name
  [ -d "$step" ] || die "no step $step"
  for name in *; do [ "$name" = "$step" ] && break; prev="$name"; done
  [ -n "$prev" ] || die "$step is the first step: nothing to compare with"
  # Tests, READMEs and design notes (and their figures, img/) and lockfiles are left out: the beat
  # is the app, its image and its manifests.
  diff -ruN -x node_modules -x dist -x test -x README.md -x DESIGN.md -x img -x package-lock.json -x CHANGES.diff "$prev" "$step" |
    sed -E -e 's/^(---|\+\+\+) ([^\t]*)\t.*$/\1 \2/' -e "/^diff -ruN /d" || true
}

if [ "${1:-}" = --write ]; then
  steps=(*)
  for step in "${steps[@]:1}"; do step_diff "$step" > "$step/CHANGES.diff"; progress "wrote steps/$step/CHANGES.diff"; done
else
  step_diff "${1:?usage: tooling/step-diff.sh STEP | --write}"
fi
