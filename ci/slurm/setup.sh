#!/bin/bash
# Bring up a real single-node SLURM cluster (slurmctld + slurmd + munged) on this
# Debian 12 machine, for the tests/slurm tier. Run as root. Idempotent:
#   - installs slurmctld slurmd slurm-client munge if missing,
#   - writes ${SLURM_ROOT}/etc/slurm.conf and symlinks /etc/slurm/slurm.conf to it,
#   - if the daemons are already up (same config) it only runs the readiness probe,
#     otherwise it starts them with a clean state dir (no stale jobs from earlier runs),
#   - waits for the node to be idle and runs `srun -n1 true` as a probe.
#
# Env: SLURM_ROOT (default /tmp/lightpipe-slurm), LIGHTPIPE_SLURM_CPUS (advertised
# CPUs, default 8; may exceed the real count), LIGHTPIPE_SLURM_TIMEOUT (seconds to
# wait for idle node / probe, default 60).
#
# Exit codes: 0 ok; 2 not root; 3 packages missing and could not be installed
# (apt unreachable, ...); 1 any other failure (message + daemon log tails on stderr).
# The last line on stdout is `slurm-setup: ready started=yes|no SLURM_CONF=...`;
# started=yes means this run started slurmctld/slurmd (so the caller may tear down).
set -euo pipefail

S=${SLURM_ROOT:-/tmp/lightpipe-slurm}
NCPU=${LIGHTPIPE_SLURM_CPUS:-8}
WAIT=${LIGHTPIPE_SLURM_TIMEOUT:-60}
CONF=$S/etc/slurm.conf
PKGS=(slurmctld slurmd slurm-client munge)

log() { echo "slurm-setup: $*"; }
die() { # die CODE MESSAGE
  local code=$1; shift
  echo "slurm-setup: ERROR: $*" >&2
  if [ "$code" = 1 ]; then
    for f in "$S/log/slurmctld.log" "$S/log/slurmd.log"; do
      [ -s "$f" ] && { echo "--- tail $f ---" >&2; tail -n 25 "$f" >&2; }
    done
  fi
  exit "$code"
}
alive() { # alive PIDFILE NAME: pid in file is a live (non-zombie) process called NAME
  local p st
  [ -s "$1" ] || return 1
  p=$(cat "$1" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] && [ -r "/proc/$p/stat" ] || return 1
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
  [ "$st" != Z ] && [ "$st" != X ]
}
stop_pid() { # stop_pid PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL
  alive "$1" "$2" || return 0
  local p; p=$(cat "$1")
  kill "$p" 2>/dev/null || true
  for _ in $(seq 40); do alive "$1" "$2" || return 0; sleep 0.25; done
  kill -9 "$p" 2>/dev/null || true; sleep 0.5
}
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

[ "$(id -u)" = 0 ] || die 2 "must run as root (needs apt, munged as user munge, slurmd as root)"
[[ $NCPU =~ ^[1-9][0-9]*$ ]] || die 1 "LIGHTPIPE_SLURM_CPUS must be a positive integer, got '$NCPU'"

mkdir -p "$S"
# Serialize concurrent setup.sh runs. NB: every daemon below is started with `9>&-`,
# otherwise it inherits the lock fd and holds the lock forever.
exec 9>"$S/setup.lock"
flock -w 300 9 || die 1 "timed out waiting for $S/setup.lock (another setup.sh running?)"

# --- packages ---------------------------------------------------------------
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt-get, --no-install-recommends) ..."
  t0=$SECONDS
  command -v apt-get >/dev/null || die 3 "apt-get not found; cannot install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "man-db man-db/auto-update boolean false" | debconf-set-selections 2>/dev/null || true
  rm -f /var/lib/man-db/auto-update
  APT_OPTS=(-o DPkg::Lock::Timeout=120 -o Acquire::Retries=2 -o Acquire::http::Timeout=20)
  if ! out=$(timeout 180 apt-get "${APT_OPTS[@]}" update -qq 2>&1); then
    die 3 "apt-get update failed (apt unreachable?):"$'\n'"$out"
  fi
  if ! out=$(timeout 300 apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
             "${missing[@]}" 2>&1); then
    die 3 "apt-get install ${missing[*]} failed:"$'\n'"$(echo "$out" | tail -n 30)"
  fi
  log "packages installed in $((SECONDS - t0)) s"
fi
for b in slurmctld slurmd sbatch srun sinfo scontrol munged munge unmunge; do
  command -v "$b" >/dev/null || die 3 "'$b' not found after package install"
done

H=$(hostname -s)
getent hosts "$H" >/dev/null || die 1 "hostname '$H' does not resolve (add it to /etc/hosts); slurmd needs NodeName=\$(hostname -s)"

# --- munge ------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
if ! munge_ok; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1 9>&- || die 1 "munged failed to start (see /var/log/munge/munged.log)"
  for _ in $(seq 40); do munge_ok && break; sleep 0.25; done
  munge_ok || die 1 "munged started but munge -n | unmunge fails (see /var/log/munge/munged.log)"
  touch "$S/munged.started-by-setup"
fi

# --- slurm.conf ---------------------------------------------------------------
mkdir -p "$S/etc" "$S/state" "$S/spool" "$S/log" "$S/run" "$S/jobs"
cat > "$CONF.new" <<CONF
# Generated by ci/slurm/setup.sh -- single-node test cluster. Do not edit.
ClusterName=lightpipe-ci
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# reject (instead of pending forever) jobs that can never fit
EnforcePartLimits=ALL
ReturnToService=2
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
# advertise CPUs=$NCPU even if the machine has fewer
SlurmdParameters=config_overrides
# Fast job turnaround for tests:
#  - batch_sched_delay=0: start batch jobs at the next scheduler pass (default waits up to 3 s)
#  - MinJobAge=5: "sbatch --wait" polls every 2 s only while sleep < MinJobAge/2; with the
#    usual MinJobAge (300) it backs off 2 -> 8 -> 32 s, so a 12 s job returns after 42 s.
#    With 5 it keeps polling every 2 s; finished jobs stay queryable for >= 5 s.
SchedulerParameters=batch_sched_delay=0
MinJobAge=5
KillWait=5
NodeName=$H CPUs=$NCPU Sockets=1 CoresPerSocket=$NCPU ThreadsPerCore=1 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
conf_changed=no
cmp -s "$CONF.new" "$CONF" || conf_changed=yes
mv -f "$CONF.new" "$CONF"
mkdir -p /etc/slurm
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" != "$CONF" ]; then
  [ -e /etc/slurm/slurm.conf ] && [ ! -L /etc/slurm/slurm.conf ] && \
    cp -a /etc/slurm/slurm.conf "/etc/slurm/slurm.conf.bak-lightpipe" && log "backed up /etc/slurm/slurm.conf"
  ln -sfn "$CONF" /etc/slurm/slurm.conf
fi
export SLURM_CONF=$CONF

# --- daemons ----------------------------------------------------------------
started=no
if alive "$S/run/slurmctld.pid" slurmctld && alive "$S/run/slurmd.pid" slurmd \
   && [ $conf_changed = no ] && timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
  log "slurmctld/slurmd already running (pids $(cat "$S/run/slurmctld.pid")/$(cat "$S/run/slurmd.pid")); probing only"
else
  [ $conf_changed = yes ] && alive "$S/run/slurmctld.pid" slurmctld && log "slurm.conf changed; restarting daemons"
  stop_pid "$S/run/slurmd.pid" slurmd
  stop_pid "$S/run/slurmctld.pid" slurmctld
  # daemons of another cluster (different SLURM_ROOT) would hold ports 6817/6818
  others=$(ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && ($3 == "slurmctld" || $3 == "slurmd") {print $1}')
  [ -z "$others" ] || die 1 "slurmctld/slurmd already running (pids $(echo $others)) but not from $S (another SLURM_ROOT?); stop them first"

  # Clean slate: no jobs from an earlier session. Wipe slurmctld's state and slurmd's
  # credential cache (job ids restart at 1, a stale revoked-credential entry would reject
  # them), but keep the step sockets in the spool dir: slurmd reports steps still running
  # from a killed earlier cluster, and the fresh slurmctld kills them as orphans.
  rm -rf "$S/state" "$S/spool"/cred_state*; mkdir -p "$S/state" "$S/spool"
  log "starting slurmctld + slurmd (CPUs=$NCPU, state in $S)"
  slurmctld -i </dev/null >>"$S/log/slurmctld.stdout" 2>&1 9>&- || die 1 "slurmctld failed to start"
  slurmd </dev/null >>"$S/log/slurmd.stdout" 2>&1 9>&- || die 1 "slurmd failed to start"
  started=yes
fi

# --- readiness: node idle, then a real step through slurmd ---------------------
state=""
deadline=$((SECONDS + WAIT)); resumed=no
while [ $SECONDS -lt $deadline ]; do
  state=$(sinfo -h -N -n "$H" -o %T 2>/dev/null | head -n1 || true)
  case $state in
    idle|mixed|allocated) break ;;
    down*|drain*|fail*)
      if [ $resumed = no ]; then
        log "node state '$state'; resuming"; resumed=yes
        scontrol update NodeName="$H" State=RESUME 2>/dev/null || true
      fi ;;
  esac
  sleep 0.5
done
case $state in idle|mixed|allocated) ;; *) die 1 "node $H not idle after ${WAIT}s (state '${state:-unknown}')";; esac
# On an already-running cluster other jobs may hold every CPU; the probe then must not
# queue behind them (--immediate), and a busy node counts as healthy.
probe=(srun -n1 --gres=none -J lp-probe)
[ $started = no ] && probe+=(--immediate=5)
if ! out=$(timeout "$WAIT" "${probe[@]}" true 2>&1); then
  njobs=$(squeue -h -o %i 2>/dev/null | grep -c . || true)
  if [ $started = no ] && [ "${njobs:-0}" -gt 0 ]; then
    log "node $H busy with $njobs job(s) from others; srun probe skipped"
  else
    die 1 "probe '${probe[*]} true' failed or timed out after ${WAIT}s:"$'\n'"$out"
  fi
fi
sinfo -N -o '%N %P %T %c'
log "ready started=$started SLURM_CONF=$CONF"
