# Sourced by the stand-ins for multipass, virsh, virt-install and qemu-img in end-to-end tests: a "VM" is a lab host
# (scripts/lab/host.sh) on a lab network of its own (scripts/lab/network.sh), so that the real component code and
# the real swarm bootstrap run against something that boots, takes the cloud-init's key and runs its firewall.
#   SWARMKIT_STANDIN_LAB (default mpe2e), SWARMKIT_STANDIN_SUBNET (default 10.80.0.0/24, a /24)
# State: .lab/standin-LAB/NAME holds "HOST ADDRESS MACHINE-ID [DISK]" per VM, NAME.user-data its cloud-init (to
# start it again after a stop), NAME.stopped marks a stopped VM.
set -euo pipefail
standin_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
lab=${SWARMKIT_STANDIN_LAB:-mpe2e}
subnet=${SWARMKIT_STANDIN_SUBNET:-10.80.0.0/24}
prefix=${subnet%.0/24}
state="$standin_root/.lab/standin-$lab"
lab_scripts="$standin_root/scripts/lab"

vm_exists() { [ -f "$state/$1" ]; }
vm_field() { awk -v f="$2" '{print $f}' "$state/$1"; }
vm_running() { vm_exists "$1" && [ ! -f "$state/$1.stopped" ]; }

# vm_launch NAME CLOUD-INIT-FILE [DISK]: the hostname, key and firewall come from the cloud-init.
vm_launch() {
    local name=$1 user_data=$2 disk=${3:-} host key firewall address octet id
    [ -r "$user_data" ] || { echo "stand-in: cannot read cloud-init $user_data" >&2; exit 1; }
    mkdir -p "$state"
    cp "$user_data" "$state/$name.user-data"
    vm_boot "$name" "$disk" new
}

# vm_boot NAME DISK new|again: the lab host with the hostname, key, firewall and host key of its cloud-init.
vm_boot() {
    local name=$1 disk=$2 how=$3 user_data="$state/$1.user-data" host key firewall host_key address octet id
    host=$(sed -n 's/^hostname: "\(.*\)"$/\1/p' "$user_data")
    key=$(sed -n 's/^ *- "\(ssh-[^"]*\)"$/\1/p' "$user_data" | head -n 1)
    # The firewall script from write_files: the indented content under its path, up to the next file.
    firewall=$(awk '
        /^  - path: \/etc\/swarmkit\/firewall$/ { inside = 1; next }
        inside && /^  - / { exit }
        inside && /^    content: \|$/ { body = 1; next }
        inside && body { sub(/^      /, ""); print }' "$user_data")
    # The host key from ssh_keys, as cloud-init would install it.
    host_key=$(awk '/^  ed25519_private: \|$/ { inside = 1; next } inside && /^    / { sub(/^    /, ""); print; next } inside { exit }' "$user_data")
    [ -n "$host" ] && [ -n "$key" ] && [ -n "$firewall" ] && [ -n "$host_key" ] || { echo "stand-in: no hostname, key, firewall or host key in $user_data" >&2; exit 1; }
    if [ "$how" = again ]; then
        address=$(vm_field "$name" 2)
        SWARMKIT_LAB_PUBLIC_KEY="$key" SWARMKIT_LAB_FIREWALL="$firewall" SWARMKIT_LAB_HOST_KEY="$host_key" \
            bash "$lab_scripts/host.sh" up "$lab" "$host" "$address/24" "$prefix.1" >/dev/null 9>&-
        rm -f "$state/$name.stopped"
        return
    fi
    # Parallel launches: take an address and bring the network up under a lock (not held by the host's daemons).
    (
        flock 9
        # Only once: network.sh up on a live bridge can fail ("Address already assigned"), its grep -q under
        # pipefail can lose the race with ip's output (SIGPIPE).
        ip link show "$lab-br" >/dev/null 2>&1 || bash "$lab_scripts/network.sh" up "$lab" "$subnet" >/dev/null
        for octet in $(seq 11 250); do
            grep -qs " $prefix.$octet " "$state"/* || break
        done
        echo "$host $prefix.$octet - $disk" >"$state/$name"
    ) 9>"$state/.lock"
    address=$(vm_field "$name" 2)
    id=$(SWARMKIT_LAB_PUBLIC_KEY="$key" SWARMKIT_LAB_FIREWALL="$firewall" SWARMKIT_LAB_HOST_KEY="$host_key" \
        bash "$lab_scripts/host.sh" up "$lab" "$host" "$address/24" "$prefix.1" 9>&- | sed -n 's/.*"machineId":"\([^"]*\)".*/\1/p') || { rm -f "$state/$name"; exit 1; }
    [ -n "$id" ] || { rm -f "$state/$name"; exit 1; }
    echo "$host $address $id $disk" >"$state/$name"
}

# What a power-off does: the lab host stops, its disk stays.
vm_stop() {
    vm_running "$1" || return 0
    bash "$lab_scripts/host.sh" stop "$lab" "$(vm_field "$1" 1)"
    touch "$state/$1.stopped"
}

vm_start() {
    vm_running "$1" && return 0
    ip link show "$lab-br" >/dev/null 2>&1 || bash "$lab_scripts/network.sh" up "$lab" "$subnet" >/dev/null
    vm_boot "$1" "$(vm_field "$1" 4)" again
}

vm_delete() {
    local name=$1 host
    vm_exists "$name" || return 0
    host=$(vm_field "$name" 1)
    bash "$lab_scripts/host.sh" down "$lab" "$host"
    (
        flock 9
        rm -f "$state/$name" "$state/$name.user-data" "$state/$name.stopped"
        if ! ls "$state"/* >/dev/null 2>&1; then bash "$lab_scripts/network.sh" down "$lab"; fi
    ) 9>"$state/.lock"
    ls "$state"/* >/dev/null 2>&1 || rm -rf "$state"
}
