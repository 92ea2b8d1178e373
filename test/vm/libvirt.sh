#!/usr/bin/env bash
# test/vm/libvirt.sh start|stop STATE_DIR NETNS
#
# A libvirtd of the VM tests' own, private in every way, so that it neither needs nor touches a libvirt the machine
# may run:
#  - in a network namespace of its own (NETNS, made here): its bridge, DHCP server and guests see only each other
#    and the test process, which runs inside the same namespace; nothing is routed anywhere;
#  - in a mount namespace of its own: its config (qemu.conf), state, logs, capability cache and domain and network
#    definitions are bind-mounted from STATE_DIR, and its socket is STATE_DIR/sock/libvirt-sock;
#  - where the CPU has no VT-x/AMD-V, /dev/kvm is hidden from it: libvirt then offers only software emulation
#    (domain type qemu) instead of probing KVM over and over (minutes per virt-install) and starting guests that hang.
# start prints the connection URI. stop ends that libvirtd (by its PID), removes the namespace (and with it the
# iptables chains libvirt made there), and leaves nothing behind; it is safe to run twice, and after a failed start.
set -euo pipefail
action=$1 state=$2 ns=$3
say() { printf 'swarmkit vm-libvirt: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Directories libvirtd writes to, each replaced by one under STATE_DIR inside its mount namespace.
PRIVATE_DIRS=(/run/libvirt /etc/libvirt/qemu /etc/libvirt/storage /etc/libvirt/secrets /var/lib/libvirt/qemu /var/lib/libvirt/dnsmasq /var/lib/libvirt/network /var/cache/libvirt /var/log/libvirt)

uri() { echo "qemu:///system?socket=$state/sock/libvirt-sock"; }

start() {
    command -v libvirtd >/dev/null || die "libvirtd is missing (apt-get install libvirt-daemon-system)"
    mkdir -p "$state/sock" "$state/disks"
    # The QEMU user reaches the guests' disks through these.
    chmod 0755 "$state" "$state/disks"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    local d
    for d in "${PRIVATE_DIRS[@]}"; do mkdir -p "$d" "$state/private$d"; done
    # QEMU runs as Debian's libvirt-qemu user, not root: libvirt judges /dev/kvm usable by whether that user could
    # open it, and root could open even the hidden one, after which libvirt re-probes QEMU on every call.
    cat >"$state/qemu.conf" <<'EOF'
# The VM tests' libvirtd: no security driver, no per-guest /dev namespace, guest consoles logged to files (no
# virtlogd). libvirt gives the QEMU user each guest's disk while it runs (dynamic_ownership, the default).
security_driver = "none"
namespaces = [ ]
stdio_handler = "file"
EOF
    cat >"$state/libvirtd.conf" <<EOF
unix_sock_dir = "$state/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "3:file:$state/libvirtd.log"
EOF
    local hide_kvm=""
    if [ -e /dev/kvm ] && ! grep -qE '^flags.*\b(vmx|svm)\b' /proc/cpuinfo; then
        hide_kvm=1
        : >"$state/no-kvm"
        chmod 0000 "$state/no-kvm"
    fi
    # unshare and nsenter exec in place: the PID started here is libvirtd's own.
    SWARMKIT_STATE=$state SWARMKIT_HIDE_KVM=$hide_kvm SWARMKIT_DIRS="${PRIVATE_DIRS[*]}" \
        unshare --mount --propagation private -- sh -c '
            set -e
            mount --bind "$SWARMKIT_STATE/qemu.conf" /etc/libvirt/qemu.conf
            for d in $SWARMKIT_DIRS; do mount --bind "$SWARMKIT_STATE/private$d" "$d"; done
            [ -z "$SWARMKIT_HIDE_KVM" ] || mount --bind "$SWARMKIT_STATE/no-kvm" /dev/kvm
            exec nsenter --net=/run/netns/'"$ns"' libvirtd --config "$SWARMKIT_STATE/libvirtd.conf"
        ' >"$state/libvirtd.out" 2>&1 &
    echo $! >"$state/libvirtd.pid"
    local i
    for i in $(seq 1 60); do
        if virsh -q -c "$(uri)" version >/dev/null 2>&1; then
            say "libvirtd $(cat "$state/libvirtd.pid") is up in namespace $ns${hide_kvm:+ (no VT-x/AMD-V here: /dev/kvm hidden, software emulation only)}"
            uri
            return 0
        fi
        kill -0 "$(cat "$state/libvirtd.pid")" 2>/dev/null || { cat "$state/libvirtd.out" >&2; die "libvirtd exited at start"; }
        sleep 0.5
    done
    die "libvirtd did not answer on $(uri) within 30 s"
}

stop() {
    local pid
    pid=$(cat "$state/libvirtd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # Guests first, so that no QEMU outlives its libvirtd.
        local dom
        for dom in $(virsh -q -c "$(uri)" list --all --name 2>/dev/null); do
            virsh -q -c "$(uri)" destroy "$dom" >/dev/null 2>&1 || true
            virsh -q -c "$(uri)" undefine --remove-all-storage "$dom" >/dev/null 2>&1 || virsh -q -c "$(uri)" undefine "$dom" >/dev/null 2>&1 || true
        done
        local net
        for net in $(virsh -q -c "$(uri)" net-list --all --name 2>/dev/null); do
            virsh -q -c "$(uri)" net-destroy "$net" >/dev/null 2>&1 || true
            virsh -q -c "$(uri)" net-undefine "$net" >/dev/null 2>&1 || true
        done
        kill "$pid"
        local i
        for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    # libvirt's iptables chains live in the namespace's own tables and go with it.
    if ip netns list | grep -qw "$ns"; then
        # A QEMU or dnsmasq still in the namespace (a libvirtd killed hard) is ended by its PID.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    fi
    rm -rf "$state/private" "$state/sock" "$state/disks"
}

case "$action" in
start) start ;;
stop) stop ;;
uri) uri ;;
*) die "usage: test/vm/libvirt.sh start|stop|uri STATE_DIR NETNS" ;;
esac
