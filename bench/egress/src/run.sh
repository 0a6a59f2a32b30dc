#!/usr/bin/env bash
# bench/egress: deliveries per second to a local smtp-sink over reused
# connections (5 KB; 1 and 10 recipients per message), Petrel's egress beside
# Postfix delivering the same load to the same sink, in one sitting.
#
#   petrel   N deliveries written as routing writes them into a paused queue of
#            a Redis with AOF (appendfsync always); the built egress process
#            (apps/egress/dist/main.js, default settings) started; the clock
#            starts when the queue is resumed and stops when the sink has
#            counted N messages.
#   postfix  the anchors' private Postfix instance (setup_postfix read out of
#            $ANCHORS/postfix.sh, relayhost = the sink) with every message put on
#            hold as it is accepted (smtp-source -d -s 20); the clock starts at
#            `postsuper -H ALL` and stops when the sink has counted N messages.
#            Postfix caches connections to a destination with a backlog.
#
# Reps alternate (petrel, postfix, petrel, ...); the summary gives medians.
# Env: REPS (3), N (5000), MSG_LEN (5000), RCPTS ("1 10"), ANCHORS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../../.." && pwd)
# shellcheck source=/dev/null
source "$ROOT/scripts/ensure-node.sh" || exit 1
ANCHORS=${ANCHORS:-$(cd "$ROOT/.." && pwd)/shared/anchors}
[ -f "$ANCHORS/common.sh" ] || { echo "bench/egress needs the anchors scripts in $ANCHORS" >&2; exit 1; }
export ANCHOR_TMP=${ANCHOR_TMP:-/tmp/petrel-bench-egress}
rm -rf "$ANCHOR_TMP"; mkdir -p "$ANCHOR_TMP"
# shellcheck source=/dev/null
. "$ANCHORS/common.sh"
eval "$(sed -n '/^pf_stop()/,/^}/p; /^setup_postfix()/,/^}/p' "$ANCHORS/postfix.sh")"
PF=$ANCHOR_TMP/postfix
REPS=${REPS:-3}; N=${N:-5000}; MSG_LEN=${MSG_LEN:-5000}; RCPTS=${RCPTS:-"1 10"}
OUT=$here/../results/latest.tsv
TCK=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT=$(free_port); PF_PORT=$(free_port); R_PORT=$(free_port); M_PORT=$(free_port)
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

EG_PID=; RD_PID=
cleanup() { [ -n "$EG_PID" ] && kill "$EG_PID" 2>/dev/null; [ -n "$RD_PID" ] && kill "$RD_PID" 2>/dev/null; pf_stop; anchor_kill_tracked; }
trap cleanup EXIT; trap 'exit 143' TERM; trap 'exit 130' INT

petrel_run() { # rcpts -> "seconds egress_cpu_s"
  local r=$1 prefix="{bench-egress-$RANDOM}" t0 t1 c0 c1
  redis-cli -p "$R_PORT" flushall >/dev/null
  node "$here/deliveries.mjs" preload "redis://127.0.0.1:$R_PORT" "$prefix" "$N" "$r" "$MSG_LEN" "$SINK_PORT"
  start_sink "$SINK_PORT" 600 || return 1
  env -u PETREL_CONFIG PETREL_REDIS__URL="redis://127.0.0.1:$R_PORT" PETREL_REDIS__PREFIX="'$prefix'" \
    PETREL_INGRESS__HOSTNAME=relay.petrel.test PETREL_EGRESS__TLS=none PETREL_METRICS__PORT="$M_PORT" \
    PETREL_EGRESS__CONCURRENCY="${EGRESS_CONCURRENCY:-32}" PETREL_LOG__LEVEL=warn node "$ROOT/apps/egress/dist/main.js" >"$ANCHOR_TMP/egress.log" 2>&1 &
  EG_PID=$!
  local i=0; until curl -sf "http://127.0.0.1:$M_PORT/readyz" >/dev/null; do i=$((i+1)); [ $i -gt 200 ] && { cat "$ANCHOR_TMP/egress.log" >&2; return 1; }; sleep 0.05; done
  c0=$(ticks "$EG_PID"); t0=$(now)
  node "$here/deliveries.mjs" resume "redis://127.0.0.1:$R_PORT" "$prefix"
  t1=$(wait_sink_count "$N" 300); c1=$(ticks "$EG_PID")
  cp "$ANCHOR_TMP/sink.out" "$ANCHOR_TMP/sink-petrel.out"
  kill "$EG_PID"; wait "$EG_PID" 2>/dev/null; EG_PID=
  stop_sink
  awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v k="$TCK" 'BEGIN{ if (b=="NA") print "NA NA"; else printf "%.3f %.2f\n", b-a, c/k }'
}

postfix_run() { # rcpts -> "seconds"
  local r=$1 t0 t1 i=0
  setup_postfix >/dev/null || return 1
  postconf -c "$PF/etc" -e 'smtpd_recipient_restrictions = check_client_access static:HOLD'
  postfix -c "$PF/etc" reload >/dev/null 2>&1; sleep 2
  smtp-source -d -s 20 -m "$N" -l "$MSG_LEN" -r "$r" -M client.bench.test -f sender@client.bench.test \
    -t rcpt@relay.test "127.0.0.1:$PF_PORT" >/dev/null 2>&1
  until [ "$(find "$PF/spool/hold" -type f | wc -l)" -ge "$N" ]; do i=$((i+1)); [ $i -gt 600 ] && return 1; sleep 0.1; done
  start_sink "$SINK_PORT" 600 || return 1
  t0=$(now)
  # Released mail goes to the deferred queue: flush it now rather than at the next queue run.
  postsuper -c "$PF/etc" -H ALL >/dev/null 2>&1
  postqueue -c "$PF/etc" -f >/dev/null 2>&1
  t1=$(wait_sink_count "$N" 300)
  stop_sink; pf_stop
  awk -v a="$t0" -v b="$t1" 'BEGIN{ if (b=="NA") print "NA"; else printf "%.3f\n", b-a }'
}

redis-server --port "$R_PORT" --bind 127.0.0.1 --dir "$ANCHOR_TMP" --appendonly yes --appendfsync "${REDIS_FSYNC:-always}" \
  --save '' --maxmemory-policy noeviction --daemonize no --loglevel warning >"$ANCHOR_TMP/redis.log" 2>&1 &
RD_PID=$!
wait_port "$R_PORT" 10 || { echo "redis did not start" >&2; exit 1; }

{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), node $(node -v), $(redis-server --version | cut -d' ' -f1-3), postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null); $N messages of $MSG_LEN B"
  printf "system\trcpts\trep\tseconds\tmsg_s\tegress_cpu_s\n"
} | tee "$OUT"
for r in $RCPTS; do
  petrel_run "$r" >/dev/null # warm-up
  for rep in $(seq 1 "$REPS"); do
    read -r s cpu <<<"$(petrel_run "$r")"
    printf "petrel\t%s\t%s\t%s\t%s\t%s\n" "$r" "$rep" "$s" "$(awk -v n="$N" -v s="$s" 'BEGIN{ if (s=="NA") print "NA"; else printf "%.0f", n/s }')" "$cpu" | tee -a "$OUT"
    s=$(postfix_run "$r")
    printf "postfix\t%s\t%s\t%s\t%s\t-\n" "$r" "$rep" "$s" "$(awk -v n="$N" -v s="$s" 'BEGIN{ if (s=="NA") print "NA"; else printf "%.0f", n/s }')" | tee -a "$OUT"
  done
done
echo
echo "medians (messages/s at the sink):"
for key in $(awk -F'\t' '!/^#/ && $1!="system" { print $1":"$2 }' "$OUT" | sort -u); do
  awk -F'\t' -v k="$key" '!/^#/ && $1":"$2==k { print $5 }' "$OUT" | sort -n |
    awk -v k="$key" '{ v[NR]=$1 } END { printf "  %-12s %s rcpt: %s\n", substr(k, 1, index(k, ":")-1), substr(k, index(k, ":")+1), v[int((NR+1)/2)] }'
done
