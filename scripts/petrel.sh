#!/usr/bin/env bash
# README's commands. `npm start` and `npm test` both come here, so they work on
# a fresh Debian machine whose Node is older than 24: Node 24 and the npm
# dependencies are installed first when missing.
#   start   run Petrel locally (see README.md)
#   test    typecheck, lint and test every project (the CI command)
#   bench   run the benchmarks under bench/ and print their figures
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ensure-node.sh
source scripts/ensure-node.sh
# shellcheck source=scripts/ensure-deps.sh
source scripts/ensure-deps.sh

cmd="${1:-}"
shift || true
case "$cmd" in
  start)
    if ! command -v redis-server >/dev/null 2>&1 && [ -z "${PETREL_REDIS__URL:-}" ]; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "petrel: installing redis-server (npm start runs its own Redis when none is configured)" >&2
        (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server) >&2
      else
        echo "petrel: npm start runs its own Redis when none is configured; install it with:" >&2
        echo "  apt-get update && apt-get install -y redis-server     # or set PETREL_REDIS__URL" >&2
        exit 1
      fi
    fi
    npx nx run-many -t build --outputStyle=static >&2
    exec node tools/start.mjs "$@"
    ;;
  test)
    # shellcheck source=scripts/ensure-tools.sh
    source scripts/ensure-tools.sh
    npx prettier --check . >&2
    exec npx nx run-many -t typecheck lint test --outputStyle=stream --skip-nx-cache "$@"
    ;;
  bench)
    exec npx nx run-many -t bench --outputStyle=stream "$@"
    ;;
  *)
    echo "usage: scripts/petrel.sh start|test|bench" >&2
    exit 64
    ;;
esac
