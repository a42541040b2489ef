# tests/cli/slurm_cluster.sh — sourced by the Slurm tests: a single-node
# Slurm 22.05 cluster on localhost in a fresh state directory, started by
# slurm_start and stopped by slurm_stop (by the PIDs in its pid files).
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge.
slurm_start() { # dir
    SL=$1
    mkdir -p "$SL/state" "$SL/spool" "$SL/log"
    if [ ! -f /etc/munge/munge.key ]; then
        mungekey --create >/dev/null 2>&1 || return 1
        chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    fi
    if ! munge -n >/dev/null 2>&1; then
        mkdir -p /run/munge && chown munge:munge /run/munge
        runuser -u munge -- /usr/sbin/munged || return 1
        MUNGE_STARTED=1
    fi
    local host mem
    host=$(hostname -s)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat >"$SL/slurm.conf" <<EOC
ClusterName=zeropt-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
SlurmdParameters=config_overrides
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
AuthInfo=cred_expire=5
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOC
    export SLURM_CONF=$SL/slurm.conf
    slurmctld -c -i -f "$SLURM_CONF" || return 1
    slurmd -c -f "$SLURM_CONF" || return 1
    for i in $(seq 1 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && return 0; sleep 0.1; done
    return 1
}

slurm_stop() {
    local f p
    for f in "$SL/slurmd.pid" "$SL/slurmctld.pid"; do
        p=$(cat "$f" 2>/dev/null) || continue
        case $(cat /proc/"$p"/comm 2>/dev/null) in slurmd | slurmctld) kill "$p" ;; esac
    done
    if [ "${MUNGE_STARTED:-0}" = 1 ]; then # we started munged: stop it too
        p=$(cat /run/munge/munged.pid 2>/dev/null)
        [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = munged ] && kill "$p"
    fi
    sleep 0.5
}

# job_state ID: the job's state (PENDING, RUNNING, COMPLETED, ...)
job_state() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
