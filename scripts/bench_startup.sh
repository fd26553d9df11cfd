#!/usr/bin/env bash
# Whole-process start-up against BART (issue 12): `reconlab recon --method cs-tv --iterations 10` and
# `bart pics -i 10 -R T:3:0:0.005` on the same single-coil k-space (real knee slice 0 of the shared data, 320 x 256,
# its 26.9 % variable-density mask), each with its default threads, each process timed from start to exit, 5 runs each, alternated. The first
# reconlab run of a fresh cache plans FFTW (FFTW_MEASURE) and stores the wisdom in the cache folder; later runs
# import it. Prints each run, the medians and the ratio reconlab / BART (issue 12's target: at most 1.5).
# Usage: scripts/bench_startup.sh [BUILD] [RUNS]
set -euo pipefail
build="${1:-build}"; runs="${2:-5}"
tool="$build/tools/reconlab"
[ -x "$tool" ] || { echo "bench_startup: $tool not built (make build)" >&2; exit 1; }
data="${RECONLAB_DATA:-${RECONLAB_SHARED:-$(cd "$(dirname "$0")/.." && pwd)/../shared}/data}"
knee="$data/knee/knee_complex_2x320x256.npy"; mask="$data/knee/smp_mask_320x256.npy"
[ -f "$knee" ] || { echo "bench_startup: $knee not found (set RECONLAB_DATA)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RECONLAB_CACHE="$work/cache"   # a fresh cache: the first run pays the planning, as a new user's would
/usr/bin/python3 - "$work" "$knee" "$mask" <<'PY'
import sys
import numpy as np
work, knee, mask = sys.argv[1:4]
img = np.load(knee)[0]                       # (320 y, 256 x) complex
m = np.load(mask).astype(np.float32)         # (320, 256)
k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(img), norm="ortho")) * m
np.save(f"{work}/k.npy", k.astype(np.complex64)); np.save(f"{work}/m.npy", m)
def cfl(name, a):                            # BART layout: column-major, dim 0 = x (readout)
    a = np.asarray(a, np.complex64).T        # (x, y)
    with open(f"{work}/{name}.hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(str(d) for d in a.shape) + " 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n")
    a.ravel(order="F").tofile(f"{work}/{name}.cfl")
cfl("k", k); cfl("ones", np.ones_like(k))
PY
now() { date +%s.%N; }
ours=(); theirs=()
for i in $(seq "$runs"); do
  t0=$(now); "$tool" recon --method cs-tv --iterations 10 --lambda 0.005 --kspace "$work/k.npy" --mask "$work/m.npy" \
    "$work/ours.npy" > /dev/null 2>&1; t1=$(now)
  bart pics -S -i 10 -R T:3:0:0.005 "$work/k" "$work/ones" "$work/pics" > /dev/null 2>&1; t2=$(now)
  o=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'); b=$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')
  ours+=("$o"); theirs+=("$b")
  printf 'run %d: reconlab recon cs-tv %.3f s, bart pics %.3f s\n' "$i" "$o" "$b"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mo=$(median "${ours[@]}"); mb=$(median "${theirs[@]}")
printf 'median: reconlab %.3f s, bart %.3f s, ratio reconlab / bart %.2f (first reconlab run, planning included: %.3f s)\n' \
  "$mo" "$mb" "$(awk -v a="$mo" -v b="$mb" 'BEGIN {print a / b}')" "${ours[0]}"
