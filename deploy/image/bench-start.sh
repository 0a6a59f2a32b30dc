#!/usr/bin/env bash
# Start to ready of the image (the issue's target: under 2 s): `podman run ...
# petrel routing` against a real Redis, until /readyz answers 200, RUNS times
# (default 5), one after another on an otherwise idle machine; prints each and
# the median. Needs the image (deploy/image/build.sh) and redis-server. Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
image=${IMAGE:-localhost/petrel:$(node -p "require('./package.json').version" 2>/dev/null || echo 0.1.0)}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(port)
redis_dir=$(mktemp -d)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" --appendonly yes --appendfsync always --save '' --daemonize yes >/dev/null
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$redis_dir"' EXIT
times=()
for i in $(seq "$runs"); do
  metrics=$(port)
  name=petrel-bench-start-$$-$i
  start=$(date +%s%N)
  podman run -d --rm --name "$name" --network host --read-only --tmpfs /tmp \
    -e PETREL_REDIS__URL="redis://127.0.0.1:$redis_port" -e PETREL_METRICS__PORT="$metrics" \
    -e PETREL_ROUTING__GRPC__PORT=0 -e PETREL_ADMIN__PORT=0 "$image" routing >/dev/null
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics/readyz")" = 200 ]; do sleep 0.01; done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  times+=("$ms")
  echo "run $i: $ms ms"
  podman stop -t 10 "$name" >/dev/null
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "median of $runs: $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") ms"
