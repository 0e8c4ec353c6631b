#!/bin/sh
# Chooses the service: first argument, else $B9_SERVICE. "b9 ..." runs the CLI.
set -eu
svc="${1:-${B9_SERVICE:-}}"
[ "$#" -gt 0 ] && shift
case "$svc" in
  alerts|reddit-scraper|instagram-scraper|categorizer|media|persistence|gateway)
    exec "b9-$svc" "$@" ;;
  b9)
    exec b9 "$@" ;;
  *)
    echo "usage: <reddit-scraper|instagram-scraper|categorizer|media|persistence|gateway|alerts> | b9 <command>" >&2
    exit 2 ;;
esac
