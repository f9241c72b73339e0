#!/bin/sh
# The official image's entrypoint contract: flags (`--ping`) or a Traefik subcommand (`version`)
# run through traefik; anything else (`sh`) is executed as it is.
set -e
case "$1" in
  -*) set -- traefik "$@" ;;
esac
if [ "$1" != traefik ] && traefik "$1" --help >/dev/null 2>&1; then
  set -- traefik "$@"
fi
exec "$@"
