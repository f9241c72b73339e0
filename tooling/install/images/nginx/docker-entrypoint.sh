#!/bin/sh
# The official image's entrypoint contract, in short: for `nginx ...` it renders
# /etc/nginx/templates/*.template into /etc/nginx/conf.d/ with envsubst (only variables that are
# set, so nginx's own $variables survive), runs /docker-entrypoint.d/*.sh, then execs the command.
set -e
log() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: $*"; }

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  tdir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
  odir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
  suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
  if [ -d "$tdir" ]; then
    # shellcheck disable=SC2016,SC2046  # '${%s}' is meant literally; the names have no spaces
    defined="$(printf '${%s} ' $(env | cut -d= -f1))"
    find "$tdir" -follow -type f -name "*$suffix" -print | while read -r t; do
      rel="${t#"$tdir"/}"; out="$odir/${rel%"$suffix"}"
      mkdir -p "$(dirname "$out")"
      log "Running envsubst on $t to $out"
      envsubst "$defined" <"$t" >"$out"
    done
  fi
  if [ -d /docker-entrypoint.d ]; then
    for f in $(find /docker-entrypoint.d -follow -type f -name '*.sh' -print | sort); do
      if [ -x "$f" ]; then log "Launching $f"; "$f"; else log "Ignoring $f, not executable"; fi
    done
  fi
  log "Configuration complete; ready for start up"
fi
exec "$@"
