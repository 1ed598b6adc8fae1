#!/usr/bin/env bash
# Screenshots of TensorBoard serving a small sweep's event files (the scalars and the HParams
# table), for README: docs/screenshots/tensorboard-{scalars,hparams}.png.
#
#   scripts/tensorboard-screenshot.sh PYTHON [OUT_DIR]
#
# PYTHON has the tensorboard package (python3 -m venv /tmp/tb && /tmp/tb/bin/pip install
# tensorboard); Chromium takes the screenshots. The sweep (3 activations x 2 seeds, 4,096
# images, 6 epochs; about a minute) and TensorBoard live in a scratch folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:?give a Python with the tensorboard package}
out=${2:-docs/screenshots}
scratch=$(mktemp -d)
port=${ACTFN_TENSORBOARD_PORT:-6123}
tensorboard_pid=
cleanup() {
  if [ -n "$tensorboard_pid" ]; then kill "$tensorboard_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

cargo xtask sweep --out "$scratch/sweep" --acts relu,tanh,sigmoid --seeds 2 --subset 4096 \
  --epochs 6 >/dev/null
"$python" -m tensorboard.main --logdir "$scratch/sweep/runs" --host 127.0.0.1 --port "$port" \
  >"$scratch/tensorboard.log" 2>&1 &
tensorboard_pid=$!
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$port/data/runs" | grep -q FashionMNIST && break
  sleep 1
done
curl -sf "http://127.0.0.1:$port/data/runs" | grep -q FashionMNIST ||
  { cat "$scratch/tensorboard.log" >&2; echo "TensorBoard did not serve the runs" >&2; exit 1; }

mkdir -p "$out"
shot() {
  # The legacy scalars dashboard draws its charts as SVG, which headless Chromium renders.
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
    --virtual-time-budget=20000 --user-data-dir="$scratch/profile" \
    --screenshot="$out/$1" "http://127.0.0.1:$port/$2" 2>/dev/null
  echo "wrote $out/$1"
}
shot tensorboard-scalars.png '#scalars&tagFilter=accuracy%7Closs&_smoothingWeight=0'
shot tensorboard-hparams.png '#hparams'
