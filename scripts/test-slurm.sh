#!/bin/bash
# End-to-end test of deploy/slurm on a one-node Slurm cluster started on this machine:
# installs Slurm and munge from Debian when missing, starts munged, slurmctld and slurmd
# with everything under $S (no systemd, no /etc/slurm), submits a small evaluation as a
# 3-task job array plus the dependent merge (deploy/slurm/submit.sh), and checks that the
# merged run is byte-identical to the same evaluation run locally: every hashed output
# file, and every score but the wall times. Stops the daemons on exit.
#
# Skipped (exit 0, saying so) only when the packages cannot be installed.
# Pitfalls met on the way: Slurm opens --output before the job starts (submit.sh creates the
# log folder), and RUN.shards/* also matches the log files (the merge globs RUN.shards/*/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
S=${S:-/tmp/unlearn-slurm}
UNLEARN=${UNLEARN:-$ROOT/.build/release/unlearn}
T0=$(date +%s.%N)
ts() { awk -v a="$(date +%s.%N)" -v b="$T0" -v m="$*" 'BEGIN{printf "[%6.1fs] %s\n", a-b, m}'; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

[ -x "$UNLEARN" ] || { echo "build unlearn first (swift build -c release --product unlearn)"; exit 1; }

# 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null; }; then
    echo "SKIPPED: the Slurm test could not install slurmctld, slurmd, slurm-client and munge from Debian"
    exit 0
  fi
fi
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the Slurm test starts slurmd, which needs root (run make test as root, as CI does)"
  exit 0
fi
ts "packages: $(slurmctld -V), $(munged -V 2>&1 | head -n1)"

stop() {
  for f in slurmd slurmctld; do [ -f "$S/run/$f.pid" ] && kill "$(cat "$S/run/$f.pid")" 2>/dev/null || true; done
  sleep 1
  [ -f "$S/run/munged.pid" ] && kill "$(cat "$S/run/munged.pid")" 2>/dev/null || true
}
trap stop EXIT
stop  # a cluster left over by an earlier run

# 2. munge, with its key and socket under $S
rm -rf "$S"/{state,spool,log,run,work}
mkdir -p "$S"/{etc,state,spool,log,run,work,munge,munge-sock}
chmod 700 "$S/munge"
chmod 755 "$S/munge-sock"
[ -f "$S/munge/munge.key" ] || mungekey -c -k "$S/munge/munge.key"
SOCK="$S/munge-sock/munge.socket.2"
munged --force --key-file="$S/munge/munge.key" --socket="$SOCK" --pid-file="$S/run/munged.pid" \
  --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed"
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null
ts "munge up"

# 3. slurm.conf for this host (node line from slurmd -C)
HOST=$(hostname -s)
read -r -a HW < <(slurmd -C | head -n1)
NODE_HW=$(printf '%s\n' "${HW[@]}" | grep -vE '^(NodeName|RealMemory)=' | tr '\n' ' ')
cat > "$S/etc/slurm.conf" <<CONF
ClusterName=unlearn-ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
DependencyParameters=kill_invalid_depend
NodeName=$HOST NodeAddr=127.0.0.1 ${NODE_HW}RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$S/etc/slurm.conf"

# 4. daemons
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
st=""
for _ in $(seq 1 60); do
  st=$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null || true)
  [ "$st" = idle ] && break
  sleep 0.5
done
[ "$st" = idle ] || { echo "FAIL: node not idle: '$st'"; tail -n 30 "$S"/log/slurm*.log; exit 1; }
ts "one-node cluster up: $HOST ($NODE_HW)"

# 5. the same small evaluation, locally and on the cluster
W="$S/work"
cat > "$W/config.yaml" <<CONF
name: slurm-ci
dataset: {path: $ROOT/datasets/digits}
model: {hidden: [16]}
training: {epochs: 4}
evaluation: {models: 4, reference_originals: 2, algorithms: [sisa, finetune, gradient-ascent]}
CONF
"$UNLEARN" evaluate --config "$W/config.yaml" --out "$W/local" --quiet > "$W/local.md"
ts "local run done"

read -r ARRAY MERGE < <(UNLEARN="$UNLEARN" deploy/slurm/submit.sh "$W/config.yaml" "$W/cluster" 3 --cpus-per-task=1)
ts "submitted: job array $ARRAY (3 shards), merge job $MERGE (afterok)"
for _ in $(seq 1 1200); do
  squeue -h -j "$ARRAY,$MERGE" 2>/dev/null | grep -q . || break
  sleep 0.5
done
STATES=$(scontrol show job "$ARRAY" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' \n' ' ')
MSTATE=$(scontrol show job "$MERGE" | grep -o 'JobState=[A-Z_]*')
ts "array:$STATES/ merge: $MSTATE"
if [ "$MSTATE" != JobState=COMPLETED ]; then
  echo "FAIL: the merge job did not complete"; tail -n 20 "$W"/cluster.shards/*.log; exit 1
fi
ls -d "$W"/cluster.shards/[0-9]* | sed 's/^/  shard folder: /'

# 6. compare: every hashed output, and every score but the wall times
python3 - "$W/local" "$W/cluster" <<'PY'
import json, sys
local, cluster = sys.argv[1], sys.argv[2]
a = json.load(open(f"{local}/manifest.json"))
b = json.load(open(f"{cluster}/manifest.json"))
if a["files"] != b["files"]:
    diff = sorted(set(a["files"].items()) ^ set(b["files"].items()))
    sys.exit(f"FAIL: {len(diff)} output files differ, e.g. {diff[:3]}")
def scores(run):
    results = json.load(open(f"{run}/results.json"))
    timed = {c["name"] for c in results["columns"] if c["wall_clock"]}
    return {(r["algorithm"], r["round"]): {k: v for k, v in r["metrics"].items() if k not in timed} for r in results["rows"]}
if scores(local) != scores(cluster):
    sys.exit("FAIL: scores differ between the local and the cluster run")
print(f"  identical: {len(a['files'])} output files (logits, weights, labels, splits, parameters) and every score but wall times")
PY
ts "slurm test: OK"
