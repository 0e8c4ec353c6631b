#!/bin/sh
# Runs the image's service ($B9_SERVICE, set at build time); "b9 ..." runs the CLI instead.
# A first argument naming the service is accepted too (compose's `command: [<service>]`).
set -eu
if [ "$#" -gt 0 ] && [ "$1" = "b9" ]; then
  shift
  command -v b9 >/dev/null 2>&1 || { echo "no b9 CLI in the ${B9_SERVICE:-?} image: use the persistence image" >&2; exit 2; }
  exec b9 "$@"
fi
svc="${B9_SERVICE:-}"
if [ "$#" -gt 0 ] && [ "$1" = "$svc" ]; then
  shift
fi
if [ -z "$svc" ] || ! command -v "b9-$svc" >/dev/null 2>&1; then
  echo "this image runs b9-${svc:-?} (not installed?); usage: [${svc:-<service>}] | b9 <command>" >&2
  exit 2
fi
exec "b9-$svc" "$@"
