#!/usr/bin/env bash
# The test harness's other path, exercised for real: podman serves the Docker
# API (`podman system service`), and the Redis-backed tests of libs/queue run
# with their Redis in containers started by testcontainers (startRedis's second
# choice). PETREL_TEST_REDIS=container makes startRedis fail rather than fall
# back to redis-server, so a pass proves the containers were used.
# testcontainers' reaper (Ryuk) image cannot be pulled here: it is turned off
# (TESTCONTAINERS_RYUK_DISABLED), and every handle stops its own container;
# the service is given its own socket and stopped at the end, and containers
# a killed run leaves are removed by label before and after.
# Root only. Used by .ci/run as a separate step.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ensure-node.sh >/dev/null
[ -x deploy/image/setup-podman.sh ] && deploy/image/setup-podman.sh
bash deploy/testcontainers/build-redis-image.sh
socket=/run/petrel-testcontainers/podman.sock
mkdir -p "$(dirname "$socket")"
cleanup() {
  podman ps -aq --filter label=org.testcontainers=true | xargs -r podman rm -f >/dev/null 2>&1 || true
  [ -n "${service:-}" ] && kill "$service" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
podman system service --time=0 "unix://$socket" &
service=$!
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
export DOCKER_HOST="unix://$socket" TESTCONTAINERS_RYUK_DISABLED=true PETREL_TEST_REDIS=container
npx nx run @petrel/queue:test --skip-nx-cache --outputStyle=static
