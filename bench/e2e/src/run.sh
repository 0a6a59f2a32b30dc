#!/usr/bin/env bash
# bench/e2e: end to end through the whole relay, Petrel beside Postfix, in one
# sitting on this machine:
#   smtp-source -> relay -> smtp-sink (all on 127.0.0.1)
#   petrel   one ingress, one routing, one egress (apps/*/dist/main.js) and one
#            Redis with AOF; durability none (appendfsync everysec), fsync
#            (appendfsync always) or replicas (the same plus a replica attached,
#            redis.replicas 1, WAIT). routing.transports sends relay.test to the
#            sink and probe.test to the probe; its DNS resolver is a dead port
#            on 127.0.0.1, so no query leaves the machine.
#   postfix  the anchors' private Debian Postfix (setup_postfix read out of
#            $ANCHORS/postfix.sh, relayhost = the sink), with a transport map
#            entry for probe.test and DNS off.
# Per run (sessions x recipients, N messages of MSG_LEN octets, new connection
# per message): acknowledged msg/s (smtp-source wall time), delivered msg/s
# (smtp-source start until smtp-sink has counted N), receipt-to-delivery
# latency p50/p99 from src/probe.mjs (one timestamped message every PROBE_MS
# during the load, to its own sink), CPU seconds per 1,000 messages (machine
# from /proc/stat and per process group) and peak resident memory per group
# (src/procmon.py). Every rep starts each system afresh and warms it up.
# SCALE=1: instead, Petrel with 1..3 ingress processes behind HAProxy (TCP,
# send-proxy-v2) and 1..3 egress processes (SCALE_STEPS), beside Postfix.
# It does not test TLS, AUTH, DNS routing or failures, and its figures mean
# nothing on a machine busy with other work.
# Env: REPS (3), N (5000), MSG_LEN (5000), SESSIONS ("1 20"), RCPTS ("1 10"),
#      MODES ("postfix none fsync replicas"), PROBE_MS (100), RUN_TIMEOUT (300),
#      SCALE (0), SCALE_STEPS ("1:1 2:1 3:1 1:2 1:3" = ingress:egress),
#      SCALE_DURABILITY (fsync), OUT (results/latest.tsv; scale-latest.tsv),
#      ANCHORS, ANCHOR_TMP (/tmp/petrel-bench-e2e), KEEP_TMP (keep ANCHOR_TMP),
#      NICE_ROLES (Petrel services run under nice, e.g. "routing egress"; none),
#      NICE_N (10): how much the services take CPU from one another (the
#      results' first line names them).
set -u
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../../.." && pwd)
# shellcheck source=/dev/null
source "$ROOT/scripts/ensure-node.sh" || exit 1
ANCHORS=${ANCHORS:-$(cd "$ROOT/.." && pwd)/shared/anchors}
[ -f "$ANCHORS/common.sh" ] || { echo "bench/e2e needs the anchors scripts in $ANCHORS" >&2; exit 1; }
export ANCHOR_TMP=${ANCHOR_TMP:-/tmp/petrel-bench-e2e}
rm -rf "$ANCHOR_TMP"; mkdir -p "$ANCHOR_TMP"
# shellcheck source=/dev/null
. "$ANCHORS/common.sh"
eval "$(sed -n '/^pf_stop()/,/^}/p; /^setup_postfix()/,/^}/p; /^queue_count()/p' "$ANCHORS/postfix.sh")"
if ! declare -F setup_postfix >/dev/null || ! declare -F queue_count >/dev/null; then
  echo "could not take setup_postfix/queue_count from $ANCHORS/postfix.sh" >&2; exit 1
fi
PF=$ANCHOR_TMP/postfix
REPS=${REPS:-3}; N=${N:-5000}; MSG_LEN=${MSG_LEN:-5000}
SESSIONS=${SESSIONS:-"1 20"}; RCPTS=${RCPTS:-"1 10"}
MODES=${MODES:-"postfix none fsync replicas"}
PROBE_MS=${PROBE_MS:-100}; RUN_TIMEOUT=${RUN_TIMEOUT:-300}
SCALE=${SCALE:-0}; SCALE_STEPS=${SCALE_STEPS:-"1:1 2:1 3:1 1:2 1:3"}; SCALE_DURABILITY=${SCALE_DURABILITY:-fsync}
if [ "$SCALE" = 1 ]; then
  OUT=${OUT:-$(cd "$here/.." && pwd)/results/scale-latest.tsv}; SESSIONS=${SCALE_SESSIONS:-20}; RCPTS=${SCALE_RCPTS:-1}
else
  OUT=${OUT:-$(cd "$here/.." && pwd)/results/latest.tsv}
fi
MAX_S=14400 # hard bound on every server process this script starts

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT=$(free_port); PROBE_PORT=$(free_port); PF_PORT=$(free_port); R_PORT=$(free_port); R2_PORT=$(free_port)
HP_PORT=$(free_port); DNS_PORT=$(free_port); GRPC_PORT=$(free_port)

# ---------------------------------------------------------------- Petrel
declare -A ROLE_PIDS=() # role -> space-separated pids (timeout wrappers; procmon follows their children)
RELAY_PORT=
P_LOGS=$ANCHOR_TMP/petrel
mkdir -p "$P_LOGS"

redis_start() { # name port appendfsync [replicaof-port]
  local d=$ANCHOR_TMP/$1
  rm -rf "$d"; mkdir -p "$d"
  {
    echo "bind 127.0.0.1"; echo "port $2"; echo "dir $d"; echo 'save ""'
    echo "appendonly yes"; echo "appendfsync $3"; echo "appenddirname aof"
    echo "maxmemory-policy noeviction"; echo "logfile $d/redis.log"
    [ -n "${4:-}" ] && echo "replicaof 127.0.0.1 $4"
  } >"$d/redis.conf"
  timeout "$MAX_S" redis-server "$d/redis.conf" &
  anchor_track $!
  ROLE_PIDS[$1]="${ROLE_PIDS[$1]:-} $!"
  local i=0
  until redis-cli -p "$2" ping >/dev/null 2>&1; do i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1; done
}

svc_nice() { case " ${NICE_ROLES:-} " in *" $1 "*) echo "${NICE_N:-10}" ;; *) echo 0 ;; esac; }

# svc role index extra-env... : start apps/<svc>/dist/main.js with the common settings
svc_start() {
  local svc=$1 role=$2 idx=$3 mport aport
  shift 3
  mport=$(free_port); aport=$(free_port)
  [ "$svc" = egress ] && EGRESS_MPORTS="${EGRESS_MPORTS:-} $mport"
  (
    cd "$ROOT" && exec env -u PETREL_CONFIG \
      PETREL_REDIS__URL="redis://127.0.0.1:$R_PORT" \
      PETREL_REDIS__DURABILITY="$DURABILITY" \
      PETREL_REDIS__REPLICAS=1 \
      PETREL_INGRESS__HOSTNAME=relay.petrel.test \
      PETREL_ROUTING__TRANSPORTS="{relay.test: \"smtp:[127.0.0.1]:$SINK_PORT\", probe.test: \"smtp:[127.0.0.1]:$PROBE_PORT\"}" \
      PETREL_ROUTING__DNS__SERVERS="[\"127.0.0.1:$DNS_PORT\"]" \
      PETREL_ROUTING__GRPC__PORT="$GRPC_PORT" \
      PETREL_EGRESS__TLS=none \
      PETREL_METRICS__HOST=127.0.0.1 PETREL_METRICS__PORT="$mport" \
      PETREL_ADMIN__HOST=127.0.0.1 PETREL_ADMIN__PORT="$aport" \
      PETREL_LOG__LEVEL=warn NODE_ENV=production \
      "$@" nice -n "$(svc_nice "$svc")" timeout "$MAX_S" node "apps/$svc/dist/main.js"
  ) >"$P_LOGS/$role$idx.log" 2>&1 &
  anchor_track $!
  ROLE_PIDS[$role]="${ROLE_PIDS[$role]:-} $!"
  local i=0
  until curl -sf "http://127.0.0.1:$mport/readyz" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 600 ] && { echo "$role$idx not ready:" >&2; tail -20 "$P_LOGS/$role$idx.log" >&2; return 1; }
    sleep 0.1
  done
}

petrel_start() { # durability n_ingress n_egress use_haproxy
  DURABILITY=$1
  local ni=$2 ne=$3 hp=$4 k port ports=() fsync=always
  [ "$1" = none ] && fsync=everysec
  redis_start redis "$R_PORT" "$fsync" || { echo "redis did not start" >&2; return 1; }
  if [ "$1" = replicas ]; then
    redis_start replica "$R2_PORT" everysec "$R_PORT" || { echo "replica did not start" >&2; return 1; }
    local i=0
    until redis-cli -p "$R2_PORT" info replication | grep -q 'master_link_status:up'; do
      i=$((i + 1)); [ $i -gt 100 ] && { echo "replica did not attach" >&2; return 1; }; sleep 0.1
    done
  fi
  for k in $(seq 1 "$ni"); do
    port=$(free_port); ports+=("$port")
    if [ "$hp" = 1 ]; then
      svc_start ingress ingress "$k" PETREL_INGRESS__LISTENERS="[{host: 127.0.0.1, port: $port, proxyProtocol: true}]" \
        PETREL_INGRESS__LOAD_BALANCERS='[127.0.0.1/32]' PETREL_INGRESS__LIMITS__CONNECTIONS_PER_CLIENT=0 \
        PETREL_INGRESS__LIMITS__MESSAGES_PER_CLIENT_PER_MINUTE=0 PETREL_INGRESS__QUEUE__HIGH_WATERMARK=1000000000 || return 1
    else
      svc_start ingress ingress "$k" PETREL_INGRESS__LISTENERS="[{host: 127.0.0.1, port: $port}]" \
        PETREL_INGRESS__LIMITS__CONNECTIONS_PER_CLIENT=0 \
        PETREL_INGRESS__LIMITS__MESSAGES_PER_CLIENT_PER_MINUTE=0 PETREL_INGRESS__QUEUE__HIGH_WATERMARK=1000000000 || return 1
    fi
  done
  svc_start routing routing 1 || return 1
  for k in $(seq 1 "$ne"); do svc_start egress egress "$k" || return 1; done
  if [ "$hp" = 1 ]; then
    {
      printf 'global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n'
      printf 'frontend smtp\n  bind 127.0.0.1:%s\n  default_backend ingress\nbackend ingress\n  balance roundrobin\n' "$HP_PORT"
      for k in "${!ports[@]}"; do printf '  server i%s 127.0.0.1:%s send-proxy-v2\n' "$k" "${ports[$k]}"; done
    } >"$ANCHOR_TMP/haproxy.cfg"
    timeout "$MAX_S" haproxy -db -f "$ANCHOR_TMP/haproxy.cfg" >"$P_LOGS/haproxy.log" 2>&1 &
    anchor_track $!
    ROLE_PIDS[haproxy]=" $!"
    wait_port "$HP_PORT" 10 || { echo "haproxy did not listen" >&2; cat "$P_LOGS/haproxy.log" >&2; return 1; }
    RELAY_PORT=$HP_PORT
  else
    RELAY_PORT=${ports[0]}
  fi
}

stop_pids() { # pids: TERM, wait up to 10 s, KILL
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for p in "$@"; do
    i=0
    while kill -0 "$p" 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && { kill -KILL "$p" 2>/dev/null; break; }; sleep 0.1; done
    wait "$p" 2>/dev/null
  done
}
# One comment line: each egress process's next-hop connections by outcome
# (petrel_egress_connections_total, warm-up included). busy = a delivery found
# every slot of its destination taken for 5 s and was put back for later.
egress_connections() {
  local p k=0 line
  line="# petrel $DURABILITY egress connections (warm-up included):"
  for p in ${EGRESS_MPORTS:-}; do
    k=$((k + 1))
    line="$line e$k $(curl -sf "http://127.0.0.1:$p/metrics" | awk '/^petrel_egress_connections_total/ {
      match($0, /outcome="[a-z]+"/); o = substr($0, RSTART + 9, RLENGTH - 10); n[o] += $NF }
      END { printf "opened=%d reused=%d busy=%d failed=%d", n["opened"], n["reused"], n["busy"], n["failed"] }')"
  done
  echo "$line"
}
petrel_stop() {
  local r
  EGRESS_MPORTS=
  # shellcheck disable=SC2086
  for r in haproxy ingress routing egress replica redis; do [ -n "${ROLE_PIDS[$r]:-}" ] && stop_pids ${ROLE_PIDS[$r]}; done
  ROLE_PIDS=()
}

# ---------------------------------------------------------------- Postfix
postfix_start() {
  setup_postfix >/dev/null || return 1
  postconf -c "$PF/etc" -e "transport_maps = inline:{ probe.test=smtp:[127.0.0.1]:$PROBE_PORT }" \
    'smtp_dns_support_level = disabled' 'smtp_host_lookup = native'
  postfix -c "$PF/etc" reload >/dev/null 2>&1
  sleep 2
  ROLE_PIDS[postfix]=" $(tr -d ' ' <"$PF/spool/pid/master.pid")"
  RELAY_PORT=$PF_PORT
}

# ---------------------------------------------------------------- one run
GROUPS_ALL="relay ingress routing egress redis replica haproxy sink probe"
# sessions rcpts -> one TSV tail (from n on)
one_run() {
  local s=$1 r=$2 t0 t1 t2 ack del probe_line args=() g pids relay_pids=""
  start_sink "$SINK_PORT" "$((RUN_TIMEOUT * 2))" || { echo "sink did not start" >&2; return 1; }
  node "$here/probe.mjs" "$RELAY_PORT" "$PROBE_PORT" "$PROBE_MS" 60 "$ANCHOR_TMP/probe-samples.tsv" >"$ANCHOR_TMP/probe.out" 2>&1 &
  local probe_pid=$!
  anchor_track "$probe_pid"
  for g in ingress routing egress redis replica haproxy postfix; do relay_pids="$relay_pids ${ROLE_PIDS[$g]:-}"; done
  for g in relay ingress routing egress redis replica haproxy; do
    if [ "$g" = relay ]; then pids=$relay_pids; else pids=${ROLE_PIDS[$g]:-}; fi
    pids=$(echo "$pids" | xargs | tr ' ' ,)
    args+=("$g=$pids")
  done
  args+=("sink=$SINK_PID" "probe=$probe_pid")
  python3 "$here/procmon.py" 0.25 "$ANCHOR_TMP/procmon.tsv" "${args[@]}" >"$ANCHOR_TMP/procmon.out" 2>&1 &
  local mon_pid=$!
  anchor_track "$mon_pid"
  local i=0
  until grep -q 'probe ready' "$ANCHOR_TMP/probe.out" && grep -q 'procmon ready' "$ANCHOR_TMP/procmon.out"; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "probe or procmon did not start" >&2; return 1; }; sleep 0.1
  done
  sleep 0.3 # a few probes before the load
  t0=$(now)
  ack=$(run_source "$RUN_TIMEOUT" -s "$s" -m "$N" -l "$MSG_LEN" -r "$r" -M client.bench.test \
    -f sender@client.bench.test -t rcpt@relay.test "127.0.0.1:$RELAY_PORT")
  t1=$(now)
  t2=$(wait_sink_count "$N" "$RUN_TIMEOUT")
  kill -USR1 "$probe_pid" 2>/dev/null
  wait "$probe_pid" 2>/dev/null
  kill -TERM "$mon_pid" 2>/dev/null
  wait "$mon_pid" 2>/dev/null
  probe_line=$(sed -n 's/^TSV\t//p' "$ANCHOR_TMP/probe.out")
  [ -n "$probe_line" ] || { echo "probe: $(tail -3 "$ANCHOR_TMP/probe.out")" >&2; probe_line="NA	NA	NA	NA	NA	NA"; }
  stop_sink
  if [ -n "${ROLE_PIDS[postfix]:-}" ]; then
    i=0; while [ "$(queue_count)" -ne 0 ]; do i=$((i + 1)); [ $i -gt 300 ] && { echo "warning: postfix queue not empty" >&2; break; }; sleep 0.1; done
  fi
  del=$(awk -v a="$t0" -v b="$t2" 'BEGIN{ if (b=="NA") print "NA"; else printf "%.3f", b-a }')
  [ "$ack" = NA ] && ack=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "NA(%.1fs)", b-a }')
  # n ack_s ack_msg_s deliv_s deliv_msg_s probe(sent accepted delivered p50 p99 max) cpu... rss...
  awk -F'\t' -v OFS='\t' -v n="$N" -v ack="$ack" -v del="$del" -v probe="$probe_line" -v groups="machine $GROUPS_ALL" '
    function per1k(c) { return (c=="" || c=="NA") ? "NA" : sprintf("%.3f", c*1000/n) }
    function rate(t) { return (t ~ /^NA/ || t<=0) ? "NA" : sprintf("%.1f", n/t) }
    NR>1 { pss[$1]=$6; cpu[$1]=$2; rss[$1]=($5>0 || $1=="machine") ? $3 : "NA"; hwm[$1]=$4; procs[$1]=$5 }
    END {
      ng=split(groups, g, " ")
      line=n OFS ack OFS rate(ack) OFS del OFS rate(del) OFS probe
      for (i=1;i<=ng;i++) line=line OFS ((g[i] in procs && (procs[g[i]]>0 || g[i]=="machine")) ? per1k(cpu[g[i]]) : "NA")
      for (i=2;i<=ng;i++) line=line OFS ((g[i] in procs && procs[g[i]]>0) ? rss[g[i]] : "NA")
      for (i=2;i<=ng;i++) line=line OFS ((g[i] in procs && procs[g[i]]>0) ? hwm[g[i]] : "NA")
      line=line OFS ((procs["relay"]>0) ? pss["relay"] : "NA")
      print line
    }' "$ANCHOR_TMP/procmon.tsv"
}

warm_up() {
  start_sink "$SINK_PORT" 120 >/dev/null || return 1
  timeout 120 smtp-source -s 20 -m "${WARM_N:-500}" -l "$MSG_LEN" -M client.bench.test -f sender@client.bench.test \
    -t rcpt@relay.test "127.0.0.1:$RELAY_PORT" >/dev/null 2>&1
  wait_sink_count "${WARM_N:-500}" 60 >/dev/null
  stop_sink
}

cleanup() { petrel_stop; pf_stop; anchor_kill_tracked; [ -n "${KEEP_TMP:-}" ] || rm -rf "$ANCHOR_TMP/postfix/spool"; }
trap cleanup EXIT; trap 'exit 143' TERM; trap 'exit 130' INT

header() {
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), node $(node -v), $(redis-server --version | cut -d' ' -f1-3), postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null), haproxy $(dpkg-query -W -f '${Version}' haproxy 2>/dev/null); N=$N messages of $MSG_LEN B, new connection per message; probe every $PROBE_MS ms;${NICE_ROLES:+ under nice -n ${NICE_N:-10}: $NICE_ROLES;} load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# cpu_*_s_per_1k: CPU s per 1000 load messages from smtp-source start until the sink counted N (machine: /proc/stat, includes smtp-source and other tenants); rss_*_mib: peak summed VmRSS of the group (sampled every 0.25 s); hwm_*_mib: largest VmHWM of one process of the group (over its life, warm-up included); pss_relay_mib: peak summed Pss of the relay group (shared pages counted once); relay = every relay process (petrel: ingress+routing+egress+redis+replica+haproxy; postfix: master and its children)"
  local h="system	mode	ingress	egress	sessions	rcpts	rep	n	ack_s	ack_msg_s	deliv_s	deliv_msg_s	probe_sent	probe_accepted	probe_delivered	lat_p50_ms	lat_p99_ms	lat_max_ms	cpu_machine_s_per_1k" g
  for g in $GROUPS_ALL; do h="$h	cpu_${g}_s_per_1k"; done
  for g in $GROUPS_ALL; do h="$h	rss_${g}_mib"; done
  for g in $GROUPS_ALL; do h="$h	hwm_${g}_mib"; done
  h="$h	pss_relay_mib"
  echo "$h"
}

# configurations: system:mode:ingress:egress:haproxy
CONFIGS=()
if [ "$SCALE" = 1 ]; then
  command -v haproxy >/dev/null || { echo "SCALE=1 needs haproxy (apt-get install haproxy)" >&2; exit 1; }
  case " $MODES " in *" postfix "*) CONFIGS+=("postfix:postfix:-:-:0") ;; esac
  for st in $SCALE_STEPS; do CONFIGS+=("petrel:$SCALE_DURABILITY:${st%%:*}:${st##*:}:1"); done
else
  for m in $MODES; do
    if [ "$m" = postfix ]; then CONFIGS+=("postfix:postfix:-:-:0"); else CONFIGS+=("petrel:$m:1:1:0"); fi
  done
fi

header | tee "$OUT"
for rep in $(seq 1 "$REPS"); do
  for c in "${CONFIGS[@]}"; do
    IFS=: read -r sys mode ni ne hp <<<"$c"
    if [ "$sys" = postfix ]; then
      postfix_start || { echo "postfix did not start" >&2; pf_stop; continue; }
    else
      petrel_start "$mode" "$ni" "$ne" "$hp" || { echo "petrel $mode did not start" >&2; petrel_stop; continue; }
    fi
    warm_up || echo "warning: warm-up incomplete ($sys $mode)" >&2
    for s in $SESSIONS; do
      for r in $RCPTS; do
        row=$(one_run "$s" "$r") || row="NA"
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$sys" "$mode" "$ni" "$ne" "$s" "$r" "$rep" "$row" | tee -a "$OUT"
      done
    done
    if [ "$sys" = postfix ]; then
      echo "# postfix rep $rep: deferred/bounced in maillog: $(grep -cE 'status=(deferred|bounced)' "$PF/maillog")" | tee -a "$OUT"
      pf_stop; ROLE_PIDS=()
    else
      grep -h -E '"level":"?(error|fatal|50|60)' "$P_LOGS"/*.log 2>/dev/null | head -3 | sed 's/^/# petrel log: /' | tee -a "$OUT"
      egress_connections | tee -a "$OUT"
      petrel_stop
    fi
  done
done
echo
node "$here/summary.mjs" "$OUT"
