#!/usr/bin/env bash
# Data-parallel training throughput: `reconlab train` of a fastMRI-style U-Net (4 levels, 16 base channels, L1,
# Adam) on N images of SIZE x SIZE, in 1 process and in 2 processes (`--nproc 2`, c10d / Gloo over the loopback
# address), one LibTorch thread per process in both, so the comparison is one core against two; and, for reference,
# 1 process with 2 LibTorch threads (the other way to use the second core). Images per second are those of the
# median epoch after the first (warm-up); batch size 8 in every run (4 per rank with 2 processes).
# Prints a table and the ratio; with gnuplot writes OUT_PNG (default figures/train_scaling.png).
# Usage: scripts/bench_train_scaling.sh [BUILD] [N] [SIZE] [EPOCHS]
set -euo pipefail
build="${1:-build}"; n="${2:-64}"; size="${3:-128}"; epochs="${4:-4}"
png="${OUT_PNG:-figures/train_scaling.png}"
tool="$build/tools/reconlab"
[ -x "$tool" ] || { echo "bench_train_scaling: $tool not built (make build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" "$n" "$size" <<'PY'
import json, sys
import numpy as np
work, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
# Smooth random images (bilinear upsampling of 8x8 noise) and noisy copies: a denoising task.
coarse = rng.random((n, 1, 8, 8)).astype(np.float32)
t = np.linspace(0, 7, size)
i0 = np.floor(t).astype(int).clip(0, 6); f = (t - i0).astype(np.float32)
rows = coarse[:, :, i0, :] * (1 - f)[None, None, :, None] + coarse[:, :, i0 + 1, :] * f[None, None, :, None]
clean = rows[:, :, :, i0] * (1 - f) + rows[:, :, :, i0 + 1] * f
noisy = clean + 0.1 * rng.standard_normal(clean.shape).astype(np.float32)
np.save(f"{work}/x.npy", noisy.astype(np.float32)); np.save(f"{work}/y.npy", clean.astype(np.float32))
json.dump({"architecture": "unet", "in_channels": 1, "out_channels": 1, "base_channels": 16, "num_pool_layers": 4,
           "drop_prob": 0.0, "residual": False, "padding": "reflect", "input": "(|zero-filled| - mean) / std"},
          open(f"{work}/unet.json", "w"))
PY
run() {  # $1 = label, $2 = threads per process, rest = extra options
  local label="$1" threads="$2"; shift 2
  "$tool" train --model "$work/unet.json" --inputs "$work/x.npy" --targets "$work/y.npy" --epochs "$epochs" \
    --batch-size 8 --threads "$threads" --seed 1 "$@" "$work/$label" > "$work/$label.json" 2> "$work/$label.log"
  /usr/bin/python3 - "$work/$label/loss.csv" "$n" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
s = [float(r["seconds"]) for r in rows[1:]] or [float(rows[0]["seconds"])]
print(f"{int(sys.argv[2]) / statistics.median(s):.2f}")
PY
}
load="$(cut -d' ' -f1-3 /proc/loadavg)"
one="$(run one 1)"
two="$(run two 1 --nproc 2)"
threads2="$(run threads2 2)"
ratio="$(/usr/bin/python3 -c "print(f'{$two / $one:.2f}')")"
ratio_t="$(/usr/bin/python3 -c "print(f'{$threads2 / $one:.2f}')")"
echo "U-Net 4 levels x 16 channels, ${n} images ${size}^2, batch 8; load before: $load"
printf '%-28s %10s\n' run images/s
printf '%-28s %10s\n' "1 process, 1 thread" "$one"
printf '%-28s %10s\n' "2 processes, 1 thread each" "$two"
printf '%-28s %10s\n' "1 process, 2 threads" "$threads2"
echo "2 processes vs 1: ${ratio}x; 2 threads in 1 process vs 1: ${ratio_t}x"
if command -v gnuplot >/dev/null 2>&1 && [ -n "$png" ]; then
  mkdir -p "$(dirname "$png")"
  printf '1 %s "1 process\\n1 thread"\n2 %s "2 processes\\n1 thread each"\n3 %s "1 process\\n2 threads"\n' \
    "$one" "$two" "$threads2" > "$work/points.dat"
  gnuplot <<GP
set terminal pngcairo size 640,460 noenhanced
set bmargin 4
set output "$png.tmp"
set title "reconlab train: U-Net ${size}^2, batch 8, 2 cores (c10d / Gloo: ${ratio}x)"
set ylabel "images / s"
set xrange [0.5:3.5]
set yrange [0:*]
set style fill solid 0.6
set boxwidth 0.5
plot "$work/points.dat" using 1:2:xtic(3) with boxes notitle, "" using 1:2:(sprintf("%.1f", \$2)) with labels offset 0,1 notitle
GP
  mv "$png.tmp" "$png"
  echo "figure: $png"
fi
