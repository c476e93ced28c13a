#!/usr/bin/env bash
# The full tier inside one GPU lease (issue #13; plan: bench/FULL_TIER_PLAN.md).
#
# Run it in the repository root on the device machine, e.g. through the `device` tool:
#   run(command="bash tools/device_full.sh", carry=[".whl", ".data"], timeout_s=590)
# What it needs beside the working tree:
#   .whl/    the wheels the device's Python lacks (`make wheels` downloads them here; git-ignored)
#   .data/   the CIFAR-10 image-folder archives (cifar10-jpeg.tgz, cifar10-exact.tgz; git-ignored)
# What it does, in one call of at most CHUNK_S seconds of work:
#   1. installs the wheels into /tmp/site (no network, no index) unless the packages are importable;
#   2. imports CIFAR-10 from .data/ into the work folder (once; a re-import is a no-op);
#   3. runs `python -m lowfreq zoo probe --tier full` (every recipe, every stage) until CHUNK_S is
#      reached; the results cache makes the next call resume where this one stopped (the machine
#      keeps git-ignored files while it stays warm, so call again within its warm period);
#   4. packs the results (never weights) into $OUT/results-full.tgz (split into 15 MiB parts when
#      larger) with the log, and says "complete" or "incomplete: call again".
# Environment: OUT (required), DRY_RUN=1 (the rehearsal: the dry-run tier, a few images and steps,
# on whatever device), NAMES="base pca ..." (default: every recipe), DEVICE (default auto),
# CHUNK_S (default 540), WORK (default .device-work, git-ignored), JOBS (models trained / probed at a
# time, processes sharing the GPU; default 2), ATTACK_JOBS (models attacked at a time: Brendel-Bethge's
# solver runs on the CPU; default 12 on a GPU, JOBS in the dry run), CORRUPTION_WORKERS (CPU processes making the corrupted
# image sets while the GPU trains; default: lowfreq's, all cores but JOBS + 1 on a GPU; 1 in the dry run).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder whose files come back}"
CHUNK_S=${CHUNK_S:-540}
DEVICE=${DEVICE:-auto}
WORK=${WORK:-.device-work}
PY=${PYTHON:-python3}
mkdir -p "$WORK" "$OUT"
WORK=$(cd "$WORK" && pwd)
log="$OUT/device_full.log"
exec > >(tee -a "$log") 2>&1
export PYTHONUNBUFFERED=1 LOWFREQ_DATA_DIR="$WORK/data" LOWFREQ_MODEL_DIR="$WORK/models" LOWFREQ_RESULTS_DIR="$WORK/results"
t_start=$(date +%s)
echo "device_full: $(date -u +%FT%TZ) dry_run=${DRY_RUN:-0} device=$DEVICE chunk=${CHUNK_S}s work=$WORK"

# 1. packages: this tree's lowfreq first on the path; the carried wheels when the device lacks them
export PYTHONPATH="$(pwd)/lib${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import foolbox, eagerpy, imagecorruptions" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
  fi
fi
"$PY" -c "import foolbox, eagerpy, lowfreq" || { echo "device_full: missing packages; run make wheels and carry .whl"; exit 3; }
"$PY" -c "import lowfreq, torch; print('lowfreq from', lowfreq.__file__); print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

# torch.compile (on by default on CUDA) is checked once on a tiny network: if it cannot compile here, the
# zoo trains eagerly (LOWFREQ_COMPILE=0) instead of failing the lease's first model
if [ -z "${LOWFREQ_COMPILE:-}" ] && "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  if ! "$PY" -c "
import torch
net = torch.compile(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 10)).cuda())
x = torch.rand(4, 3, 32, 32, device='cuda')
with torch.autocast('cuda', dtype=torch.bfloat16):
    net(x).float().sum().backward()
print('device_full: torch.compile works here')"; then
    echo "device_full: torch.compile fails on this machine; training runs eagerly (LOWFREQ_COMPILE=0)"
    export LOWFREQ_COMPILE=0
  fi
fi

# 2. data
if ! "$PY" -m lowfreq data verify cifar10 >/dev/null 2>&1; then
  archives=$(ls .data/cifar10-*.tgz 2>/dev/null || true)
  [ -n "$archives" ] || { echo "device_full: no CIFAR-10 archives in .data/ (carry them)"; exit 3; }
  "$PY" -m lowfreq data import cifar10 $archives --no-progress --replace
fi

# 3. the zoo, in one chunk that stops in time
args=(zoo probe --tier full --device "$DEVICE" --jobs "${JOBS:-2}")
if [ "${DRY_RUN:-0}" = 1 ]; then args+=(--dry-run --scratch "$WORK/dry" --corruption-workers "${CORRUPTION_WORKERS:-1}"); fi
if [ "${DRY_RUN:-0}" != 1 ]; then
  args+=(--attack-jobs "${ATTACK_JOBS:-12}")
  if [ -n "${CORRUPTION_WORKERS:-}" ]; then args+=(--corruption-workers "$CORRUPTION_WORKERS"); fi
fi
# shellcheck disable=SC2206
[ -n "${NAMES:-}" ] && args+=(${NAMES})
left=$(( CHUNK_S - ($(date +%s) - t_start) ))
status=complete
if ! timeout --signal=INT --kill-after=20 "$left" "$PY" -m lowfreq "${args[@]}"; then
  status="incomplete: call again (finished pieces are kept in $WORK)"
fi

# 4. pack the results (no weights)
results="$WORK/results"
[ "${DRY_RUN:-0}" = 1 ] && results="$WORK/dry/results"
if [ -d "$results" ]; then
  tar -C "$results" -czf "$OUT/results-full.tgz" .
  size=$(stat -c %s "$OUT/results-full.tgz")
  if [ "$size" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15m -d "$OUT/results-full.tgz" "$OUT/results-full.tgz.part"
    rm "$OUT/results-full.tgz"
  fi
fi
echo "device_full: $status after $(( $(date +%s) - t_start )) s"
