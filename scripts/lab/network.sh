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
    echo "${gateway%/*}"
    ;;
down)
    while iptables -w -C "${forward_rule[@]}" 2>/dev/null; do iptables -w -D "${forward_rule[@]}"; done
    if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
    ;;
*) die "usage: network.sh up LAB SUBNET | down LAB" ;;
esac
