#!/bin/bash
# Submits an evaluation of an external model (model.kind: external, e.g. examples/pytorch) with one
# GPU per task, in three steps: the originals, trained once (evaluate.sbatch --originals, into
# RUN.original), then the job array of SHARDS shards starting from them (--original-from), then the
# merge. A GPU backend is not deterministic, so shards that each trained their own original would
# unlearn from different models (and merge refuses them); this way all start from one.
#
#   deploy/slurm/submit-gpu.sh CONFIG RUN SHARDS [extra sbatch options, e.g. --partition=gpu]
#
# Every task runs one job at a time (UNLEARN_WORKERS=1) on the GPU Slurm gives it (--gres=gpu:1).
# Slurm sets CUDA_VISIBLE_DEVICES for the task; the configuration passes it to the commands
# (model.pass_environment: [CUDA_VISIBLE_DEVICES], and pass_environment of each algorithm).
# The merge gets a GPU too: it runs again any job that failed in a shard. Prints the three job ids.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG RUN SHARDS [sbatch options...]" >&2
  exit 2
fi
CONFIG=$1 RUN=$2 SHARDS=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
export UNLEARN_WORKERS=1
GPU=(--gres=gpu:1 --cpus-per-task=4)
mkdir -p "$RUN.shards"
ORIGINALS=$(sbatch --parsable --output="$RUN.shards/slurm-originals-%j.log" "${GPU[@]}" "$@" \
  "$HERE/evaluate.sbatch" --originals "$CONFIG" "$RUN")
ORIGINALS=${ORIGINALS%%;*}
ARRAY=$(sbatch --parsable --dependency=afterok:"$ORIGINALS" --kill-on-invalid-dep=yes --array=0-$((SHARDS - 1)) \
  --output="$RUN.shards/slurm-%A_%a.log" "${GPU[@]}" "$@" "$HERE/evaluate.sbatch" "$CONFIG" "$RUN")
ARRAY=${ARRAY%%;*}
MERGE=$(sbatch --parsable --dependency=afterok:"$ARRAY" --kill-on-invalid-dep=yes \
  --output="$RUN.shards/slurm-merge-%j.log" "${GPU[@]}" "$@" "$HERE/evaluate.sbatch" --merge "$CONFIG" "$RUN")
echo "$ORIGINALS $ARRAY ${MERGE%%;*}"
