#!/usr/bin/env bash
# Fetches the study's six pretrained PyTorch checkpoints (12 files) into DIR from where the study
# itself downloads them (the notebook's `pretrained_files` cell: phlippe/saved_models,
# tutorial3/), and verifies each against scripts/study-checkpoints.sha256. Files already in DIR
# with the right sum are kept. A download goes to a temporary name and is renamed only once its
# sum is right, so DIR never holds a partial or wrong file.
#
#   scripts/fetch-study-checkpoints.sh DIR
#   ACTFN_PRETRAINED=DIR cargo test --workspace --release -- --include-ignored
#
# ACTFN_CHECKPOINT_URL overrides the base URL (a mirror).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
sums="$(dirname "$0")/study-checkpoints.sha256"
base=${ACTFN_CHECKPOINT_URL:-https://raw.githubusercontent.com/phlippe/saved_models/main/tutorial3}

mkdir -p "$dir"
partial=""
trap '[ -z "$partial" ] || rm -f "$partial"' EXIT

while read -r expected name; do
  target="$dir/$name"
  if [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$expected" ]; then
    continue
  fi
  partial=$(mktemp "$dir/.$name.XXXXXX")
  if ! error=$(curl --fail --silent --show-error --location --retry 2 --connect-timeout 20 \
      --output "$partial" "$base/$name" 2>&1); then
    echo "cannot download $base/$name: ${error##*curl: }" >&2
    exit 1
  fi
  actual=$(sha256sum "$partial" | cut -d' ' -f1)
  if [ "$actual" != "$expected" ]; then
    echo "refused $base/$name: its SHA-256 is $actual, not $expected (see $sums)" >&2
    exit 1
  fi
  mv "$partial" "$target"
  partial=""
  echo "fetched $name"
done < "$sums"
echo "the study's checkpoints are in $dir"
