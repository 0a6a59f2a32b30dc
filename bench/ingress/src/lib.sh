# shellcheck shell=bash
# Helpers of bench/ingress (sourced by run.sh; not run on their own): the three
# systems under load, each started on free 127.0.0.1 ports and stopped again,
# and the CPU accounting of a run.
#   petrel-*    apps/ingress/dist/main.js and its own redis-server (this file)
#   postfix-*   the anchors' private Postfix instance (setup_postfix, pf_stop and
#               queue_count are read out of $ANCHORS/postfix.sh, as the anchors'
#               naive-node.sh does), every message put on hold: fsync'ed before
#               250, never delivered
#   naive-*     $ANCHORS/naive-node.sh --setup-only always|everysec: nodemailer's
#               smtp-server + BullMQ + its Redis, exactly as the anchors run it
# Every process started here is recorded with common.sh's anchor_track and
# killed by PID at the end (anchor_kill_tracked); nothing is killed by name.

# ---------------------------------------------------------------- ports, clock
free_ports() { # n -> n distinct free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

TCK=$(getconf CLK_TCK)
# utime+stime+cutime+cstime of PIDs (children reaped by them included: Postfix's
# master reaps its smtpd and cleanup processes)
pid_ticks() {
  local p t=0 v
  for p in "$@"; do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13+$14+$15}')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; } # user nice system irq softirq
per1k() { awk -v t="$1" -v n="$2" -v k="$TCK" 'BEGIN{ if (t=="" || n=="" || n<=0) print "NA"; else printf "%.3f", t/k/n*1000 }'; }
cores() { awk -v t="$1" -v w="$2" -v k="$TCK" 'BEGIN{ if (w<=0) print "NA"; else printf "%.2f", t/k/w }'; }

# Wait (at most QUIET_WAIT_S) until the whole machine uses at most QUIET_CORES cores
# (our servers are idle meanwhile): other tenants of a shared machine disturb a run.
wait_quiet() {
  local t0=$SECONDS a b c
  while :; do
    a=$(machine_ticks)
    sleep 1
    b=$(machine_ticks)
    c=$(cores $((b - a)) 1)
    awk -v c="$c" -v q="$QUIET_CORES" 'BEGIN{ exit !(c <= q) }' && return 0
    if [ $((SECONDS - t0)) -ge "$QUIET_WAIT_S" ]; then
      echo "  (the machine stayed busy: $c cores after ${QUIET_WAIT_S} s; measuring anyway)" >&2
      return 1
    fi
  done
}

# run_load <timeout_s> <smtp-source args...>: runs smtp-source; sets LOAD_RC, LOAD_S
# (wall seconds) and LOAD_TICKS (its CPU: user+sys of the subshell's children,
# which are timeout and smtp-source only).
run_load() {
  local tmo=$1
  shift
  (
    t0=$(now)
    timeout "$tmo" smtp-source "$@" >"$BT/source.out" 2>&1 &
    sp=$!
    anchor_track "$sp"
    wait "$sp"
    rc=$?
    t1=$(now)
    times >"$BT/source.times"
    echo "$rc $t0 $t1" >"$BT/source.res"
  )
  local t0 t1 ut st
  read -r LOAD_RC t0 t1 <"$BT/source.res"
  read -r ut st < <(sed -n 2p "$BT/source.times")
  LOAD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.3f", b-a }')
  LOAD_TICKS=$(awk -v u="$ut" -v s="$st" -v k="$TCK" 'function sec(x){ split(x,p,"m"); sub("s","",p[2]); return p[1]*60+p[2] }
    BEGIN{ printf "%.0f", (sec(u)+sec(s))*k }')
  [ "$LOAD_RC" = 0 ] || echo "smtp-source rc=$LOAD_RC: $(tail -3 "$BT/source.out")" >&2
}

# ---------------------------------------------------------------- Redis (Petrel's)
P_REDIS_PID=
P_REDIS_TO=
predis_cli() { redis-cli -h 127.0.0.1 -p "$P_RPORT" "$@"; }
predis_start() { # always | everysec | off (no AOF)
  predis_stop
  local rd=$BT/petrel-redis
  rm -rf "$rd"
  mkdir -p "$rd"
  {
    echo "bind 127.0.0.1"
    echo "port $P_RPORT"
    echo "protected-mode yes"
    echo "daemonize no"
    echo "dir $rd"
    echo 'save ""'
    echo "maxmemory-policy noeviction"
    echo "logfile $rd/redis.log"
    if [ "$1" = off ]; then
      echo "appendonly no"
    else
      echo "appendonly yes"
      echo "appendfsync $1"
      echo "appenddirname aof"
    fi
  } >"$rd/redis.conf"
  timeout "$MAX_SERVER_S" redis-server "$rd/redis.conf" &
  P_REDIS_TO=$!
  anchor_track "$P_REDIS_TO"
  local i=0
  until predis_cli ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "petrel's redis did not start" >&2; return 1; }
    sleep 0.1
  done
  P_REDIS_PID=$(predis_cli info server | tr -d '\r' | sed -n 's/^process_id://p')
  anchor_track "$P_REDIS_PID"
}
predis_stop() {
  [ -n "$P_REDIS_PID" ] || return 0
  kill "$P_REDIS_PID" 2>/dev/null
  local i=0
  while kill -0 "$P_REDIS_PID" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { kill -9 "$P_REDIS_PID" 2>/dev/null; break; }
    sleep 0.1
  done
  wait "$P_REDIS_TO" 2>/dev/null
  P_REDIS_PID=
  P_REDIS_TO=
}
redis_info_field() { redis-cli -h 127.0.0.1 -p "$1" info persistence | tr -d '\r' | sed -n "s/^$2://p"; }
# Empty a Redis and shrink its AOF, so that every run starts alike (as naive-node.sh does).
redis_reset() { # port
  redis-cli -h 127.0.0.1 -p "$1" flushall >/dev/null
  [ "$(redis_info_field "$1" aof_enabled)" = 1 ] || return 0
  redis-cli -h 127.0.0.1 -p "$1" bgrewriteaof >/dev/null 2>&1
  local i=0
  while [ "$(redis_info_field "$1" aof_rewrite_in_progress)" != 0 ] || [ "$(redis_info_field "$1" aof_rewrite_scheduled)" != 0 ]; do
    i=$((i + 1))
    [ $i -gt 600 ] && { echo "warning: AOF rewrite still running" >&2; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------- Petrel ingress
P_NODE_PID=
P_TO=
petrel_start() { # petrel-fsync | petrel-everysec | petrel-none
  local durability fsync
  case $1 in
    petrel-fsync) durability=fsync fsync=always ;;
    petrel-everysec) durability=none fsync=everysec ;;
    petrel-none) durability=none fsync=off ;;
    *) echo "unknown configuration $1" >&2; return 1 ;;
  esac
  predis_start "$fsync" || return 1
  : >"$BT/ingress.log"
  # Client limits off (0): every session comes from 127.0.0.1. The watermark out of
  # the way: no consumer drains the queue during a run.
  (
    cd "${INGRESS_ROOT:-$ROOT}" && exec env PETREL_CONFIG= \
      PETREL_REDIS__URL="redis://127.0.0.1:$P_RPORT" \
      PETREL_REDIS__DURABILITY="$durability" \
      PETREL_INGRESS__HOSTNAME=petrel.bench.test \
      PETREL_INGRESS__LISTENERS="[{host: 127.0.0.1, port: $P_PORT}]" \
      PETREL_INGRESS__LIMITS__CONNECTIONS_PER_CLIENT=0 \
      PETREL_INGRESS__LIMITS__MESSAGES_PER_CLIENT_PER_MINUTE=0 \
      PETREL_INGRESS__QUEUE__HIGH_WATERMARK=1000000000 \
      PETREL_METRICS__HOST=127.0.0.1 \
      PETREL_METRICS__PORT="$P_MPORT" \
      PETREL_LOG__LEVEL=warn \
      NODE_ENV=production \
      timeout "$MAX_SERVER_S" node ${INGRESS_NODE_ARGS:-} apps/ingress/dist/main.js
  ) >>"$BT/ingress.log" 2>&1 &
  P_TO=$!
  anchor_track "$P_TO"
  if ! wait_port "$P_PORT" 60; then
    echo "ingress did not listen on $P_PORT:" >&2
    tail -20 "$BT/ingress.log" >&2
    return 1
  fi
  P_NODE_PID=$(pgrep -P "$P_TO" | head -1)
  [ -n "$P_NODE_PID" ] && anchor_track "$P_NODE_PID"
}
petrel_stop() {
  if [ -n "$P_NODE_PID" ]; then
    kill -TERM "$P_NODE_PID" 2>/dev/null # drains, writes a --cpu-prof profile, exits
    local i=0
    while kill -0 "$P_NODE_PID" 2>/dev/null; do
      i=$((i + 1))
      [ $i -gt 400 ] && { kill -9 "$P_NODE_PID" 2>/dev/null; break; }
      sleep 0.1
    done
  fi
  [ -n "$P_TO" ] && wait "$P_TO" 2>/dev/null
  P_NODE_PID=
  P_TO=
  predis_stop
}

# ---------------------------------------------------------------- Postfix (anchors)
PF=$BT/postfix
if [ -f "$ANCHORS/postfix.sh" ]; then
  eval "$(sed -n '/^pf_stop()/,/^}/p; /^setup_postfix()/,/^}/p; /^queue_count()/p' "$ANCHORS/postfix.sh")"
fi
postfix_start() { # postfix-hold
  declare -F setup_postfix >/dev/null || { echo "no setup_postfix in $ANCHORS/postfix.sh" >&2; return 1; }
  setup_postfix || return 1
  # Accept only: every message is fsync'ed into the hold queue before the 250 and
  # never delivered (naive-node.sh's postfix-hold).
  postconf -c "$PF/etc" -e 'smtpd_recipient_restrictions = check_client_access static:HOLD'
  postfix -c "$PF/etc" reload >/dev/null 2>&1
  sleep 2
}
postfix_stop() { declare -F pf_stop >/dev/null && pf_stop; }
postfix_pids() {
  local m
  m=$(tr -d ' ' <"$PF/spool/pid/master.pid" 2>/dev/null)
  [ -n "$m" ] && { echo "$m"; ps -o pid= --ppid "$m"; }
}
hold_count() { find "$PF/spool/hold" -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- naive Node stack (anchors)
NV_PID=
NV_NODE_PID=
NV_REDIS_PID=
naive_start() { # naive-always | naive-everysec
  local mode=${1#naive-}
  : >"$BT/naive.out"
  # Its own ANCHOR_TMP: naive-node.sh's clean-up also stops "$ANCHOR_TMP/postfix".
  # The npm install (smtp-server, bullmq, ioredis) is kept in $NAIVE_CACHE between runs.
  mkdir -p "$NAIVE_CACHE"
  ANCHOR_TMP=$NAIVE_CACHE N_PORT=$N_PORT R_PORT=$R_PORT NODE=node \
    timeout "$MAX_SERVER_S" bash "$ANCHORS/naive-node.sh" --setup-only "$mode" >"$BT/naive.out" 2>&1 &
  NV_PID=$!
  anchor_track "$NV_PID"
  local i=0
  until grep -q '^ingress pid' "$BT/naive.out"; do
    i=$((i + 1))
    if [ $i -gt 6000 ] || ! kill -0 "$NV_PID" 2>/dev/null; then
      echo "the naive stack did not start:" >&2
      tail -20 "$BT/naive.out" >&2
      return 1
    fi
    sleep 0.1
  done
  read -r NV_NODE_PID NV_REDIS_PID < <(sed -n 's/^ingress pid \([0-9]*\) on [0-9]*, redis pid \([0-9]*\).*/\1 \2/p' "$BT/naive.out")
  anchor_track "$NV_NODE_PID"
  anchor_track "$NV_REDIS_PID"
}
naive_stop() {
  [ -n "$NV_PID" ] || return 0
  kill -TERM "$NV_PID" 2>/dev/null # timeout passes it on; naive-node.sh's trap stops node and redis
  wait "$NV_PID" 2>/dev/null
  local i=0
  while [ -n "$NV_NODE_PID" ] && kill -0 "$NV_NODE_PID" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { kill -9 "$NV_NODE_PID" 2>/dev/null; break; }
    sleep 0.1
  done
  NV_PID= NV_NODE_PID= NV_REDIS_PID=
}

# ---------------------------------------------------------------- one interface for all
CUR=
sys_start() {
  CUR=$1
  case $1 in
    petrel-*) petrel_start "$1" ;;
    postfix-hold) postfix_start ;;
    naive-*) naive_start "$1" ;;
    *) echo "unknown configuration $1" >&2; return 1 ;;
  esac
}
sys_stop() {
  case $CUR in
    petrel-*) petrel_stop ;;
    postfix-*) postfix_stop ;;
    naive-*) naive_stop ;;
  esac
  CUR=
}
sys_port() { case $CUR in petrel-*) echo "$P_PORT" ;; postfix-*) echo "$PF_PORT" ;; naive-*) echo "$N_PORT" ;; esac; }
sys_server_pids() { case $CUR in petrel-*) echo "$P_NODE_PID" ;; postfix-*) postfix_pids ;; naive-*) echo "$NV_NODE_PID" ;; esac; }
sys_redis_pid() { case $CUR in petrel-*) echo "$P_REDIS_PID" ;; naive-*) echo "$NV_REDIS_PID" ;; esac; }
# Messages the system has accepted (and stored) since its last reset.
sys_accepted() {
  case $CUR in
    petrel-*) predis_cli llen '{petrel}:transactions:wait' ;;
    naive-*) redis-cli -h 127.0.0.1 -p "$R_PORT" llen bull:transactions:wait ;;
    postfix-*) hold_count ;;
  esac
}
sys_reset() {
  case $CUR in
    petrel-*) redis_reset "$P_RPORT" ;;
    naive-*) redis_reset "$R_PORT" ;;
    postfix-*) postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1 ;;
  esac
}
