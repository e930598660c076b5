#!/bin/bash
# Stop the single-node test cluster started by ci/slurm/setup.sh, by recorded PIDs
# (slurmd, slurmctld; munged only if setup.sh started it). Waits for each to exit.
# Env: SLURM_ROOT (default /tmp/lightpipe-slurm). Safe to run when nothing is running.
set -uo pipefail
S=${SLURM_ROOT:-/tmp/lightpipe-slurm}

alive() { # alive PID NAME: live (non-zombie) process called NAME
  [ -r "/proc/$1/stat" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ "$st" != Z ] && [ "$st" != X ]
}
stop() { # stop PIDFILE NAME
  [ -s "$1" ] || return 0
  local p; p=$(cat "$1")
  if ! [[ $p =~ ^[0-9]+$ ]] || ! alive "$p" "$2"; then rm -f "$1"; return 0; fi
  kill "$p" 2>/dev/null
  for _ in $(seq 60); do alive "$p" "$2" || break; sleep 0.25; done
  if alive "$p" "$2"; then
    echo "slurm-teardown: $2 ($p) ignored SIGTERM for 15 s; SIGKILL"; kill -9 "$p" 2>/dev/null; sleep 0.5
  fi
  rm -f "$1"
  echo "slurm-teardown: stopped $2 ($p)"
}

# Cancel every job first: stopping slurmd does not stop running job steps.
if [ -s "$S/run/slurmctld.pid" ] && alive "$(cat "$S/run/slurmctld.pid")" slurmctld; then
  export SLURM_CONF=$S/etc/slurm.conf
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    echo "slurm-teardown: cancelling job(s) $(echo $jobs)"
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 60); do [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.25; done
  fi
fi
stop "$S/run/slurmd.pid" slurmd
stop "$S/run/slurmctld.pid" slurmctld
if [ -e "$S/munged.started-by-setup" ]; then
  stop /run/munge/munged.pid munged
  rm -f "$S/munged.started-by-setup"
fi
exit 0
