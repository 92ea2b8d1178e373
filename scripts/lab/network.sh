#!/usr/bin/env bash
# The lab's network: one Linux bridge that every lab host's veth plugs into, with the Pulumi host (this root
# namespace) at .1 of the lab subnet. Nothing is routed or masqueraded out of it: lab traffic stays in the lab.
#   network.sh up LAB SUBNET     (SUBNET a /24 such as 10.77.0.0/24)
#   network.sh down LAB
set -euo pipefail
die() { echo "swarmkit lab network: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "lab hosts need root (network namespaces, bridges, iptables)"

action=${1:-}; lab=${2:-}
[[ "$lab" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "bad lab name '$lab'"
bridge="${lab}-br"

# dockerd in the root namespace sets FORWARD to DROP; traffic between lab hosts crosses FORWARD on the bridge.
forward_rule=(FORWARD -i "$bridge" -o "$bridge" -m comment --comment "swarmkit-lab-$lab" -j ACCEPT)

# Every lab host is a namespace of this one kernel, and the kernel keeps one neighbour (ARP) table for all of them,
# 1024 entries by default. 55 lab hosts, each knowing every other on the lab bridge and on the swarm's ingress
# overlay, overflowed it ("neighbour: arp_cache: neighbor table overflow!" in dmesg): SSH dials to lab hosts timed
# out and joins stalled. A lab network raises the limits (never lowers them); the last lab network to go puts back
# the values it found. The script file itself is the lock, so that no lock file is left behind.
neigh=/proc/sys/net/ipv4/neigh/default
neigh_saved=/run/swarmkit-lab-neigh
neigh_wanted=(8192 32768 65536)
raise_neigh() {
    [ -e "$neigh_saved" ] || printf '%s %s %s\n' "$(cat "$neigh/gc_thresh1")" "$(cat "$neigh/gc_thresh2")" "$(cat "$neigh/gc_thresh3")" >"$neigh_saved"
    local n
    for n in 1 2 3; do
        [ "$(cat "$neigh/gc_thresh$n")" -ge "${neigh_wanted[$((n - 1))]}" ] || echo "${neigh_wanted[$((n - 1))]}" >"$neigh/gc_thresh$n"
    done
}
restore_neigh() {
    [ -e "$neigh_saved" ] || return 0
    local b
    for b in /sys/class/net/*-br; do [ ! -d "$b/bridge" ] || return 0; done # another lab network still up
    local found
    read -r -a found <"$neigh_saved"
    # Lowering: thresh1 first keeps thresh1 <= thresh2 <= thresh3 between the writes.
    echo "${found[0]}" >"$neigh/gc_thresh1"; echo "${found[1]}" >"$neigh/gc_thresh2"; echo "${found[2]}" >"$neigh/gc_thresh3"
    rm -f "$neigh_saved"
}
exec {lock}<"$0"
flock "$lock"

case "$action" in
up)
    subnet=${3:-}
    [[ "$subnet" =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/24$ ]] || die "bad subnet '$subnet' (a /24 such as 10.77.0.0/24)"
    gateway="${BASH_REMATCH[1]}.1/24"
    ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
    # Read the whole listing first: `ip | grep -q` under pipefail fails when grep stops reading early.
    addresses=$(ip -o addr show dev "$bridge")
    case "$addresses" in *" ${gateway%/*}/"*) ;; *) ip addr add "$gateway" dev "$bridge" ;; esac
    ip link set "$bridge" up
    iptables -w -C "${forward_rule[@]}" 2>/dev/null || iptables -w -I "${forward_rule[@]}"
    raise_neigh
    echo "${gateway%/*}"
    ;;
down)
    while iptables -w -C "${forward_rule[@]}" 2>/dev/null; do iptables -w -D "${forward_rule[@]}"; done
    if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
    restore_neigh
    ;;
*) die "usage: network.sh up LAB SUBNET | down LAB" ;;
esac
