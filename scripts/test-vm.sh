#!/usr/bin/env bash
# npm run test:vm: the KVM target on real virtual machines (root, Linux; a few minutes under software emulation).
#
# Installs what is missing (scripts/setup.sh --vm), builds or reuses the guest image (scripts/vm-image.sh, cached by
# input hash), starts a libvirtd of the test's own in network and mount namespaces of its own (test/vm/libvirt.sh)
# with an isolated network (no <forward>: nothing is routed out, no NAT), and runs test/vm/*.test.ts inside that
# network namespace, so that the test, its Pulumi engine and the guests see only each other. Everything it made is
# removed at the end, also when a test fails; a leftover is reported and fails the run.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
say() { printf 'swarmkit test:vm: %s\n' "$*" >&2; }

if [ "$(uname -s)" != Linux ] || [ "$(id -u)" != 0 ]; then
    say "skipped: real VMs need root on Linux (libvirt, network namespaces)"
    exit 0
fi
bash scripts/setup.sh --vm
. scripts/env.sh

image_start=$(date +%s)
image_dir=$(bash scripts/vm-image.sh | tail -n 1)
say "guest image $image_dir ($(($(date +%s) - image_start)) s)"

NS=swarmkit-vm-e2e
NETWORK=swarmkit-vm-e2e
SUBNET_PREFIX=10.97.0
state="$SWARMKIT_ROOT/.lab/vm-e2e"
boot_isos_before=$(ls /var/lib/libvirt/boot 2>/dev/null | sort || true)

# The test's stacks (vm-PID). One left by a run killed half-way lost its VMs with its libvirtd; its state entry goes.
vm_stacks() {
    pulumi stack ls --json 2>/dev/null | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { for (const x of JSON.parse(s)) if (/^vm-\d+$/.test(x.name)) console.log(x.name); } catch {} });'
}

# Removes a test stack; the lock of a run killed half-way (its process gone) is removed first.
remove_stack() {
    local locks="${PULUMI_BACKEND_URL#file://}/.pulumi/locks/organization/swarmkit/$1" lock pid
    for lock in "$locks"/*.json; do
        [ -f "$lock" ] || continue
        pid=$(node -e 'try { console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).pid ?? "") } catch {}' "$lock")
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
        rm -f "$lock"
    done
    pulumi stack rm "$1" --force --yes >/dev/null 2>&1
}

cleanup() {
    bash test/vm/libvirt.sh stop "$state" "$NS" || true
    local left=()
    ip netns list | grep -qw "$NS" && left+=("namespace $NS")
    [ -n "$(ls -A "$state/disks" 2>/dev/null)" ] && left+=("disks in $state/disks")
    [ -f "$state/libvirtd.pid" ] && kill -0 "$(cat "$state/libvirtd.pid")" 2>/dev/null && left+=("libvirtd $(cat "$state/libvirtd.pid")")
    # virt-install leaves each guest's cloud-init seed in /var/lib/libvirt/boot until the guest's storage goes.
    local isos
    isos=$(comm -13 <(echo "$boot_isos_before") <(ls /var/lib/libvirt/boot 2>/dev/null | sort) | sed 's|^|/var/lib/libvirt/boot/|')
    if [ -n "$isos" ]; then left+=("cloud-init seeds: $(echo $isos)"); rm -f $isos; fi
    rm -rf "$state"
    local stack
    for stack in $(vm_stacks); do remove_stack "$stack" && left+=("stack $stack"); done
    if [ ${#left[@]} -gt 0 ]; then say "left behind (now removed): ${left[*]}"; return 1; fi
}

# A previous run killed half-way must not leave this one a stale namespace or daemon.
bash test/vm/libvirt.sh stop "$state" "$NS" >/dev/null 2>&1 || true
for stack in $(vm_stacks); do remove_stack "$stack" || true; done
rm -rf "$state" && mkdir -p "$state"
set +e
(
    set -e
    uri=$(bash test/vm/libvirt.sh start "$state" "$NS")
    cat >"$state/network.xml" <<EOF
<network>
  <name>$NETWORK</name>
  <bridge name="swkvm0" stp="off" delay="0"/>
  <ip address="$SUBNET_PREFIX.1" netmask="255.255.255.0">
    <dhcp><range start="$SUBNET_PREFIX.100" end="$SUBNET_PREFIX.200"/></dhcp>
  </ip>
</network>
EOF
    virsh -q -c "$uri" net-define "$state/network.xml" >/dev/null
    virsh -q -c "$uri" net-start "$NETWORK" >/dev/null
    SWARMKIT_VM_URI=$uri SWARMKIT_VM_IMAGE_DIR=$image_dir SWARMKIT_VM_NETWORK=$NETWORK SWARMKIT_VM_BRIDGE=swkvm0 \
        SWARMKIT_VM_HOST_ADDRESS=$SUBNET_PREFIX.1 SWARMKIT_VM_DISKS=$state/disks \
        nsenter --net="/run/netns/$NS" node --import tsx --test --test-concurrency=1 test/vm/*.test.ts
)
rc=$?
if ! cleanup && [ "$rc" = 0 ]; then rc=1; fi
exit "$rc"
