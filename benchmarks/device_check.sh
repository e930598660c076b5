#!/usr/bin/env bash
# Device check: run it whenever a GPU machine is lent (one H200; under 5 minutes).
#
#   bash benchmarks/device_check.sh [--accelerator cuda|cpu] [--frames N] [--scenes N]
#                                   [--no-compile] [--ddp-configs tiny,features]
#                                   [--out DIR] [--keep]
#
# From the repository root (or anywhere: it cds there). Uses ${PYTHON:-.venv/bin/python}; if
# that does not exist it runs `make install` (the project's own install) and nothing else.
#
# 1. Determinism: the tiny configs of tests/test_golden_bytes.py ("tiny", "features") are
#    rendered by `lightpipe predict` three times: A (1 process: --trainer.accelerator cuda
#    --trainer.devices 1), B (the same again) and C (2 processes sharing GPU 0:
#    --trainer.accelerator cuda_shared --trainer.devices 2 --trainer.strategy ddp_gloo; with
#    --accelerator cpu: cpu / 2 / ddp_gloo). Every run must exit 0 and leave every planned
#    video complete; the trees must be equal file by file (sha256; per-video JSON without
#    `versions`): A==B and A==C. A is also compared with the recorded CPU trees
#    (tests/golden_trees.json, read at run time): informational on cuda (CUDA bytes may
#    legitimately differ from CPU), required on cpu.
# 2. Speed: render frames/s of the goal scene (60 objects, 832x480, the configured look) on the
#    chosen device, eager and with settings.render.compile (which compiles CPU kernels only: on
#    CUDA it runs eager), --scenes scenes x --frames frames, after an untimed warm-up scene.
#
# Prints one table (check | result | detail). Exit status 0 only if every determinism check
# that must hold holds (A==B, A==C, and on cpu A==golden). Outputs go to a temporary folder
# (or --out DIR), removed at the end unless --keep.
#
#   --accelerator cuda|cpu  device to check (default cuda)
#   --frames N              frames per timed scene (default 16)
#   --scenes N              timed scenes (default 2)
#   --no-compile            skip the compiled timing (its compilation takes ~1-2 min on CPU)
#   --ddp-configs A,B       configs for the 2-process run C (default: tiny,features)
#   --out DIR               work folder (default: a new temporary folder)
#   --keep                  keep the work folder (runs' trees and logs)
#
# CPU smoke test (what tests/benchmarks/test_device_check.py runs):
#   bash benchmarks/device_check.sh --accelerator cpu --no-compile --frames 2
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

ARGS=() OUT="" KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --accelerator|--frames|--scenes|--ddp-configs)
      [[ $# -ge 2 ]] || { echo "device_check: $1 needs a value" >&2; exit 2; }
      ARGS+=("$1" "$2"); shift 2 ;;
    --no-compile) ARGS+=("$1"); shift ;;
    --out) [[ $# -ge 2 ]] || { echo "device_check: --out needs a value" >&2; exit 2; }
      OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "device_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$PYTHON" ]] && ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "device_check: $PYTHON not found; running make install" >&2
  make install
  PYTHON=.venv/bin/python
fi

if [[ -z "$OUT" ]]; then
  OUT="$(mktemp -d "${TMPDIR:-/tmp}/device_check.XXXXXX")"
elif [[ -e "$OUT" && -n "$(ls -A "$OUT")" ]]; then
  echo "device_check: --out $OUT is not empty" >&2; exit 2
fi
cleanup() { if [[ $KEEP == 1 ]]; then echo "device_check: kept $OUT"; else rm -rf "$OUT"; fi; }
trap cleanup EXIT

start=$SECONDS
status=0
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" \
  "$PYTHON" benchmarks/device_check.py --out "$OUT" ${ARGS[@]+"${ARGS[@]}"} || status=$?
echo "device_check: $((SECONDS - start)) s, exit $status"
exit $status
