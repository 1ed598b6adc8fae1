#!/usr/bin/env bash
# The CUDA toolkit that `cargo build --features cuda` needs, on a machine without a GPU or a
# system CUDA: NVIDIA's CUDA 13.0 wheels from PyPI in a venv, plain-named links to their
# libraries and a stub libcuda.so for the link (the real one comes with a GPU driver).
#
#   scripts/cuda-toolkit.sh install   # once per machine (about 20 s with a warm pip cache)
#   eval "$(scripts/cuda-toolkit.sh env)"
#   cargo build --release -p xtask --features cuda
#
# Everything lives in $ACTFN_CUDA_DIR (default /var/cache/actfn-cuda), outside any clone, so
# that CI's fresh clones reuse the toolkit and the build folder ($ACTFN_CUDA_DIR/target).
#
# Pinned to 13.0: a GPU driver of the 580 series (CUDA 13.0) may reject PTX from a newer nvcc,
# and cudarc's build refuses nvcc newer than 13.4. The wheels' requirements carry no versions,
# so every one is pinned here, together.
set -euo pipefail

dir=${ACTFN_CUDA_DIR:-/var/cache/actfn-cuda}
wheels=(
  nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35
)

toolkit() {
  local found
  found=$(find "$dir/venv/lib" -maxdepth 4 -path '*/site-packages/nvidia/cu13' -type d 2>/dev/null |
    head -n 1)
  [ -n "$found" ] || { echo "no CUDA toolkit in $dir: run $0 install" >&2; exit 1; }
  echo "$found"
}

# The driver API names cudarc (the version in Cargo.lock) links against, from its bindings.
driver_symbols() {
  local cudarc
  cudarc=$(cargo metadata --format-version 1 --locked --all-features 2>/dev/null | python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(next(p["manifest_path"] for p in meta["packages"] if p["name"] == "cudarc"))')
  grep -oE '^ +fn cu[A-Za-z0-9_]+\(' "$(dirname "$cudarc")/src/driver/sys/mod.rs" |
    sed -E 's/^ +fn //; s/\($//' | sort -u
}

install() {
  command -v cc >/dev/null || { echo "the stub libcuda.so needs a C compiler (cc)" >&2; exit 1; }
  [ -x "$dir/venv/bin/pip" ] || python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "${wheels[@]}"
  local cuda
  cuda=$(toolkit)
  # The wheels hold only versioned names (libcublas.so.13); the linker looks for plain ones.
  for lib in "$cuda"/lib/lib*.so.*; do
    local plain=${lib%%.so.*}.so
    [ -e "$plain" ] || ln -s "$(basename "$lib")" "$plain"
  done
  # A stub with the driver API's symbols, as NVIDIA's toolkit ships in lib64/stubs: enough to
  # link; at run time the binary loads the driver's real libcuda.so.1.
  mkdir -p "$cuda/lib/stubs"
  local symbols
  mapfile -t symbols < <(driver_symbols)
  [ ${#symbols[@]} -gt 0 ] || { echo "found no driver API names in cudarc's bindings" >&2; exit 1; }
  printf 'void %s(void) {}\n' "${symbols[@]}" > "$dir/libcuda-stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib/stubs/libcuda.so.tmp" "$dir/libcuda-stub.c"
  mv "$cuda/lib/stubs/libcuda.so.tmp" "$cuda/lib/stubs/libcuda.so"
  echo "CUDA toolkit ready in $cuda (${#symbols[@]} driver symbols stubbed)" >&2
}

case ${1:-} in
  install) install ;;
  env)
    cuda=$(toolkit)
    echo "export CUDA_HOME='$cuda' PATH='$cuda/bin':\"\$PATH\""
    # candle's kernel build asks nvidia-smi for the compute capability otherwise: 90 is the
    # H100/H200 generation the device machines have.
    echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
    echo "export CARGO_TARGET_DIR='$dir/target'"
    ;;
  *) echo "usage: $0 install|env" >&2; exit 2 ;;
esac
