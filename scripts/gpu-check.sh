#!/usr/bin/env bash
# actfn's CUDA path on a machine with an NVIDIA GPU, with binaries built on another machine (the
# GPU machine needs no Rust, only the GPU driver and CUDA 13's cuBLAS, cuRAND and NVRTC, such as
# a PyTorch venv holds).
#
#   scripts/gpu-check.sh bundle [DIR]   # here: build with --features cuda, strip, compress,
#                                       # add the data set; DIR defaults to target/gpu-bundle
#   scripts/gpu-check.sh run [DIR]      # there: check it
#
# `run` checks, in order: the device tests (tests/tests/device.rs: activations, gradients and SGD
# steps on the GPU against the CPU), a 2-epoch ReLU training on cuda and on the CPU (test
# accuracies within 0.5 points), `eval` of the GPU's checkpoint, and `reproduce --quick
# --device cuda`; it prints the epoch times. Without a GPU it says so, lists what it skipped
# and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."

bundle_dir=${2:-target/gpu-bundle}

bundle() {
  eval "$(scripts/cuda-toolkit.sh env)"
  # The binary and the device tests in one invocation, so that candle's CUDA kernels are built
  # once (built apart, they unify candle's features differently).
  local tests
  tests=$(cargo build --release -p xtask -p actfn-tests --features xtask/cuda,actfn-tests/cuda \
    --bin xtask --test device --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
            msg["target"]["name"] == "device":
        print(msg["executable"])')
  rm -rf "$bundle_dir.tmp"
  mkdir -p "$bundle_dir.tmp/data/FashionMNIST/raw"
  strip -o "$bundle_dir.tmp/xtask" "$CARGO_TARGET_DIR/release/xtask"
  strip -o "$bundle_dir.tmp/device-tests" "$tests"
  xz -T0 "$bundle_dir.tmp/xtask" "$bundle_dir.tmp/device-tests"
  local data
  data=$("$CARGO_TARGET_DIR/release/xtask" data --offline |
    sed -n 's/^Fashion-MNIST verified in \(.*\): .*/\1/p')
  [ -d "$data" ] || { echo "gpu-check: cannot find the verified data set (cargo xtask data)" >&2; exit 1; }
  cp "$data"/*-ubyte* "$bundle_dir.tmp/data/FashionMNIST/raw/"
  rm -rf "$bundle_dir"
  mv "$bundle_dir.tmp" "$bundle_dir"
  du -sh "$bundle_dir"
}

# Prints what `run` would have checked, for a machine where it cannot.
skipped() {
  echo "gpu-check: $1" >&2
  echo "gpu-check: skipped: device tests; 2-epoch training on cuda vs cpu; eval on cuda;" \
    "reproduce --quick --device cuda" >&2
  exit 2
}

# The directory of the first file named $1 on this machine.
library_dir() {
  find / -xdev -name "$1" -not -path '/proc/*' 2>/dev/null | head -n 1 | xargs -r dirname
}

# The test accuracy and mean epoch time of a training run's folder.
summary() {
  python3 - "$1" <<'EOF'
import csv, json, sys
run = sys.argv[1]
summary = json.load(open(f"{run}/summary.json"))
seconds = [float(r["seconds"]) for r in csv.DictReader(open(f"{run}/metrics.csv"))]
print(f'{100 * summary["test_acc"]:.2f} {sum(seconds) / len(seconds):.3f}')
EOF
}

run() {
  command -v nvidia-smi >/dev/null || skipped "no NVIDIA GPU here (no nvidia-smi)"
  nvidia-smi -L 2>/dev/null | grep -q '^GPU' || skipped "no NVIDIA GPU here (nvidia-smi lists none)"
  nvidia-smi -L
  [ -f "$bundle_dir/xtask.xz" ] || { echo "gpu-check: no bundle in $bundle_dir: run '$0 bundle' on the build machine" >&2; exit 1; }

  local libs=()
  for lib in libcublas.so.13 libcurand.so.10 libnvrtc.so.13; do
    local found
    found=$(library_dir "$lib")
    [ -n "$found" ] || { echo "gpu-check: $lib is not on this machine: install CUDA 13 (e.g. pip install torch brings it)" >&2; exit 1; }
    libs+=("$found")
  done
  export LD_LIBRARY_PATH
  LD_LIBRARY_PATH=$(printf '%s:' "${libs[@]}")${LD_LIBRARY_PATH:-}

  local work
  work=$(mktemp -d)
  xz -dc "$bundle_dir/xtask.xz" > "$work/xtask"
  xz -dc "$bundle_dir/device-tests.xz" > "$work/device-tests"
  chmod +x "$work/xtask" "$work/device-tests"
  export PATH_DATASETS=$PWD/$bundle_dir/data

  echo "==> device tests on cuda"
  "$work/device-tests" --include-ignored --test-threads 1

  echo "==> 2 epochs of ReLU on cuda and on the CPU"
  "$work/xtask" train --act relu --epochs 2 --device cuda --checkpoint-dir "$work/cuda"
  "$work/xtask" train --act relu --epochs 2 --device cpu --threads "$(nproc)" --checkpoint-dir "$work/cpu"
  read -r gpu_acc gpu_epoch < <(summary "$work/cuda/FashionMNIST_relu")
  read -r cpu_acc cpu_epoch < <(summary "$work/cpu/FashionMNIST_relu")
  echo "test accuracy: cuda $gpu_acc%, cpu $cpu_acc%; epoch: cuda $gpu_epoch s, cpu ($(nproc) threads) $cpu_epoch s"
  python3 -c "import sys; sys.exit(abs($gpu_acc - $cpu_acc) > 0.5)" ||
    { echo "gpu-check: FAILED: the accuracies differ by more than 0.5 points" >&2; exit 1; }

  echo "==> eval on cuda"
  "$work/xtask" eval --checkpoint-dir "$work/cuda" --all --device cuda

  echo "==> reproduce --quick --device cuda"
  "$work/xtask" reproduce --quick --device cuda --out "$work/quick"
  rm -rf "$work"
  echo "gpu-check: passed"
}

case ${1:-} in
  bundle) bundle ;;
  run) run ;;
  *) echo "usage: $0 bundle|run [DIR]" >&2; exit 2 ;;
esac
