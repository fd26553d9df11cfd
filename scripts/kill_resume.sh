#!/usr/bin/env bash
# Issue 12: kill -9 at random moments during a study loses nothing. Runs a study once without interruption (A),
# then the same command KILLS times (default 10), each killed with SIGKILL after a random delay (seeded: the same
# delays on every run), then once more to completion (B); after every kill metrics.csv must parse (no torn file),
# and at the end A's and B's metrics.csv must hold the same rows (every column but `seconds`, the wall time).
# Training is covered by tests/networks/train_kill_test.cpp (`make test`).
# Usage: scripts/kill_resume.sh [BUILD] [KILLS] [SEED] -- STUDY_ARGS...
#   default study: parallel_imaging --methods zero-filled,cg-sense,grappa,cs-tv --max-cases 2 --threads 1
set -euo pipefail
build="${1:-build}"; kills="${2:-10}"; seed="${3:-12}"
shift $(( $# >= 3 ? 3 : $# ))
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then
  set -- "$build/studies/parallel_imaging" --methods zero-filled,cg-sense,grappa,cs-tv --max-cases 2 --threads 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
check_csv() {  # a metrics.csv that exists must have a header and rows of its column count
  [ -f "$1" ] || return 0
  /usr/bin/python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows and rows[0][0] == "dataset", "no header"
assert all(len(r) == len(rows[0]) for r in rows), "a torn row"
PY
}
start=$(date +%s.%N)
"$@" --out "$work/A" > "$work/A.log" 2>&1
t_full=$(echo "$(date +%s.%N) - $start" | bc)
echo "uninterrupted run: ${t_full} s"
RANDOM=$seed
landed=0
for k in $(seq 1 "$kills"); do
  # kill k after a delay uniform in [0.3 s, 0.3 s + (full run time) k / KILLS]: early kills mostly in start-up, later
  # ones in reconstructions and writes, so rows accumulate between kills and most kills still land
  delay=$(echo "0.3 + ($RANDOM / 32767) * $t_full * $k / $kills" | bc -l)
  "$@" --out "$work/B" >> "$work/B.log" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  st=0
  wait "$pid" 2>/dev/null || st=$?
  if [ "$st" -eq 137 ]; then landed=$((landed + 1)); fi
  check_csv "$work/B/metrics.csv" || { echo "kill $k: metrics.csv unreadable"; exit 1; }
  rows=$( [ -f "$work/B/metrics.csv" ] && echo $(( $(wc -l < "$work/B/metrics.csv") - 1 )) || echo 0 )
  printf 'kill %2d after %5.2f s (%s): %s rows kept\n' "$k" "$delay" "$([ "$st" -eq 137 ] && echo killed || echo "had exited $st")" "$rows"
done
"$@" --out "$work/B" >> "$work/B.log" 2>&1
/usr/bin/python3 - "$work/A/metrics.csv" "$work/B/metrics.csv" <<'PY'
import csv, sys
def rows(p):
    r = list(csv.DictReader(open(p)))
    return sorted(tuple(v for k, v in row.items() if k != "seconds") for row in r)
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b:
    print(f"DIFFER: {len(a)} rows uninterrupted, {len(b)} after the kills")
    for x, y in zip(a, b):
        if x != y: print(" ", x, "\n ", y); break
    sys.exit(1)
print(f"identical: {len(a)} rows (all columns but seconds) after the kills and uninterrupted")
PY
echo "kills that landed while the study ran: $landed of $kills"
[ "$landed" -ge $(( kills / 2 )) ] || { echo "too few kills landed: lengthen the study"; exit 1; }
