#!/usr/bin/env bash
# A single-node Slurm (with accounting) for compt's tests: up | down | status.
#
# up:     installs what is missing (Debian packages), starts only the daemons that are not
#         running, and records those it started as its caller's. Idempotent.
# down:   stops exactly the daemons that this caller's `up` started, nothing else: a
#         second `up` that found the cluster running started nothing, so its `down` stops
#         nothing and the first caller's cluster keeps running.
# status: prints sinfo and which caller started which daemon.
#
# The caller is $COMPT_SLURM_OWNER, by default the process that runs this script (the
# shell or CI script that calls `up` and later `down`); its daemons are listed in
# $STATE/started.d/<caller>.
#
# Works as root without systemd or cgroups (a container): proctrack/linuxproc, task/none.
# Accounting is required: submitit reads job states through sacct (slurmdbd + MariaDB).
set -euo pipefail

STATE=${COMPT_SLURM_STATE:-/var/tmp/compt-slurm}
OWNER=${COMPT_SLURM_OWNER:-$PPID}
[[ $OWNER =~ ^[A-Za-z0-9._-]+$ ]] || { echo "cluster.sh: bad COMPT_SLURM_OWNER '$OWNER'" >&2; exit 2; }
STARTED=$STATE/started.d/$OWNER
MARK="# compt test cluster (tests/slurm/cluster.sh)"
NODE=$(hostname -s)
DB_PORT=${COMPT_SLURM_DB_PORT:-33061}
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)

log() { echo "cluster.sh: $*" >&2; }

wait_for() {  # seconds, description, command...
    local limit=$1 what=$2; shift 2
    for _ in $(seq $((limit * 10))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "timed out waiting for $what"; return 1
}

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

record() { echo "$1 $2" >>"$STARTED"; }  # name pidfile

install() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || { log "not root: cannot install ${missing[*]}"; return 1; }
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

write_configs() {
    local cpus mem
    cpus=$(nproc --all)  # not $OMP_NUM_THREADS, which plain nproc reports
    mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
    if [[ -f /etc/slurm/slurm.conf ]] && ! grep -qF "$MARK" /etc/slurm/slurm.conf; then
        log "/etc/slurm/slurm.conf is not ours: using it as it is"; return 0
    fi
    # a running cluster keeps the configuration it was started with: a changed slurm.conf
    # under a running slurmctld makes it abort (and requeue) the running jobs on restart
    if pid_alive "$STATE/slurmctld.pid" || pid_alive "$STATE/slurmd.pid"; then return 0; fi
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
    cat >/etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=compt
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=300
SlurmdTimeout=60
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >/etc/slurm/slurmdbd.conf <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
    chmod 600 /etc/slurm/slurmdbd.conf
}

start_munge() {
    if pgrep -x munged >/dev/null; then return 0; fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    [[ -s /etc/munge/munge.key ]] || runuser -u munge -- /usr/sbin/mungekey --create
    runuser -u munge -- /usr/sbin/munged
    record munged /run/munge/munged.pid
    wait_for 10 munged munge -n
}

start_mariadb() {
    local db=$STATE/mysql
    if pid_alive "$db/mariadbd.pid"; then return 0; fi
    mkdir -p "$db"
    chown mysql:mysql "$db"
    if [[ ! -d $db/data/mysql ]]; then
        runuser -u mysql -- mariadb-install-db --no-defaults --datadir="$db/data" \
            --auth-root-authentication-method=socket >"$db/install.log" 2>&1
    fi
    runuser -u mysql -- mariadbd --no-defaults --datadir="$db/data" --socket="$db/mysqld.sock" \
        --pid-file="$db/mariadbd.pid" --log-error="$db/mariadbd.log" \
        --bind-address=127.0.0.1 --port="$DB_PORT" --innodb-buffer-pool-size=32M \
        >/dev/null 2>&1 &
    record mariadbd "$db/mariadbd.pid"
    wait_for 60 mariadb mariadb --socket="$db/mysqld.sock" -e "SELECT 1"
    mariadb --socket="$db/mysqld.sock" -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1'
        IDENTIFIED BY 'slurm'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

start_slurmdbd() {
    if pid_alive "$STATE/slurmdbd.pid"; then return 0; fi
    rm -f "$STATE/slurmdbd.pid"
    /usr/sbin/slurmdbd
    record slurmdbd "$STATE/slurmdbd.pid"
    wait_for 30 "slurmdbd's pid file" test -s "$STATE/slurmdbd.pid"
    wait_for 30 slurmdbd bash -c "echo >/dev/tcp/127.0.0.1/6819"
}

start_slurm() {
    if ! pid_alive "$STATE/slurmctld.pid"; then
        rm -f "$STATE/slurmctld.pid"
        /usr/sbin/slurmctld
        record slurmctld "$STATE/slurmctld.pid"
    fi
    if ! pid_alive "$STATE/slurmd.pid"; then
        rm -f "$STATE/slurmd.pid"
        /usr/sbin/slurmd -N "$NODE"
        record slurmd "$STATE/slurmd.pid"
    fi
    wait_for 30 slurmctld scontrol ping
    if ! wait_for 15 "an idle node" bash -c "sinfo -h -o %t | grep -qE 'idle|mix|alloc'"; then
        scontrol update nodename="$NODE" state=resume || true
        wait_for 15 "an idle node" bash -c "sinfo -h -o %t | grep -qE 'idle|mix|alloc'"
    fi
}

up() {
    install
    mkdir -p "$STATE/started.d"
    write_configs
    start_munge
    if grep -qF "$MARK" /etc/slurm/slurm.conf; then
        start_mariadb
        start_slurmdbd
        start_slurm
    fi
    wait_for 30 sacct sacct -n -X -S now
    sinfo
}

down() {
    if [[ ! -f $STARTED ]]; then
        log "caller $OWNER started no daemon: nothing to stop"; return 0
    fi
    # the reverse order of starting: slurmd, slurmctld, slurmdbd, mariadbd, munged
    tac "$STARTED" | while read -r name pidfile; do
        if pid_alive "$pidfile"; then
            local pid
            pid=$(cat "$pidfile")
            kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            log "stopped $name ($pid)"
        fi
    done
    rm -f "$STARTED"
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) sinfo; grep -H . "$STATE"/started.d/* 2>/dev/null || true ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
