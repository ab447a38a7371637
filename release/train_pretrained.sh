#!/usr/bin/env bash
# Training data and training run of a pretrained-backbone preset (docs/MODEL_CARD.md, "FGSGT on
# pretrained backbones"). Usage: release/train_pretrained.sh PRESET OUT REAL_TRAIN_DIR [SCHEDULE]
#   PRESET          fgsgt_nano, siamrpnpp_nano, fgsgt_nano_noguide, fgsgt_lite0, ...
#   OUT             run folder (resumes from OUT/last.pt when it exists: exact resume)
#   REAL_TRAIN_DIR  folder of real training clips in the plain layout (one sub-folder per clip)
#   SCHEDULE        training schedule (default cpu_pretrained)
# The generated sets are made once (deterministic seeds) and shared by every run.
set -euo pipefail
preset=$1 out=$2 real=$3 schedule=${4:-cpu_pretrained}
bin=${FGSGT_BIN:-.venv/bin/fgsgt}
gen() {  # gen DIR PRESET SEQUENCES SEED: skipped when DIR already holds that seed's sequences
  local dir=$1 p=$2 n=$3 seed=$4
  if [[ ! -f "$dir/.done_$seed" ]]; then
    "$bin" generate --out "$dir" --preset "$p" --sequences "$n" --frames 80 --seed "$seed" --quiet
    touch "$dir/.done_$seed"
  fi
}
gen data/train mixed 120 101;      gen data/train lepton 60 202
gen data/train_v2 display 40 1101; gen data/train_v2 small 40 1102
gen data/train_v2 people 30 1103;  gen data/train_v2 realistic 40 1104
gen data/train_v3 display 60 1201; gen data/train_v3 realistic 60 1202
gen data/train_v3 people 30 1203;  gen data/train_v3 small 40 1204
# the real clips named 15 times: about a third of the pairs come from real footage
R=(); for _ in $(seq 15); do R+=(--data "$real"); done
OMP_NUM_THREADS=1 exec "$bin" train --preset "$preset" --schedule "$schedule" \
  --data data/train --data data/train_v2 --data data/train_v3 "${R[@]}" --format plain \
  --device cpu --out "$out" --resume auto
