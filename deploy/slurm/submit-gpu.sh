#!/bin/bash
# Submits an evaluation of an external model (model.kind: external, e.g. examples/pytorch) with one
# GPU per array task: each task runs one job at a time (UNLEARN_WORKERS=1) on the GPU Slurm gives
# it. Slurm sets CUDA_VISIBLE_DEVICES for the task; the configuration passes it to the commands
# (model.pass_environment: [CUDA_VISIBLE_DEVICES], and pass_environment of each algorithm).
#
#   deploy/slurm/submit-gpu.sh CONFIG RUN SHARDS [extra sbatch options, e.g. --partition=gpu]
#
# The merge job gets a GPU too: it runs again any job that failed in a shard.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG RUN SHARDS [sbatch options...]" >&2
  exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
export UNLEARN_WORKERS=1
exec "$HERE/submit.sh" "$@" --gres=gpu:1 --cpus-per-task=4
