#!/usr/bin/env bash
# One lab host: a machine made of Linux namespaces that looks to the kit exactly like a VM. It has its own network
# namespace (one veth on the lab bridge), mount, UTS and PID namespaces (own hostname, /run and docker.sock), its
# own dockerd and an sshd on port 22 that accepts the stack's key, behind the host firewall the kit renders.
# Like a VM it has a disk: its folder in .lab/LAB/HOST (Docker's data, /etc/docker, /etc/swarmkit, /root, its SSH
# host key, its machine id). A stopped host (a reboot of this machine) keeps it, and `up` starts the host again from it.
#   host.sh up LAB HOST ADDRESS/24 GATEWAY   env: SWARMKIT_LAB_PUBLIC_KEY, SWARMKIT_LAB_FIREWALL (the boot-time
#                                            firewall of a new host), SWARMKIT_LAB_HOST_KEY (optional: its private
#                                            SSH host key, else one is generated), SWARMKIT_LAB_HOSTNAME
#                                            (optional: its hostname, else HOST; a replacement made beside
#                                            the machine it replaces has another HOST, the same hostname),
#                                            SWARMKIT_LAB_IMAGES (optional: a directory whose *.tar images,
#                                            from docker save, a new host loads before it is handed over)
#   host.sh stop LAB HOST      what a reboot does to it: every process and the namespace go, the disk stays
#   host.sh down LAB HOST      the machine and its disk go
#   host.sh status LAB HOST    running | stopped | absent
#   host.sh restart-docker|stop-docker|start-docker|stop-sshd|start-sshd LAB HOST
# Prints {"machineId": ..., "hostKey": ...} on up; the machine id is new for every new machine, and a host started
# again from its disk keeps both. Idempotent: up on a running host prints the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "swarmkit lab host ${host:-?}: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "lab hosts need root"

action=${1:-}; lab=${2:-}; host=${3:-}
[[ "$lab" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "bad lab name '$lab'"
[[ "$host" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "bad host name '$host'"
state_root=${SWARMKIT_LAB_DIR:-$(cd "$here/../.." && pwd)/.lab}
# A relative SWARMKIT_LAB_DIR (a project that installed the package keeps .lab beside it) is taken from the
# working directory, once: the host's own processes run elsewhere.
case "$state_root" in /*) ;; *) state_root="$PWD/$state_root" ;; esac
dir="$state_root/$lab/$host"
ns="$lab-$host"
cgroup="swarmkit-$lab-$host"
in_host() { nsenter -t "$(cat "$dir/pid")" -m -u -n -p -- "$@"; }
alive() { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && [ -e "/run/netns/$ns" ]; }
has_disk() { [ -s "$dir/machine-id" ] && [ -s "$dir/ssh/host_ed25519" ]; }
identity() { printf '{"machineId":"%s","hostKey":"%s"}\n' "$(cat "$dir/machine-id")" "$(cut -d' ' -f1,2 "$dir/ssh/host_ed25519.pub")"; }
# Becomes "$@" with no descriptor of ours but 0-2, so that a lock the caller holds does not outlive the call in a
# daemon. Run it as a background job or in a subshell: it replaces the shell it runs in.
exec_detached() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        case "$fd" in 0 | 1 | 2) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
    exec "$@"
}

up() {
    local address=${4:-} gateway=${5:-}
    [[ "$address" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.([0-9]+)/24$ ]] || die "bad address '$address' (a.b.c.d/24)"
    local octet=${BASH_REMATCH[1]} ip=${address%/*}
    if alive; then
        # A new stack key reaches a running host too.
        printf '%s\n' "${SWARMKIT_LAB_PUBLIC_KEY:-}" >"$dir/ssh/authorized_keys"
        identity
        return
    fi
    stop_quietly
    has_disk || remove_disk
    [ -n "${SWARMKIT_LAB_PUBLIC_KEY:-}" ] || die "SWARMKIT_LAB_PUBLIC_KEY is empty"
    for tool in dockerd sshd tini nsenter unshare iptables iptables-restore; do
        command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh (apt-get install docker.io openssh-server tini iptables)"
    done
    mkdir -p "$dir"/{docker,etc-docker,etc-swarmkit,ssh,root}
    # libnetwork writes under a fixed /var/lib/docker, whatever --data-root says: each host bind-mounts its own.
    mkdir -p /var/lib/docker /etc/docker /etc/swarmkit

    ip netns add "$ns"
    local veth="${lab}-h${octet}"
    # A host destroyed a moment ago may still hold its veth while its last processes exit.
    if ip link show "$veth" >/dev/null 2>&1; then ip link del "$veth" 2>/dev/null || true; fi
    echo "$veth" >"$dir/veth"
    # A fixed MAC per address, as a VM's NIC has: a host made again under the same address answers at once, instead
    # of after this machine's ARP entry for the old one expires.
    local mac
    mac=$(printf '02:5c:%02x:%02x:%02x:%02x' ${ip//./ })
    ip link add "$veth" type veth peer name eth0 address "$mac" netns "$ns"
    ip link set "$veth" master "${lab}-br" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$address" dev eth0
    ip -n "$ns" link set eth0 up
    # The host firewall at boot, as a VM's boot unit runs it: the rules the kit last applied (kept on the disk in
    # /etc/swarmkit), or for a new host its boot-time copy.
    if [ ! -s "$dir/etc-swarmkit/firewall" ]; then
        [ -n "${SWARMKIT_LAB_FIREWALL:-}" ] || die "SWARMKIT_LAB_FIREWALL is empty"
        printf '%s\n' "$SWARMKIT_LAB_FIREWALL" >"$dir/etc-swarmkit/firewall"
    fi
    nsenter --net="/run/netns/$ns" sh "$dir/etc-swarmkit/firewall" || die "the host firewall failed"

    if [ ! -s "$dir/ssh/host_ed25519" ]; then
        if [ -n "${SWARMKIT_LAB_HOST_KEY:-}" ]; then
            (umask 077 && printf '%s\n' "$SWARMKIT_LAB_HOST_KEY" >"$dir/ssh/host_ed25519")
            ssh-keygen -y -f "$dir/ssh/host_ed25519" >"$dir/ssh/host_ed25519.pub"
        else
            ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$dir/ssh/host_ed25519" <<<y >/dev/null 2>&1
        fi
    fi
    [ -s "$dir/machine-id" ] || cat /proc/sys/kernel/random/uuid >"$dir/machine-id"
    printf '%s\n' "$SWARMKIT_LAB_PUBLIC_KEY" >"$dir/ssh/authorized_keys"
    cat >"$dir/ssh/sshd_config" <<CFG
Port 22
ListenAddress $ip
HostKey $dir/ssh/host_ed25519
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $dir/ssh/authorized_keys
StrictModes no
UsePAM no
MaxStartups 100:30:200
MaxSessions 50
CFG
    cat >"$dir/daemon.json" <<JSON
{
  "data-root": "/var/lib/docker",
  "exec-root": "/run/docker",
  "pidfile": "/run/docker.pid",
  "hosts": ["unix:///var/run/docker.sock"],
  "storage-driver": "vfs",
  "cgroup-parent": "$cgroup",
  "log-level": "warn"
}
JSON

    # The host's engine service, as /etc/init.d/docker is on a machine without systemd: what the kit's backup and
    # restore stop and start the engine with (from inside the host, over SSH).
    cat >"$dir/init.d-docker" <<SERVICE
#!/bin/sh
running() { [ -f /run/docker.pid ] && kill -0 "\$(cat /run/docker.pid)" 2>/dev/null; }
case "\$1" in
stop)
    running || exit 0
    pid=\$(cat /run/docker.pid); kill -TERM "\$pid"; i=0
    while kill -0 "\$pid" 2>/dev/null; do i=\$((i + 1)); [ "\$i" -lt 600 ] || exit 1; sleep 0.1; done ;;
start)
    running && exit 0
    setsid dockerd --config-file $dir/daemon.json </dev/null >>$dir/dockerd.log 2>&1 & ;;
status) running ;;
*) echo "usage: \$0 start|stop|status" >&2; exit 2 ;;
esac
SERVICE
    chmod 755 "$dir/init.d-docker"

    # The holder: PID 1 of the host (tini). Killing it ends every process of the host at once.
    rm -f "$dir/ready"
    exec_detached setsid nsenter --net="/run/netns/$ns" unshare --mount --uts --pid --fork --mount-proc --propagation private \
        /bin/sh -c '
            set -e
            umount -l /run/netns 2>/dev/null || true
            mount -t tmpfs -o mode=755 tmpfs /run
            mkdir -p /run/sshd
            hostname "$1"
            mount --bind "$2/docker" /var/lib/docker
            mount --bind "$2/etc-docker" /etc/docker
            mount --bind "$2/etc-swarmkit" /etc/swarmkit
            # A home of its own, as a new VM has: not this machine'"'"'s /root and its shell start-up files.
            mount --bind "$2/root" /root
            if [ -e /etc/init.d/docker ]; then mount --bind "$2/init.d-docker" /etc/init.d/docker; fi
            touch "$2/ready"
            exec tini -- sleep infinity' holder "${SWARMKIT_LAB_HOSTNAME:-$host}" "$dir" </dev/null >"$dir/holder.log" 2>&1 &
    local launcher=$! pid="" i
    for i in $(seq 1 100); do
        pid=$(cat "/proc/$launcher/task/$launcher/children" 2>/dev/null | awk '{print $1}')
        [ -n "$pid" ] && [ -f "$dir/ready" ] && break
        sleep 0.05
    done
    [ -n "$pid" ] && [ -f "$dir/ready" ] || die "the namespace holder did not start: $(cat "$dir/holder.log")"
    echo "$pid" >"$dir/pid"

    start_docker
    start_sshd
    [ -z "${SWARMKIT_LAB_IMAGES:-}" ] || load_images "$SWARMKIT_LAB_IMAGES"
    identity
}

# A new host's images, as a VM image carries them: loaded before the host is handed over to the swarm.
load_images() {
    local images=$1 image
    [ -d "$images" ] || die "SWARMKIT_LAB_IMAGES: no directory $images"
    wait_docker
    for image in "$images"/*.tar; do
        [ -e "$image" ] || continue
        in_host docker load -q <"$image" >/dev/null || die "docker load of $image failed"
    done
}

start_docker() {
    exec_detached nsenter -t "$(cat "$dir/pid")" -m -u -n -p -- setsid dockerd --config-file "$dir/daemon.json" </dev/null >>"$dir/dockerd.log" 2>&1 &
}

# Stops the host's dockerd (as a crash or a lost leader would), by the PID it wrote inside the host.
stop_docker() {
    alive || die "not running"
    local pid i
    pid=$(in_host cat /run/docker.pid 2>/dev/null) || die "dockerd is not running"
    in_host kill -TERM "$pid"
    for i in $(seq 1 300); do in_host kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    die "dockerd did not stop"
}

# Stops and starts the host's sshd (a machine that cannot be reached over SSH), by the PID it wrote inside the host.
stop_sshd() {
    alive || die "not running"
    local pid
    pid=$(in_host cat /run/sshd.pid 2>/dev/null) || die "sshd is not running"
    in_host kill -TERM "$pid"
}

start_sshd() {
    alive || die "not running"
    (exec_detached nsenter -t "$(cat "$dir/pid")" -m -u -n -p -- /usr/sbin/sshd -f "$dir/ssh/sshd_config" -E "$dir/sshd.log" </dev/null) || die "sshd did not start"
}

wait_docker() {
    local i
    for i in $(seq 1 300); do in_host docker info >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "dockerd did not come back"
}

# Stops and starts the host's dockerd, as a reboot would: a manager of an autolocked swarm comes back locked.
restart_docker() {
    stop_docker
    start_docker
    wait_docker
}

# What a reboot does to the host: its processes and namespace go; its disk (the folder) stays.
stop_quietly() {
    if [ -f "$dir/pid" ]; then
        local pid; pid=$(cat "$dir/pid")
        # Only our own holder: a tini living in this host's network namespace.
        if [ -e "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tini ] &&
            [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)" ]; then
            kill -KILL "$pid" 2>/dev/null || true
            local i; for i in $(seq 1 100); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
        fi
    fi
    if [ -e "/run/netns/$ns" ]; then ip netns del "$ns"; fi
    # The veth goes with the namespace once its last process has exited; wait for that, so that `down` is done
    # when it returns and the same host can be made again at once.
    if [ -f "$dir/veth" ]; then
        local veth i; veth=$(cat "$dir/veth")
        for i in $(seq 1 100); do ip link show "$veth" >/dev/null 2>&1 || break; sleep 0.05; done
        if ip link show "$veth" >/dev/null 2>&1; then ip link del "$veth" 2>/dev/null || true; fi
    fi
    # cgroup v1 has one tree per controller, v2 one tree: remove the host's cgroup-parent everywhere, deepest first.
    find /sys/fs/cgroup -depth -type d -name "$cgroup" 2>/dev/null | while read -r top; do
        find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -f "$dir/pid" "$dir/ready"
}

remove_disk() { rm -rf "$dir"; }

case "$action" in
up) up "$@" ;;
stop) stop_quietly ;;
down)
    stop_quietly
    remove_disk
    # Only on an explicit down: an `up` clearing a stale host must not race other hosts creating theirs.
    rmdir "$state_root/$lab" 2>/dev/null || true
    ;;
status) if alive; then echo running; elif has_disk; then echo stopped; else echo absent; fi ;;
restart-docker) restart_docker ;;
stop-docker) stop_docker ;;
stop-sshd) stop_sshd ;;
start-sshd) start_sshd ;;
start-docker) alive || die "not running"; start_docker; wait_docker ;;
*) die "usage: host.sh up LAB HOST ADDRESS/24 GATEWAY | stop|down|status LAB HOST" ;;
esac
