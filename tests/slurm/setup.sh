#!/usr/bin/env bash
# Start a real one-node SLURM on this host for tests/test_slurm.py and CI: munged, MariaDB + slurmdbd
# (so `sacct` works), slurmctld and slurmd, as plain background daemons (no systemd needed).
# Usage, as root: `bash tests/slurm/setup.sh` (idempotent: ~0.1 s when the node is already up);
# stop with `bash tests/slurm/teardown.sh [--purge]`. State, logs and pids: $SSD_SLURM_STATE.
# Targets Debian 12 (slurm-wlm 22.05). Writes /etc/slurm/{slurm,slurmdbd,gres}.conf, never over foreign ones.
# The node has $SSD_SLURM_GPUS (default 2) fake GPUs: GRES backed by character devices made with mknod
# under $SSD_SLURM_STATE/dev, so `--gpus-per-node=N` jobs schedule, get CUDA_VISIBLE_DEVICES and
# are accounted as gres/gpu exactly as on a GPU cluster (nothing can run on them: train on CPU).
set -Eeuo pipefail

STATE=${SSD_SLURM_STATE:-/var/lib/ssd-test-slurm}
DB_PORT=${SSD_SLURM_DB_PORT:-3307}
ETC=/etc/slurm
OURS="# Written by ssd-sweeps tests/slurm/setup.sh"
# Bump the config version whenever the text below changes: a running cluster with another version
# is reconfigured and restarted instead of being found "already up".
MARK="$OURS (config v3); safe to delete (tests/slurm/teardown.sh --purge)."
HOST=$(hostname -s)
GPUS=${SSD_SLURM_GPUS:-2}
LOG=$STATE/log      # slurm daemons' logs (they run as root)
MYSQL=$STATE/mysqld # MariaDB's socket, pid and log (it runs as user mysql)
SECONDS=0

dump_logs() {
  local f
  for f in "$LOG"/*.log "$MYSQL"/*.log /var/log/munge/munged.log; do
    [[ -s $f ]] && { echo "===== $f (last 40 lines) ====="; tail -n 40 "$f"; }
  done
  return 0
}
fail() { echo "setup.sh: FAILED: $*" >&2; dump_logs >&2; exit 1; }
trap 'fail "line $LINENO: \`$BASH_COMMAND\` exited $?"' ERR
say() { echo "setup.sh [${SECONDS}s]: $*"; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "timed out after ${limit}s waiting for $what"
}
# launch NAME CMD...: start a self-daemonising daemon, detached from our stdio and from the lock on
# fd 9 (else it would hold the lock forever); what it prints before its log opens goes to NAME-start.log.
launch() {
  local name=$1
  shift
  "$@" </dev/null >"$LOG/$name-start.log" 2>&1 9>&- || fail "could not start $name (\`$*\` exited $?)"
}
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { sinfo -h -n "$HOST" -o %T 2>/dev/null || true; }
node_ready() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; }
# Our three daemons alive (slurmctld notices a dead slurmd only minutes later), the node schedulable,
# and sacct answering (exit 0, maybe empty), which needs slurmdbd and its database.
cluster_ready() {
  alive "$STATE/run/slurmd.pid" && alive "$STATE/run/slurmctld.pid" && alive "$STATE/run/slurmdbd.pid" &&
    node_ready && sacct -n -X -S now >/dev/null 2>&1
}

[[ $(id -u) == 0 ]] || fail "must run as root (it installs packages and starts daemons)"
mkdir -p "$STATE"
exec 9>"$STATE/setup.lock" # serialise concurrent callers (e.g. pytest-xdist workers)
flock 9

if command -v sinfo >/dev/null && grep -qxF "$MARK" "$ETC/slurm.conf" 2>/dev/null && cluster_ready; then
  say "already up: node $HOST is $(node_state)"
  exit 0
fi

# --- 1. packages (Debian's; only what is missing) ---------------------------------------------
need=()
for pair in slurmctld:slurm-wlm slurmd:slurm-wlm sbatch:slurm-wlm slurmdbd:slurmdbd \
  munged:munge mariadbd:mariadb-server mariadb:mariadb-client; do
  command -v "${pair%%:*}" >/dev/null || [[ " ${need[*]} " == *" ${pair#*:} "* ]] || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends "${need[@]}" >"$STATE/apt.log" 2>&1; }
  # Fresh images ship without package lists: update once, then retry.
  apt_install || { apt-get update -q >>"$STATE/apt.log" 2>&1 && apt_install; } ||
    fail "apt-get install ${need[*]} failed; see $STATE/apt.log"$'\n'"$(tail -n 20 "$STATE/apt.log")"
fi

# --- 2. config -------------------------------------------------------------------------------
mkdir -p "$LOG" "$STATE/ctld" "$STATE/spool" "$STATE/run" "$STATE/dev" "$ETC"
# Fake GPUs: slurmd only needs a device file per GPU to hand out (no cgroup confines it here).
# Character devices (major 1, minor 3: what /dev/null is) so that nothing can be written to them.
gres_lines=""
for ((g = 0; g < GPUS; g++)); do
  [[ -c $STATE/dev/gpu$g ]] || mknod -m 666 "$STATE/dev/gpu$g" c 1 3
  gres_lines+="Name=gpu File=$STATE/dev/gpu$g"$'\n'
done
cpus=$(nproc)
# RealMemory: 90% of what is free now, whole GiB, so the node never registers "Low RealMemory".
avail_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
mem_mb=$((avail_mb * 9 / 10 / 1024 * 1024))
((mem_mb >= 1024)) || mem_mb=$((avail_mb * 9 / 10))

slurm_conf="$MARK
ClusterName=ssdtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job may start again only once its old credentials expire (default 120 s): the
# preemption test requeues, so keep that wait short on this one-node test cluster.
AuthInfo=cred_expire=10
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
# No cgroups in containers: track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
# Trust this file over what slurmd detects, so a container's view of the host cannot drain the node.
SlurmdParameters=config_overrides
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
# The main loop also runs every 2 s (default 60), so a requeued job starts as soon as it is eligible.
SchedulerParameters=sched_interval=2
KillWait=5
MailProg=/bin/true
# Fake GPUs as generic resources (gres.conf names their device files), accounted in sacct's TRES.
GresTypes=gpu
AccountingStorageTRES=gres/gpu
# sacct needs slurmdbd (jobcomp/filetxt + sacct -c loses array task ids on 22.05).
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP"

dbd_conf="$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=ssdtest
StorageLoc=slurm_acct_db"

stop_slurm() {
  local d
  for d in slurmd slurmctld slurmdbd; do
    alive "$STATE/run/$d.pid" && kill "$(cat "$STATE/run/$d.pid")"
  done
  for d in slurmd slurmctld slurmdbd; do
    wait_for 30 "$d to stop" bash -c "! kill -0 \$(cat '$STATE/run/$d.pid' 2>/dev/null) 2>/dev/null"
  done
}

# write_conf PATH TEXT MODE: (re)write PATH if it differs; return 0 if it changed.
write_conf() {
  if [[ -e $1 ]] && ! grep -qF "$OURS" "$1"; then
    fail "$1 exists and was not written by this script; refusing to overwrite a real cluster's config"
  fi
  [[ -e $1 ]] && [[ $(cat "$1") == "$2" ]] && return 1
  printf '%s\n' "$2" >"$1.tmp" && chmod "$3" "$1.tmp" && mv "$1.tmp" "$1"
}
gres_conf="$MARK
${gres_lines%$'\n'}"

changed=0
write_conf "$ETC/slurm.conf" "$slurm_conf" 644 && changed=1
write_conf "$ETC/gres.conf" "$gres_conf" 644 && changed=1
write_conf "$ETC/slurmdbd.conf" "$dbd_conf" 600 && changed=1
if ((changed)); then
  say "wrote $ETC/slurm.conf (CPUs=$cpus RealMemory=${mem_mb}M, $GPUS fake GPUs), gres.conf, slurmdbd.conf"
  stop_slurm # daemons still running read the old config
fi

# --- 3. munge --------------------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge
  install -d -o munge -g munge -m 700 /var/log/munge /var/lib/munge
  launch munged runuser -u munge -- /usr/sbin/munged
  touch "$STATE/run/munged.ours" # so teardown.sh stops only a munged this script started
  wait_for 20 munged bash -c 'munge -n | unmunge'
  say "munged up"
fi

# --- 4. MariaDB (private datadir, TCP on 127.0.0.1:$DB_PORT) ---------------------------------
sql() { mariadb --socket="$MYSQL/mysqld.sock" -uroot -e "$1"; }
if ! mariadb-admin --socket="$MYSQL/mysqld.sock" -uroot ping >/dev/null 2>&1; then
  install -d -o mysql -g mysql -m 750 "$STATE/mysql" "$MYSQL"
  if [[ ! -d $STATE/mysql/mysql ]]; then
    mariadb-install-db --user=mysql --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOG/mariadb-install.out" 2>&1 ||
      fail "mariadb-install-db failed:"$'\n'"$(tail -n 20 "$LOG/mariadb-install.out")"
  fi
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" \
    --socket="$MYSQL/mysqld.sock" --pid-file="$MYSQL/mysqld.pid" --log-error="$MYSQL/mariadb.log" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --innodb-buffer-pool-size=128M \
    --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 9>&- &
  wait_for 60 MariaDB mariadb-admin --socket="$MYSQL/mysqld.sock" -uroot ping
  say "MariaDB up"
fi
for h in 127.0.0.1 localhost; do
  sql "CREATE USER IF NOT EXISTS 'slurm'@'$h' IDENTIFIED BY 'ssdtest';
       GRANT ALL ON slurm_acct_db.* TO 'slurm'@'$h';"
done

# --- 5. slurmdbd, slurmctld, slurmd (each daemonises itself) ---------------------------------
if ! alive "$STATE/run/slurmdbd.pid"; then
  launch slurmdbd slurmdbd
fi
# slurmctld registers the cluster in the database on start, so slurmdbd must answer first.
wait_for 60 slurmdbd sacctmgr -n list cluster
if ! alive "$STATE/run/slurmctld.pid"; then
  launch slurmctld slurmctld
fi
wait_for 60 slurmctld scontrol ping
if ! alive "$STATE/run/slurmd.pid"; then
  launch slurmd slurmd
fi
for ((i = 0; i < 300; i++)); do
  node_ready && break
  # A node left down/drained by an earlier, unclean stop: put it back once slurmd is alive.
  if ((i == 25)) && [[ $(node_state) =~ down|drain|fail ]]; then
    scontrol update NodeName="$HOST" State=RESUME || true
  fi
  sleep 0.2
done
node_ready || fail "node $HOST is '$(node_state)', not idle, after 60 s"
wait_for 30 "sacct to answer" sacct -n -X -S now
say "SLURM up: node $HOST is $(node_state) (CPUs=$cpus, RealMemory=${mem_mb}M, Gres=gpu:$GPUS)"
