#!/bin/bash
# Lightpipe on SLURM: 4 tasks sharing 2 GPUs on one node (tasks 0,2 -> GPU 0; 1,3 -> GPU 1).
#   sbatch slurm/job_multi.sh [extra lightpipe args, e.g. --settings.num_videos 16]
# Resume / after a failure: submit the same command again; complete videos are skipped.
#SBATCH --job-name=lightpipe
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=4
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=4
#SBATCH --signal=SIGUSR1@90
#SBATCH --requeue
#SBATCH --output=slurm-%x-%j.out
# sbatch runs a copy of this script, so the shared body is found from the submit directory
# (submit from the repository root).
exec "${SLURM_SUBMIT_DIR:-.}/slurm/run_lightpipe.sh" "$@"
