# Sourced by the stand-ins for multipass, virsh, virt-install and qemu-img in end-to-end tests: a "VM" is a lab host
# (scripts/lab/host.sh) on a lab network of its own (scripts/lab/network.sh), so that the real component code and
# the real swarm bootstrap run against something that boots, takes the cloud-init's key and runs its firewall.
#   SWARMKIT_STANDIN_LAB (default mpe2e), SWARMKIT_STANDIN_SUBNET (default 10.80.0.0/24, a /24)
# State: .lab/standin-LAB/NAME holds "HOST ADDRESS MACHINE-ID [DISK]" per VM.
set -euo pipefail
standin_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
lab=${SWARMKIT_STANDIN_LAB:-mpe2e}
subnet=${SWARMKIT_STANDIN_SUBNET:-10.80.0.0/24}
prefix=${subnet%.0/24}
state="$standin_root/.lab/standin-$lab"
lab_scripts="$standin_root/scripts/lab"

vm_exists() { [ -f "$state/$1" ]; }
vm_field() { awk -v f="$2" '{print $f}' "$state/$1"; }

# vm_launch NAME CLOUD-INIT-FILE [DISK]: the hostname, key and firewall come from the cloud-init.
vm_launch() {
    local name=$1 user_data=$2 disk=${3:-} host key firewall address octet id
    [ -r "$user_data" ] || { echo "stand-in: cannot read cloud-init $user_data" >&2; exit 1; }
    host=$(sed -n 's/^hostname: "\(.*\)"$/\1/p' "$user_data")
    key=$(sed -n 's/^ *- "\(ssh-[^"]*\)"$/\1/p' "$user_data" | head -n 1)
    # The firewall script from write_files: the indented content under its path, up to the next file.
    firewall=$(awk '
        /^  - path: \/usr\/local\/sbin\/swarmkit-firewall$/ { inside = 1; next }
        inside && /^  - / { exit }
        inside && /^    content: \|$/ { body = 1; next }
        inside && body { sub(/^      /, ""); print }' "$user_data")
    [ -n "$host" ] && [ -n "$key" ] && [ -n "$firewall" ] || { echo "stand-in: no hostname, key or firewall in $user_data" >&2; exit 1; }
    mkdir -p "$state"
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
    id=$(SWARMKIT_LAB_PUBLIC_KEY="$key" SWARMKIT_LAB_FIREWALL="$firewall" \
        bash "$lab_scripts/host.sh" up "$lab" "$host" "$address/24" "$prefix.1" 9>&-) || { rm -f "$state/$name"; exit 1; }
    echo "$host $address $id $disk" >"$state/$name"
}

vm_delete() {
    local name=$1 host
    vm_exists "$name" || return 0
    host=$(vm_field "$name" 1)
    bash "$lab_scripts/host.sh" down "$lab" "$host"
    (
        flock 9
        rm -f "$state/$name"
        if ! ls "$state"/* >/dev/null 2>&1; then bash "$lab_scripts/network.sh" down "$lab"; fi
    ) 9>"$state/.lock"
    ls "$state"/* >/dev/null 2>&1 || rm -rf "$state"
}
