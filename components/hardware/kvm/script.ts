/** The create and delete scripts of one KVM/libvirt VM: pure renders, run by a local command under /bin/sh. */
import { KvmSettings } from "../settings";
import { PRINT_VM, SHELL_HELPERS, shq } from "../multipass/localVm";

export const LIBVIRT_HINT =
    "install libvirt and its tools (Debian/Ubuntu: sudo apt-get install qemu-kvm libvirt-daemon-system virtinst qemu-utils; " +
    "Fedora: sudo dnf install @virtualization), then sudo usermod -aG libvirt,kvm $USER";

export const KVM_HINT =
    "libvirt cannot start KVM guests: enable VT-x/AMD-V (\"virtualization\") in the BIOS/UEFI settings, load the " +
    "module (sudo modprobe kvm_intel or kvm_amd) and check that /dev/kvm exists";

export interface KvmVm {
    name: string;
    settings: KvmSettings;
}

/** Path of the VM's overlay disk, backed by the configured image. */
export function overlayPath(vm: KvmVm): string {
    return `${vm.settings.diskDir.replace(/\/+$/, "")}/${vm.name}.qcow2`;
}

/**
 * Imports the VM unless `virsh dominfo` already knows it, then prints {"address", "id"} (the IPv4 from
 * `virsh domifaddr`, polled, and the domain's UUID) as the only line on stdout; everything else goes to stderr.
 */
export function renderKvmCreate(vm: KvmVm): string {
    const s = vm.settings;
    return [
        "set -eu",
        "# fd 3 is the only way to stdout, for the JSON line; what a launch leaves running must not hold it (3>&-).",
        "exec 3>&1 1>&2",
        `name=${shq(vm.name)}`,
        "label=kvm",
        `nodes_cidr=${shq(s.nodesCidr ?? "")}`,
        `export LIBVIRT_DEFAULT_URI=${shq(s.uri)}`,
        SHELL_HELPERS,
        `need virsh ${shq(LIBVIRT_HINT)}`,
        `need virt-install ${shq(LIBVIRT_HINT)}`,
        `need qemu-img ${shq(LIBVIRT_HINT)}`,
        'need node "https://nodejs.org"',
        'need ssh-keygen "the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client)"',
        `network=${shq(s.network)}`,
        'if [ -z "$nodes_cidr" ]; then',
        "    gateway=$(virsh net-dumpxml \"$network\" 2>/dev/null | sed -n \"s/.*<ip address=.\\([0-9.]*\\). netmask=.255\\.255\\.255\\.0.*/\\1/p\" | head -n 1) || gateway=",
        `    [ -n "$gateway" ] || die "cannot tell the range of libvirt network $network (virsh net-dumpxml $network): set the nodes range to its /24 (nodesCidr; swarmkit:nodesCidr in the kit's stack config)"`,
        '    nodes_cidr="${gateway%.*}.0/24"',
        "fi",
        `probe_address() { virsh domifaddr "$name" 2>/dev/null | awk '$3 == "ipv4" { split($4, a, "/"); print a[1]; exit }'; }`,
        // libvirt has no way into the guest: a VM made without this stack's state is pinned by what it presents.
        'read_host_key() { wait_address 90 "virsh domifaddr $name" && ssh-keyscan -t ed25519 "$address" 2>/dev/null | awk \'{ print $2" "$3; exit }\'; }',
        'if virsh dominfo "$name" >/dev/null 2>&1; then',
        '    echo "swarmkit kvm $name: the domain exists, not creating it again"',
        '    if [ "$(virsh domstate "$name" 2>/dev/null)" = "shut off" ]; then',
        '        echo "swarmkit kvm $name: the domain is shut off: starting it"',
        '        virsh start "$name" 3>&- || die "virsh start $name failed"',
        "    fi",
        "    known_host_key",
        "else",
        `    image=${shq(s.image)}`,
        '    [ -r "$image" ] || die "the image $image cannot be read: set the image (image, or swarmkit:image in stack config) to the path of an Ubuntu cloud image (qcow2)"',
        `    disk=${shq(overlayPath(vm))}`,
        `    qemu-img create -f qcow2 -F qcow2 -b "$image" "$disk" ${shq(`${s.diskGiB}G`)} 3>&- || die "qemu-img could not create $disk"`,
        '    user_data=$(mktemp "${TMPDIR:-/tmp}/swarmkit-cloud-init-XXXXXX")',
        "    trap 'rm -f \"$user_data\" \"$user_data.log\"' EXIT",
        '    write_user_data "$user_data"',
        '    on_launch_failure() { rm -f "$disk"; }',
        `    launch_vm virt-install ${shq(KVM_HINT)} virt-install --import --name "$name" --memory ${shq(s.memoryMiB)} --vcpus ${shq(s.vcpus)} --disk "path=$disk,format=qcow2" --cloud-init "user-data=$user_data" --network "network=$network" --os-variant ${shq(s.osVariant)} --noautoconsole`,
        "fi",
        'wait_address 90 "virsh domifaddr $name"',
        "check_address",
        'id=$(virsh domuuid "$name" | tr -d "[:space:]") || die "cannot read the domain UUID"',
        PRINT_VM,
    ].join("\n") + "\n";
}

/** Stops the domain (not running is fine) and undefines it with its storage; an already-gone domain is fine. */
export function renderKvmDelete(vm: KvmVm): string {
    return [
        "set -eu",
        "exec 1>&2",
        `name=${shq(vm.name)}`,
        `export LIBVIRT_DEFAULT_URI=${shq(vm.settings.uri)}`,
        'if ! command -v virsh >/dev/null 2>&1; then echo "swarmkit kvm $name: virsh is not installed, nothing to delete"; exit 0; fi',
        'if virsh dominfo "$name" >/dev/null 2>&1; then',
        '    virsh destroy "$name" >/dev/null 2>&1 || true',
        '    virsh undefine --remove-all-storage "$name"',
        "fi",
    ].join("\n") + "\n";
}
