#!/usr/bin/env bash
# npm run vm-image [-- --out DIR] [-- --print-dir]
#
# Builds a Debian 12 guest image for the KVM target from Debian's packages alone (no cloud image is downloaded):
# Docker, iptables, cloud-init (NoCloud) and OpenSSH preinstalled, so the guest needs no network to become a swarm
# node. The result is a directory holding
#   disk.qcow2   the root filesystem (ext4, label vmroot), the backing image of every VM's overlay disk
#   vmlinuz      the guest kernel and
#   initrd.img   its initramfs, for direct kernel boot (the disk has no boot loader)
#   cmdline      the kernel command line
#   stack-config the swarmkit stack config keys that use it
# It is cached by a hash of its inputs (this script, the package list and the machine's apt sources): a second run
# with the same inputs prints the cached directory at once. The last line on stdout is the directory.
#
# Needs root (mmdebstrap in root mode, files owned by root inside the image), mmdebstrap, e2fsprogs and qemu-utils.
# The packages come from the apt sources this machine already uses; nothing else is fetched.
set -euo pipefail
. "$(dirname "$0")/env.sh"
say() { printf 'swarmkit vm-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

SUITE=bookworm
PACKAGES=(
    linux-image-amd64 initramfs-tools systemd-sysv udev dbus kmod
    cloud-init openssh-server sudo ca-certificates netbase iproute2 procps
    docker.io iptables
    # The Debian kernel enforces AppArmor: without the package every container fails to load docker-default.
    apparmor
    # A static busybox lets tests `docker import` a tiny image: guests have no registry.
    busybox-static
)
# ahci/sr_mod/isofs: virt-install's cloud-init seed is a SATA CD-ROM; without them the user data never applies.
INITRD_MODULES=(virtio_pci virtio_blk virtio_net virtio_console ext4 ahci sr_mod isofs)
CMDLINE="root=LABEL=vmroot rw console=ttyS0"
ROOT_SIZE=8G

# Where images are kept: readable by libvirt's QEMU user, which cannot enter root's home.
default_out() {
    if [ "$(id -u)" = 0 ]; then echo /var/lib/libvirt/images/swarmkit; else echo "$SWARMKIT_CACHE/vm-image"; fi
}

out=$(default_out)
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out=$2; shift 2 ;;
    *) die "unknown argument $1 (usage: npm run vm-image [-- --out DIR])" ;;
    esac
done

apt_sources() {
    # deb822 and one-line sources of this machine, comments dropped: the mirror the user already trusts.
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        case "$f" in
        *.sources) grep -v '^#' "$f"; echo ;;
        *.list) grep -E '^deb ' "$f" | grep -E " $SUITE(-updates|-security|/updates)? " || true ;;
        esac
    done
}

inputs_hash() {
    { cat "$0"; printf '%s\n' "$SUITE" "${PACKAGES[@]}" "${INITRD_MODULES[@]}" "$CMDLINE" "$ROOT_SIZE"; apt_sources; } | sha256sum | cut -c1-16
}

[ "$(uname -s)" = Linux ] || die "builds on Linux only"
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap in root mode, root-owned files in the image): run it with sudo"
for tool in mmdebstrap mkfs.ext4 qemu-img; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian/Ubuntu: apt-get install mmdebstrap e2fsprogs qemu-utils)"
done

hash=$(inputs_hash)
dir="$out/debian-12-$hash"
if [ -f "$dir/stack-config" ]; then
    say "cached: $dir"
    echo "$dir"
    exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
start=$(date +%s)

customize() { # ROOTFS: makes the tree a bootable, cloud-init-configured guest
    local r=$1
    echo "LABEL=vmroot / ext4 defaults,errors=remount-ro 0 1" >"$r/etc/fstab"
    mkdir -p "$r/etc/systemd/network"
    printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$r/etc/systemd/network/10-dhcp.network"
    mkdir -p "$r/etc/cloud/cloud.cfg.d"
    cat >"$r/etc/cloud/cloud.cfg.d/90-swarmkit.cfg" <<'EOF'
# swarmkit guest image: seeded by a NoCloud CIDATA disk; systemd-networkd does DHCP, cloud-init leaves the network.
datasource_list: [ NoCloud, None ]
network: {config: disabled}
# The image has no locales to generate; without this cloud-init ends in error for want of update-locale.
locale: false
# Else sudo cannot resolve the host name cloud-init sets.
manage_etc_hosts: true
EOF
    # Host keys are made per guest: by cloud-init (the kit gives each VM its own), else at first start of sshd.
    rm -f "$r"/etc/ssh/ssh_host_*
    mkdir -p "$r/etc/systemd/system/ssh.service.d"
    printf '[Service]\nExecStartPre=\nExecStartPre=/bin/sh -c "ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A"\nExecStartPre=/usr/sbin/sshd -t\n' \
        >"$r/etc/systemd/system/ssh.service.d/10-host-keys.conf"
    # Every guest gets its own machine id at first boot (and with it its own DHCP client id).
    : >"$r/etc/machine-id"
    rm -f "$r/var/lib/dbus/machine-id"
    sed -i 's/^MODULES=.*/MODULES=list/' "$r/etc/initramfs-tools/initramfs.conf"
    printf '%s\n' "${INITRD_MODULES[@]}" >"$r/etc/initramfs-tools/modules"
    chroot "$r" systemctl enable systemd-networkd ssh docker containerd >/dev/null 2>&1
    chroot "$r" update-initramfs -u -k all >/dev/null
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
}

say "building a Debian 12 guest image ($hash) from Debian's packages: a few minutes"
apt_sources | mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --aptopt='Apt::Install-Recommends "false"' "$SUITE" "$rootfs" - >&2 || die "mmdebstrap failed (its output is above)"
customize "$rootfs"

kernel=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$rootfs"/boot/initrd.img-* | sort -V | tail -n 1)
mkdir -p "$work/image"
cp "$kernel" "$work/image/vmlinuz"
cp "$initrd" "$work/image/initrd.img"
echo "$CMDLINE" >"$work/image/cmdline"
# mkfs.ext4 -d fills the filesystem from the tree: no loop device, no mount.
mkfs.ext4 -q -L vmroot -d "$rootfs" "$work/root.img" "$ROOT_SIZE" >&2 || die "mkfs.ext4 -d failed"
qemu-img convert -O qcow2 "$work/root.img" "$work/image/disk.qcow2" >&2 || die "qemu-img convert failed"
rm -f "$work/root.img"
cat >"$work/image/stack-config" <<EOF
swarmkit:provider: kvm
swarmkit:image: $dir/disk.qcow2
swarmkit:kernel: $dir/vmlinuz
swarmkit:initrd: $dir/initrd.img
swarmkit:kernelArgs: $CMDLINE
swarmkit:imageHasDocker: "true"
swarmkit:osVariant: debian11
EOF
chmod 0644 "$work/image"/*
chmod 0755 "$work/image"
rm -rf "$dir"
mv "$work/image" "$dir"
say "built $dir in $(($(date +%s) - start)) s ($(du -sh "$dir" | cut -f1))"
echo "$dir"
