#!/bin/bash
# Submits one evaluation to Slurm: a job array of SHARDS shards, then the merge job,
# which starts when every shard has succeeded (and is cancelled if one fails).
#
#   deploy/slurm/submit.sh CONFIG RUN SHARDS [extra sbatch options, e.g. --partition=cpu]
#
# Prints "<array job id> <merge job id>". Run it from the folder the configuration's
# paths are relative to (the jobs start there). Results: RUN/table.md, RUN/results.json.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG RUN SHARDS [sbatch options...]" >&2
  exit 2
fi
CONFIG=$1 RUN=$2 SHARDS=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$RUN.shards"   # Slurm opens the log files before the job starts
ARRAY=$(sbatch --parsable --array=0-$((SHARDS - 1)) --output="$RUN.shards/slurm-%A_%a.log" "$@" "$HERE/evaluate.sbatch" "$CONFIG" "$RUN")
ARRAY=${ARRAY%%;*}
MERGE=$(sbatch --parsable --dependency=afterok:"$ARRAY" --kill-on-invalid-dep=yes --output="$RUN.shards/slurm-merge-%j.log" "$@" \
  "$HERE/evaluate.sbatch" --merge "$CONFIG" "$RUN")
echo "$ARRAY ${MERGE%%;*}"
