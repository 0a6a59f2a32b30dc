#!/usr/bin/env bash
# How many times Redis calls fdatasync per message, for one Petrel
# configuration of the end-to-end run (durability fsync: appendfsync always,
# one fdatasync per event-loop pass that wrote). Runs src/run.sh for that one
# configuration and counts Redis's fdatasync and write system calls with
# `perf stat` (kernel tracepoints, no slowdown worth measuring) from the start
# of the load's smtp-source until it ends: probes and warm-up excluded, the
# deliveries still in flight at the end included.
#   SESSIONS=1 RCPTS=1 N=4000 bash bench/e2e/src/count-fsyncs.sh
# Needs perf (Debian's linux-perf) and root, or kernel.perf_event_paranoid
# low enough for tracepoints. Prints the counts and the run's summary line
# (one rep with perf attached: a check, not a benchmark figure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
SESSIONS=${SESSIONS:-1}; RCPTS=${RCPTS:-1}; N=${N:-4000}
command -v perf >/dev/null || { echo "count-fsyncs needs perf" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
MODES=fsync SESSIONS=$SESSIONS RCPTS=$RCPTS REPS=1 N=$N OUT="$work/run.tsv" \
  bash "$here/run.sh" >"$work/run.log" 2>&1 &
runner=$!
load=
until [ -n "$load" ]; do
  kill -0 "$runner" 2>/dev/null || { echo "run.sh ended before its load:" >&2; tail "$work/run.log" >&2; exit 1; }
  load=$(pgrep -f "^smtp-source .*-m $N " | head -1); sleep 0.02
done
redis=$(pgrep -x redis-server | head -1)
perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_write -p "$redis" -o "$work/perf.csv" &
counter=$!
while kill -0 "$load" 2>/dev/null; do sleep 0.02; done
kill -INT "$counter"; wait "$counter"
wait "$runner"
fdatasync=$(awk -F, '/sys_enter_fdatasync/ {print $1}' "$work/perf.csv")
writes=$(awk -F, '/sys_enter_write/ {print $1}' "$work/perf.csv")
echo "sessions=$SESSIONS rcpts=$RCPTS messages=$N: Redis fdatasync $fdatasync ($(awk -v a="$fdatasync" -v n="$N" 'BEGIN {printf "%.2f", a / n}') per message), write $writes ($(awk -v a="$writes" -v n="$N" 'BEGIN {printf "%.2f", a / n}') per message)"
awk '/^system / {getline; print; exit}' "$work/run.log"
