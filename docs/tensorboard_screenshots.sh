#!/usr/bin/env bash
# Screenshots of TensorBoard's dashboards for the README, taken from real runs.
#
#   docs/tensorboard_screenshots.sh LOGDIR [OUT_DIR]
#
# Starts TensorBoard on LOGDIR (a kerascenes --logdir with finished runs), opens each
# dashboard in headless Chromium (Debian package `chromium`) and writes
# tensorboard_{scalars,images,gan_samples,hparams,text}.png to OUT_DIR (default docs/images).
set -euo pipefail
logdir=${1:?usage: $0 LOGDIR [OUT_DIR]}
out=${2:-docs/images}
port=${PORT:-6006}
mkdir -p "$out"
tensorboard --logdir "$logdir" --port "$port" --bind_all >/tmp/tensorboard-screenshots.log 2>&1 &
tb=$!
trap 'kill $tb 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://localhost:$port" >/dev/null && break; sleep 1; done
# file name | dashboard and tag filter
shots=(
  "scalars|scalars&tagFilter=epoch_(accuracy|loss)"
  "images|images&tagFilter=confusion"
  "gan_samples|images&tagFilter=samples"
  "hparams|hparams"
  "text|text"
)
for shot in "${shots[@]}"; do
  name=${shot%%|*}
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
    --virtual-time-budget=20000 --screenshot="$out/tensorboard_$name.png" \
    "http://localhost:$port/#${shot#*|}" 2>/dev/null
  echo "$out/tensorboard_$name.png"
done
