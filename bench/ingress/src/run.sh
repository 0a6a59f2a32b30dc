#!/usr/bin/env bash
# bench/ingress: Petrel's ingress accepting mail, beside Debian's Postfix (delivery
# held: accept only, fsync before 250) and the naive Node stack (nodemailer's
# smtp-server + BullMQ), all three measured in one sitting on this machine.
#
#   throughput  smtp-source (5 KB, 1 and 10 recipients, 1 and 50 sessions, a new
#               connection per message or connections reused with -d) against
#               every configuration; accept rate = messages stored / smtp-source
#               wall time; CPU seconds per 1,000 messages of the server, its
#               Redis, smtp-source and the whole machine (/proc/stat). Reps are
#               interleaved (rep 1 of every configuration, then rep 2, ...);
#               every configuration starts fresh and is warmed up, every run
#               starts with an empty store.
#   latency     the anchors' smtp_latency.py probe (end of DATA -> 250, one
#               message per connection) alone, under smtp-source -s 50 (new
#               connection per message) and under smtp-source -d -s 50 (reused).
#   idle        IDLE_N idle sessions (the anchors' naive-node-idle.py: connect,
#               220, EHLO, idle) on one ingress process and on the naive stack:
#               resident memory per session, greeting time before and meanwhile.
#   profile     the ingress under node --cpu-prof for two variants; the top
#               frames summarised (profile-summary.mjs).
#   report      results/latest/report.md from the TSVs (report.mjs).
#
# Configurations: petrel-fsync (durability fsync: Redis appendfsync always),
# petrel-everysec (durability none, appendfsync everysec), petrel-none
# (durability none, no AOF), postfix-hold, naive-always, naive-everysec.
#
# Usage: src/run.sh [all|throughput|latency|idle|profile|report]...  (all = throughput latency idle report, ~17 min)
# Env:   REPS (3)  CONFIGS  LAT_CONFIGS  IDLE_CONFIGS  VARIANTS ("1:1 1:10 50:1 50:10",
#        sessions:recipients, each with a new connection per message and reused)
#        SCALE (1: multiplies every message count; 0.2 for a quick look)
#        LAT_N (200 probes)  LAT_SESSIONS (50)  IDLE_N (10000)  MSG_LEN (5000)
#        ANCHORS (../../../shared/anchors from bench/ingress)  OUT (results/latest)
set -u
here=$(cd "$(dirname "$0")" && pwd)
BENCH=$(cd "$here/.." && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
ANCHORS=${ANCHORS:-$BENCH/../../../shared/anchors}
[ -d "$ANCHORS" ] && ANCHORS=$(cd "$ANCHORS" && pwd)
OUT=${OUT:-$BENCH/results/latest}
mkdir -p "$OUT"

# shellcheck source=/dev/null
source "$ROOT/scripts/ensure-node.sh" || exit 1

if [ ! -f "$ANCHORS/common.sh" ]; then
  echo "bench/ingress: the anchors' scripts are not at $ANCHORS (set ANCHORS=...);" >&2
  echo "  they run Postfix and the naive Node stack, and hold the helpers (common.sh)." >&2
  exit 1
fi
for tool in smtp-source redis-server redis-cli postconf python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/ingress: $tool is missing (apt-get install postfix redis-server python3)" >&2; exit 1; }
done
[ -f "$ROOT/apps/ingress/dist/main.js" ] || { echo "bench/ingress: build first: npx nx run-many -t build" >&2; exit 1; }

LAT_N=${LAT_N:-200}                  # (before common.sh, whose default is 500)
BT=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-ingress.XXXXXX")
chmod 755 "$BT" # the Postfix queue lives below it: its daemons must reach it
export ANCHOR_TMP=$BT/anchor RESULTS=$BT/anchor-results
# shellcheck source=/dev/null
. "$ANCHORS/common.sh"
NAIVE_CACHE=${NAIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel-bench-ingress/anchors}
MAX_SERVER_S=${MAX_SERVER_S:-3600}   # every server is bounded by timeout(1)
RUN_TIMEOUT=${RUN_TIMEOUT:-180}      # one smtp-source run
MSG_LEN=${MSG_LEN:-5000}
SCALE=${SCALE:-1}
CONFIGS=${CONFIGS:-"petrel-fsync petrel-everysec petrel-none postfix-hold naive-always naive-everysec"}
LAT_CONFIGS=${LAT_CONFIGS:-"petrel-fsync postfix-hold naive-always"}
IDLE_CONFIGS=${IDLE_CONFIGS:-"petrel-fsync naive-everysec"}
VARIANTS=${VARIANTS:-"1:1 1:10 50:1 50:10"}
LAT_N_NAIVE=${LAT_N_NAIVE:-100}      # the naive stack greets after 100 ms: each probe takes 0.1 s
LAT_SESSIONS=${LAT_SESSIONS:-50}
IDLE_N=${IDLE_N:-10000}
OTHER_MAX=${OTHER_MAX:-0.3}          # cores used by the rest of the machine during a run before it is redone
RETRIES=${RETRIES:-2}
QUIET_CORES=${QUIET_CORES:-0.2}      # "quiet": the machine busy with at most this many cores...
QUIET_WAIT_S=${QUIET_WAIT_S:-120}    # ...waited for at most this long
SRC_ARGS=(-l "$MSG_LEN" -M client.bench.test -f sender@client.bench.test -t rcpt@relay.test)

# shellcheck source=bench/ingress/src/lib.sh
. "$here/lib.sh"
read -r P_PORT P_RPORT P_MPORT N_PORT R_PORT PF_PORT SINK_PORT < <(free_ports 7)

cleanup() {
  sys_stop 2>/dev/null
  petrel_stop 2>/dev/null
  naive_stop 2>/dev/null
  postfix_stop 2>/dev/null
  anchor_kill_tracked
  rm -rf "$BT"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

machine() {
  echo "# $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo); $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "# node $(node -v), $(redis-server --version | cut -d' ' -f1-3), postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null); body $MSG_LEN B; smtp-source ${SRC_ARGS[*]}"
}

# Messages per run: about 3-5 s per run for each system (SCALE multiplies them).
count() { # system sessions conn(per-msg|reuse) [rcpts] -> messages
  local sys=$1 s=$2 conn=$3 r=${4:-1} n
  case $sys:$conn in
    naive-*:per-msg) n=$((s * 25 * (r >= 10 ? 2 : 1))) ;; # smtp-server greets after 100 ms: ~10 msg/s per session
    naive-*:reuse) n=$([ "$s" -ge 20 ] && echo 10000 || echo 2000) ;;
    postfix-*:*) n=$([ "$s" -ge 20 ] && echo 4000 || echo 1500) ;;
    petrel-*:per-msg) n=$([ "$s" -ge 20 ] && echo 8000 || echo 2000) ;;
    petrel-*:reuse) n=$([ "$s" -ge 20 ] && echo 12000 || echo 2500) ;;
  esac
  # 10 recipients: about half the rate, half the messages
  awk -v n="$n" -v k="$SCALE" -v s="$s" -v r="$r" 'BEGIN{ m=int(n*k/(r>=10?2:1)); if (m < 2*s) m = 2*s; print m }'
}

warm_up() {
  local port
  port=$(sys_port)
  case $CUR in
    naive-*) run_load 120 -d -s 20 -m "$(count "$CUR" 20 reuse)" "${SRC_ARGS[@]}" "127.0.0.1:$port" ;;
    *)
      run_load 120 -s 20 -m "$(awk -v k="$SCALE" 'BEGIN{print int(3000*k)+40}')" -r 10 "${SRC_ARGS[@]}" "127.0.0.1:$port"
      run_load 120 -d -s 20 -m "$(awk -v k="$SCALE" 'BEGIN{print int(3000*k)+40}')" "${SRC_ARGS[@]}" "127.0.0.1:$port"
      ;;
  esac
  sys_reset
}

# measure sessions rcpts conn -> a TSV row (without the leading columns)
measure() {
  local s=$1 r=$2 conn=$3 m extra=() port rp c0 c1 sv0 sv1 r0 r1 mc0 mc1 w0 w1 n srv
  m=$(count "$CUR" "$s" "$conn" "$r")
  [ "$conn" = reuse ] && extra=(-d)
  port=$(sys_port)
  rp=$(sys_redis_pid)
  c0=$(sys_accepted)
  # shellcheck disable=SC2046
  sv0=$(pid_ticks $(sys_server_pids))
  r0=$(pid_ticks $rp)
  mc0=$(machine_ticks)
  w0=$(now)
  run_load "$RUN_TIMEOUT" "${extra[@]}" -s "$s" -m "$m" -r "$r" "${SRC_ARGS[@]}" "127.0.0.1:$port"
  w1=$(now)
  # shellcheck disable=SC2046
  sv1=$(pid_ticks $(sys_server_pids))
  r1=$(pid_ticks $rp)
  mc1=$(machine_ticks)
  c1=$(sys_accepted)
  n=$((c1 - c0))
  srv=$((sv1 - sv0))
  local wall other
  wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN{ printf "%.3f", b-a }')
  # CPU of everything else on the machine meanwhile (other tenants, kernel threads):
  # a run with much of it was disturbed.
  other=$(cores $((mc1 - mc0 - srv - (r1 - r0) - LOAD_TICKS)) "$wall")
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$m" "$LOAD_S" "$(rate "$n" "$LOAD_S")" "$n" "$LOAD_RC" \
    "$(per1k "$srv" "$n")" "$([ -n "$rp" ] && per1k $((r1 - r0)) "$n" || echo NA)" "$(per1k "$LOAD_TICKS" "$n")" \
    "$(per1k $((mc1 - mc0)) "$n")" "$(cores "$srv" "$wall")" "$other"
  sys_reset
}

# one_run sessions rcpts conn -> the row of a run that other processes did not disturb:
# a run during which the rest of the machine used more than OTHER_MAX cores is measured
# again (at most RETRIES times), once the machine is quiet. Adds the retries column.
one_run() {
  local row try=0 other
  while :; do
    row=$(measure "$@")
    other=$(cut -f11 <<<"$row")
    if awk -v o="$other" -v m="$OTHER_MAX" 'BEGIN{ exit !(o == "NA" || o <= m) }' || [ "$try" -ge "$RETRIES" ]; then
      break
    fi
    try=$((try + 1))
    echo "  ($CUR $*: other processes used $other cores meanwhile; again once the machine is quiet)" >&2
    wait_quiet
  done
  printf "%s\t%s\n" "$row" "$try"
}

throughput() {
  local f=$OUT/throughput.tsv rep cfg v s r conn row
  {
    machine
    echo "# accept_msg_s = messages stored (Redis wait list / Postfix hold queue) per second of smtp-source wall time; cpu_*_s_per_1k = CPU seconds (user+sys) per 1,000 stored messages: server = the ingress Node process / all Postfix processes, redis, source = smtp-source, machine = /proc/stat of every core; server_cores = server CPU per wall second; other_cores = machine CPU not spent by server, redis or smtp-source, per wall second (other tenants, kernel threads); a run with other_cores > $OTHER_MAX was measured again once the machine was quiet (retries, at most $RETRIES)"
    printf "system\tsessions\trcpts\tconn\trep\tmessages\taccept_s\taccept_msg_s\taccepted\tsource_rc\tcpu_server_s_per_1k\tcpu_redis_s_per_1k\tcpu_source_s_per_1k\tcpu_machine_s_per_1k\tserver_cores\tother_cores\tretries\n"
  } | tee "$f"
  for rep in $(seq 1 "$REPS"); do
    for cfg in $CONFIGS; do
      sys_start "$cfg" || { echo "could not start $cfg" >&2; sys_stop; continue; }
      warm_up
      for v in $VARIANTS; do
        IFS=: read -r s r <<<"$v"
        for conn in per-msg reuse; do
          row=$(one_run "$s" "$r" "$conn")
          printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$cfg" "$s" "$r" "$conn" "$rep" "$row" | tee -a "$f"
        done
      done
      sys_stop
    done
  done
}

latency() {
  local f=$OUT/latency.tsv cfg mode rep lpid line port c0 c1 t0 t1 extra n
  {
    machine
    echo "# smtp_latency.py: $LAT_N messages ($LAT_N_NAIVE against the naive stack), one per connection, $MSG_LEN B, 1 rcpt; dot = end of DATA (<CRLF>.<CRLF> sent) -> 250; txn = connect -> 250; load = smtp-source -s $LAT_SESSIONS (new connection per message), loadd = smtp-source -d -s $LAT_SESSIONS (reused); bg_msg_s = what the load got accepted meanwhile"
    printf "system\tmode\trep\tdot_p50_ms\tdot_p99_ms\ttxn_p50_ms\ttxn_p99_ms\tbg_msg_s\n"
  } | tee "$f"
  for cfg in $LAT_CONFIGS; do
    sys_start "$cfg" || { sys_stop; continue; }
    warm_up
    port=$(sys_port)
    for mode in idle "load$LAT_SESSIONS" "load${LAT_SESSIONS}d"; do
      for rep in $(seq 1 "$REPS"); do
        wait_quiet
        lpid=
        if [ "$mode" != idle ]; then
          extra=()
          [ "$mode" = "load${LAT_SESSIONS}d" ] && extra=(-d)
          timeout 300 smtp-source "${extra[@]}" -s "$LAT_SESSIONS" -m 100000000 "${SRC_ARGS[@]}" "127.0.0.1:$port" >/dev/null 2>&1 &
          lpid=$!
          anchor_track "$lpid"
          sleep 2
        fi
        c0=$(sys_accepted)
        t0=$(now)
        n=$LAT_N
        case $cfg in naive-*) n=$LAT_N_NAIVE ;; esac
        line=$(timeout 300 python3 "$ANCHORS/smtp_latency.py" 127.0.0.1 "$port" "$n" "$MSG_LEN" 1 | awk -F'\t' '/^TSV/{print $2"\t"$3"\t"$4"\t"$5}')
        t1=$(now)
        c1=$(sys_accepted)
        [ -n "$lpid" ] && { kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null; }
        printf "%s\t%s\t%s\t%s\t%s\n" "$cfg" "$mode" "$rep" "${line:-NA	NA	NA	NA}" \
          "$(awk -v a="$c0" -v b="$c1" -v n="$n" -v x="$t0" -v y="$t1" 'BEGIN{ v=(b-a-n)/(y-x); printf "%.0f", (v<0?0:v) }')" | tee -a "$f"
        sleep 0.5
        sys_reset
      done
    done
    sys_stop
  done
}

idle() {
  local f=$OUT/idle.tsv cfg rep line pid
  ulimit -n "$(ulimit -Hn)" 2>/dev/null
  {
    machine
    echo "# naive-node-idle.py: $IDLE_N sessions (connect, 220, EHLO, then idle; 500 opening at a time) on one server process; rss per session = (VmRSS with them open - VmRSS before) / sessions; greet = connect -> 220 of a new session (50 probes) before and while they are open; dot = smtp_latency.py (100 messages) while they are open; open file limit $(ulimit -n)"
    printf "system\tsessions\trep\topen_ok\topen_failed\topen_s\trss_before_mib\trss_open_mib\trss_kib_per_session\tcpu_open_s_per_1k_sessions\tgreet_before_p50_ms\tgreet_before_max_ms\tgreet_open_p50_ms\tgreet_open_max_ms\tdot_p50_open_ms\tdot_p99_open_ms\tclosed_by_server\trss_after_close_mib\n"
  } | tee "$f"
  for rep in $(seq 1 "$REPS"); do
    for cfg in $IDLE_CONFIGS; do
      sys_start "$cfg" || { sys_stop; continue; }
      # IDLE_WARM_UP=1: as the anchors did (after a warm-up, whose garbage leaves free
      # heap that the sessions then fill without growing the RSS); default: a fresh process.
      [ "${IDLE_WARM_UP:-0}" = 1 ] && warm_up
      # shellcheck disable=SC2046
      pid=$(sys_server_pids | head -1)
      line=$(timeout 300 python3 "$ANCHORS/naive-node-idle.py" 127.0.0.1 "$(sys_port)" "$IDLE_N" "$pid" \
        --during python3 "$ANCHORS/smtp_latency.py" 127.0.0.1 "$(sys_port)" 100 "$MSG_LEN" 1 | tee "$BT/idle.out" | sed -n 's/^TSV\t//p')
      grep -v '^TSV' "$BT/idle.out" >&2
      [ -n "$line" ] && awk -F'\t' -v cfg="$cfg" -v rep="$rep" -v n="$IDLE_N" '{
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.2f\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", cfg, n, rep, $1, $2, $3,
          $4/1024, $5/1024, ($1>0?($5-$4)/$1:0), ($1>0?$7/$1*1000:0), $8, $9, $10, $11, $12, $13, $16, $17/1024 }' <<<"$line" | tee -a "$f"
      sys_stop
    done
  done
}

profile() {
  local d=$OUT/profile v s r conn m pv=${PROFILE_VARIANTS:-"50:1:per-msg 50:1:reuse"}
  rm -rf "$d"
  mkdir -p "$d"
  for v in $pv; do
    IFS=: read -r s r conn <<<"$v"
    INGRESS_NODE_ARGS="--cpu-prof --cpu-prof-dir=$d/$s-$r-$conn" sys_start petrel-fsync || { sys_stop; continue; }
    warm_up
    m=$(count petrel-fsync "$s" "$conn")
    echo "profile petrel-fsync $s sessions $r rcpt $conn: $(one_run "$s" "$r" "$conn" | cut -f3) msg/s (under the profiler)" | tee "$d/$s-$r-$conn.md"
    sys_stop
    node "$here/profile-summary.mjs" "$d/$s-$r-$conn"/*.cpuprofile 30 --md | tee -a "$d/$s-$r-$conn.md"
  done
}

report() { node "$here/report.mjs" "$OUT" | tee "$OUT/report.md"; }

phases=${*:-all}
[ "$phases" = all ] && phases="throughput latency idle report"
started=$(date +%s)
for p in $phases; do
  case $p in
    throughput | latency | idle | profile | report) "$p" ;;
    *) echo "usage: $0 [all|throughput|latency|idle|profile|report]..." >&2; exit 2 ;;
  esac
done
echo "bench/ingress: $phases in $(($(date +%s) - started)) s; results in $OUT" >&2
