#!/usr/bin/env bash
# bench/e2e: the one-session loads and their bounds, in one sitting.
#   For each of RCPTS ("1 10"), REPS (3) times, alternated: Postfix end to end,
#   Petrel end to end at durability fsync, and the same with routing and egress
#   under nice -n 10 (src/run.sh, 1 session, N messages); then the ingress
#   alone (bench/ingress throughput: petrel-fsync, petrel-none = no AOF at all,
#   postfix-hold), 1 session, a new connection per message, nothing routed or
#   delivered meanwhile: the most any downstream could leave the ingress.
# Writes OUT/e2e-<rcpts>-<system>-<rep>.tsv, OUT/ingress-<rcpts>/throughput.tsv
# and prints the medians (OUT/summary.txt).
# Env: N (3000), REPS (3), RCPTS ("1 10"), OUT (results/one-session-latest).
set -u
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../../.." && pwd)
N=${N:-3000}; REPS=${REPS:-3}; RCPTS=${RCPTS:-"1 10"}
OUT=${OUT:-$(cd "$here/.." && pwd)/results/one-session-latest}
mkdir -p "$OUT"
for r in $RCPTS; do
  for rep in $(seq 1 "$REPS"); do
    for sys in postfix fsync fsync-nice; do
      mode=${sys%-nice}; nice_roles=; [ "$sys" = fsync-nice ] && nice_roles="routing egress"
      NICE_ROLES=$nice_roles MODES=$mode SESSIONS=1 RCPTS=$r N=$N REPS=1 OUT="$OUT/e2e-$r-$sys-$rep.tsv" \
        bash "$here/run.sh" >"$OUT/e2e-$r-$sys-$rep.log" 2>&1 || echo "e2e $r $sys $rep failed (see $OUT/e2e-$r-$sys-$rep.log)" >&2
    done
  done
  CONFIGS="petrel-fsync petrel-none postfix-hold" VARIANTS="1:$r" REPS=$REPS OUT="$OUT/ingress-$r" \
    bash "$ROOT/bench/ingress/src/run.sh" throughput >"$OUT/ingress-$r.log" 2>&1 || echo "ingress $r failed (see $OUT/ingress-$r.log)" >&2
done
# Medians: e2e columns 10 ack/s, 12 delivered/s, 16 p50, 17 p99, 19 machine CPU,
# 20 relay, 21-24 ingress/routing/egress/redis CPU s per 1k; ingress: msg/s.
# med(list): the middle of a space-separated list (the lower middle of an even one).
MED='function med(list,   a, n, i, j, t) { n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return a[int((n + 1) / 2)] }'
{
  echo "rcpts system acknowledged/s delivered/s p50_ms p99_ms cpu_machine cpu_relay cpu_ingress cpu_routing cpu_egress cpu_redis (medians of $REPS)"
  for r in $RCPTS; do
    for sys in postfix fsync fsync-nice; do
      for rep in $(seq 1 "$REPS"); do cat "$OUT/e2e-$r-$sys-$rep.tsv"; done | awk -F'\t' -v r="$r" -v s="$sys" "$MED"'
        BEGIN { nc = split("10 12 16 17 19 20 21 22 23 24", cs, " ") }
        !/^#/ && $1 != "system" { for (k = 1; k <= nc; k++) v[k] = v[k] " " $cs[k] }
        END { printf "%s e2e-%s", r, s; for (k = 1; k <= nc; k++) printf " %s", med(v[k]); printf "\n" }'
    done
    awk -F'\t' -v r="$r" "$MED"'
      !/^#/ && $4 == "per-msg" { m[$1] = m[$1] " " $8 }
      END { for (c in m) printf "%s alone-%s %s\n", r, c, med(m[c]) }' "$OUT/ingress-$r/throughput.tsv" | sort
  done
} | tee "$OUT/summary.txt"
