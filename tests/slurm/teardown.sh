#!/usr/bin/env bash
# Stop the one-node SLURM that tests/slurm/setup.sh started: slurmd, slurmctld, slurmdbd, MariaDB and
# (only if setup.sh started it) munged. Usage, as root: `bash tests/slurm/teardown.sh [--purge]`;
# --purge also deletes $SSD_SLURM_STATE (job history, database) and the configs setup.sh wrote.
set -euo pipefail

STATE=${SSD_SLURM_STATE:-/var/lib/ssd-test-slurm}
OURS="# Written by ssd-sweeps tests/slurm/setup.sh"

# stop NAME PIDFILE: SIGTERM, then wait up to 30 s for the process to exit.
stop() {
  local pid i
  [[ -s $2 ]] || return 0
  pid=$(cat "$2")
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { echo "teardown.sh: stopped $1 ($pid)"; return 0; }
    sleep 0.2
  done
  echo "teardown.sh: $1 ($pid) ignored SIGTERM for 30 s; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
stop slurmdbd "$STATE/run/slurmdbd.pid"
stop mariadbd "$STATE/mysqld/mysqld.pid"
if [[ -e $STATE/run/munged.ours ]]; then
  stop munged /run/munge/munged.pid
  rm -f "$STATE/run/munged.ours"
fi

if [[ ${1:-} == --purge ]]; then
  rm -rf "$STATE"
  for f in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf /etc/slurm/gres.conf; do
    [[ -e $f ]] && grep -qF "$OURS" "$f" && rm -f "$f"
  done
  echo "teardown.sh: purged $STATE and the configs setup.sh wrote"
fi
