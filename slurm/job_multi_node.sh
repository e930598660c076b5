#!/bin/bash
# Lightpipe on 4 nodes x 8 tasks x 4 GPUs: 32 tasks, each renders a contiguous block.
# Scale by changing --nodes / --ntasks-per-node / --gres; nothing else changes.
#   sbatch slurm/job_multi_node.sh [extra lightpipe args]
#SBATCH --job-name=lightpipe-nodes
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=8
#SBATCH --gres=gpu:4
#SBATCH --cpus-per-task=4
#SBATCH --signal=SIGUSR1@90
#SBATCH --requeue
#SBATCH --output=slurm-%x-%j.out
# sbatch runs a copy of this script, so the shared body is found from the submit directory
# (submit from the repository root).
exec "${SLURM_SUBMIT_DIR:-.}/slurm/run_lightpipe.sh" "$@"
