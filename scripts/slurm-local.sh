#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the project's Slurm tests: munge and
# slurmctld/slurmd from Debian's packages (slurm-wlm, munge), run as root, with their state,
# logs and pid files in one folder.
#
#   scripts/slurm-local.sh start   # installs the packages if missing, starts the daemons,
#                                  # waits until the node is idle; prints the SLURM_CONF line
#   scripts/slurm-local.sh stop    # stops the daemons it started, by their pid files
#   scripts/slurm-local.sh status
#
# The folder is $ACTFN_SLURM_DIR, /tmp/actfn-slurm by default; clients need
# SLURM_CONF=$ACTFN_SLURM_DIR/slurm.conf.
set -euo pipefail

dir=${ACTFN_SLURM_DIR:-/tmp/actfn-slurm}
conf=$dir/slurm.conf

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "run as root: the packages slurm-wlm and munge are missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

# munged runs as the munge user, which writes its pid file where it may: in /run/munge.
munge_pid=/run/munge/actfn-munged.pid

start_munge() {
  if running "$munge_pid"; then
    return
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=$munge_pid --force" \
    || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    running "$munge_pid" && return
    sleep 0.1
  done
  die "munged wrote no pid file (see /var/log/munge/munged.log)"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # Slurm's memory in MB, leaving room for the system.
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$conf" <<CONF
ClusterName=actfn
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

running() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
  install_packages
  mkdir -p "$dir"
  start_munge
  write_conf
  export SLURM_CONF=$conf
  running "$dir/slurmctld.pid" || /usr/sbin/slurmctld -f "$conf" || die "slurmctld did not start (see $dir/slurmctld.log)"
  running "$dir/slurmd.pid" || /usr/sbin/slurmd -f "$conf" || die "slurmd did not start (see $dir/slurmd.log)"
  for _ in $(seq 120); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then
      echo "slurm-local: one node idle; export SLURM_CONF=$conf"
      return
    fi
    # A node that came back down (from an earlier state) is resumed.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  die "the node did not become idle within a minute (see $dir/slurmctld.log and $dir/slurmd.log)"
}

stop() {
  for daemon in slurmd slurmctld munged; do
    local pid_file=$dir/$daemon.pid
    [ "$daemon" = munged ] && pid_file=$munge_pid
    if running "$pid_file"; then
      local pid
      pid=$(cat "$pid_file")
      kill "$pid"
      for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
  done
  echo "slurm-local: stopped"
}

status() {
  export SLURM_CONF=$conf
  for daemon in munged slurmctld slurmd; do
    local pid_file=$dir/$daemon.pid
    [ "$daemon" = munged ] && pid_file=$munge_pid
    if running "$pid_file"; then echo "$daemon: running"; else echo "$daemon: stopped"; fi
  done
  sinfo 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
