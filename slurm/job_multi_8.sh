#!/bin/bash
# Lightpipe on SLURM: 8 tasks sharing 2 GPUs on one node (task r uses GPU r % 2).
#   sbatch slurm/job_multi_8.sh [extra lightpipe args]
#SBATCH --job-name=lightpipe8
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=8
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=2
#SBATCH --signal=SIGUSR1@90
#SBATCH --requeue
#SBATCH --output=slurm-%x-%j.out
# sbatch runs a copy of this script, so the shared body is found from the submit directory
# (submit from the repository root).
exec "${SLURM_SUBMIT_DIR:-.}/slurm/run_lightpipe.sh" "$@"
