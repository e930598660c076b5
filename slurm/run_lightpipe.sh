#!/bin/bash
# Shared body of the job scripts: one `lightpipe predict` per SLURM task via srun.
# Lightning's SLURMEnvironment reads each task's rank from SLURM_PROCID/LOCALID/NODEID;
# `cuda_shared` maps local rank r to GPU r % gpus_on_node and `ddp_gloo` lets tasks share a GPU.
# Arguments are appended last, so they override these defaults (e.g. --trainer.accelerator cpu).
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
if [ -x .venv/bin/lightpipe ]; then PATH="$PWD/.venv/bin:$PATH"; fi
CONFIG=${LIGHTPIPE_CONFIG:-configs/configv1.yaml}
echo "lightpipe job ${SLURM_JOB_ID:-?}: ${SLURM_JOB_NUM_NODES:-1} node(s) x ${SLURM_NTASKS_PER_NODE:-1} task(s), config $CONFIG, args: $*"
srun --kill-on-bad-exit=0 lightpipe predict --config "$CONFIG" \
    --trainer.accelerator cuda_shared --trainer.strategy ddp_gloo \
    --trainer.devices "${SLURM_NTASKS_PER_NODE%%(*}" --trainer.num_nodes "${SLURM_JOB_NUM_NODES:-1}" \
    --trainer.enable_progress_bar false \
    "$@"
