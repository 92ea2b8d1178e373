/** The create and delete scripts of one KVM/libvirt VM: pure renders, run by a local command under /bin/sh. */
import { KvmSettings } from "../settings";
import { PRINT_VM, SHELL_HELPERS, shq } from "../multipass/localVm";
import { directBootOption } from "./boot";

export const LIBVIRT_HINT =
    "install libvirt and its tools (Debian/Ubuntu: sudo apt-get install qemu-kvm libvirt-daemon-system virtinst qemu-utils; " +
    "Fedora: sudo dnf install @virtualization), then sudo usermod -aG libvirt,kvm $USER";

export const KVM_HINT =
    "libvirt cannot start KVM guests: enable VT-x/AMD-V (\"virtualization\") in the BIOS/UEFI settings, load the " +
    "module (sudo modprobe kvm_intel or kvm_amd) and check that /dev/kvm exists; where there is no hardware " +
    "virtualisation (many cloud VMs), set virtType to qemu (software emulation) or auto";

/** The TCG translation cache of a software-emulated guest: QEMU's default of 1 GiB doubles each guest's memory. */
export const TCG_TB_CACHE_MIB = 256;

export interface KvmVm {
    name: string;
    settings: KvmSettings;
}

function inDiskDir(vm: KvmVm, file: string): string {
    return `${vm.settings.diskDir.replace(/\/+$/, "")}/${file}`;
}

/** Path of the VM's overlay disk, backed by the configured image. */
export function overlayPath(vm: KvmVm): string {
    return inDiskDir(vm, `${vm.name}.qcow2`);
}

/**
 * Path of the VM's cloud-init seed (a NoCloud "cidata" ISO), next to its disk. The kit makes it rather than
 * `virt-install --cloud-init`, whose first boot is an install phase with on_reboot=destroy: a VM rebooted from
 * inside would shut off instead of coming back. It holds the VM's host key, so it is readable by root only.
 */
export function seedPath(vm: KvmVm): string {
    return inDiskDir(vm, `${vm.name}-seed.iso`);
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
        ...SEED_HELPERS,
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
        '    [ -r "$image" ] || die "the image $image cannot be read: set the image (image, or swarmkit:image in stack config) to the path of a cloud image (qcow2), or of the disk npm run vm-image builds"',
        ...bootChecks(s),
        `    disk=${shq(overlayPath(vm))}`,
        `    qemu-img create -f qcow2 -F qcow2 -b "$image" "$disk" ${shq(`${s.diskGiB}G`)} 3>&- || die "qemu-img could not create $disk"`,
        '    user_data=$(mktemp "${TMPDIR:-/tmp}/swarmkit-cloud-init-XXXXXX")',
        "    trap 'rm -f \"$user_data\" \"$user_data.log\"' EXIT",
        '    write_user_data "$user_data"',
        `    seed=${shq(seedPath(vm))}`,
        "    make_seed",
        // virt-install defines a libvirt storage pool for the disks' folder on first use; two at once race for the
        // same pool and one fails, so the VMs take turns here (about a second each), holding a lock on that folder.
        "    install_vm() { # VIRT_TYPE",
        `        if [ -d ${shq(s.diskDir)} ] && command -v flock >/dev/null 2>&1; then exec 9<${shq(s.diskDir)} && flock 9; fi`,
        `        tcg=""; [ "$1" = qemu ] && tcg="--xml ./features/tcg/tb-cache=${TCG_TB_CACHE_MIB} --xml ./features/tcg/tb-cache/@unit=MiB"`,
        `        virt-install --import --virt-type "$1" --name "$name" --memory ${shq(s.memoryMiB)} --vcpus ${shq(s.vcpus)} --disk "path=$disk,format=qcow2"${bootArgument(s)} --disk "path=$seed,device=cdrom" --network "network=$network" --os-variant ${shq(s.osVariant)} --graphics none --sound none --noautoconsole $tcg >"$user_data.log" 2>&1 3>&- 9>&-`,
        '        rc=$?; exec 9>&-; cat "$user_data.log"; return $rc',
        "    }",
        "    wants_kvm() { grep -qiE 'kvm|virtuali[sz]ation' \"$user_data.log\"; }",
        ...chooseVirtType(s),
        "    launched=false",
        '    install_vm "$virt_type" && launched=true',
        '    if [ "$launched" = false ] && [ "$virt_type_setting" = auto ] && [ "$virt_type" = kvm ] && wants_kvm; then',
        '        fall_back_to_qemu "libvirt could not start a KVM guest (above)"',
        '        virsh dominfo "$name" >/dev/null 2>&1 && virsh undefine "$name" >/dev/null 2>&1',
        "        install_vm qemu && launched=true",
        "    fi",
        '    if [ "$launched" = false ]; then',
        '        rm -f "$disk" "$seed"',
        `        if [ "$virt_type" = kvm ] && wants_kvm; then die ${shq(KVM_HINT)}; fi`,
        '        die "virt-install failed (its output is above)"',
        "    fi",
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
        // A seed left by a launch that failed half-way, or one libvirt did not count as the domain's storage.
        `rm -f ${shq(seedPath(vm))}`,
    ].join("\n") + "\n";
}

/** The kernel and initrd of a direct kernel boot must be readable where libvirt runs (checked like the image). */
function bootChecks(s: KvmSettings): string[] {
    return (["kernel", "initrd"] as const)
        .filter((k) => s[k] !== undefined)
        .map((k) => `    [ -r ${shq(s[k]!)} ] || die ${shq(`the ${k} ${s[k]} cannot be read: set ${k} (swarmkit:${k}) to its path on the libvirt host (npm run vm-image prints it)`)}`);
}

function bootArgument(s: KvmSettings): string {
    const boot = directBootOption(s);
    return boot === undefined ? "" : ` --boot ${shq(boot)}`;
}

/**
 * Sets virt_type to what virt-install is asked for first. "auto" takes kvm when libvirt offers it; a libvirt that
 * offers kvm and then cannot start it (no VT-x/AMD-V in a VM) is caught when the launch fails, and retried as qemu.
 */
function chooseVirtType(s: KvmSettings): string[] {
    return [
        `    virt_type_setting=${shq(s.virtType)}`,
        '    virt_type=$virt_type_setting',
        "    fall_back_to_qemu() {",
        '        echo "swarmkit kvm $name: warning: $1: falling back to software emulation (virtType qemu), several times slower; set virtType to qemu to skip the attempt, or to kvm to make it an error"',
        "        virt_type=qemu",
        "    }",
        // A VM without nested virtualisation may still have /dev/kvm, and its guests then hang at boot: on this
        // machine's own libvirt, the CPU flags tell.
        '    no_vt=""',
        '    case "$LIBVIRT_DEFAULT_URI" in qemu:///*) grep -qE "^flags.*\\b(vmx|svm)\\b" "${SWARMKIT_CPUINFO:-/proc/cpuinfo}" 2>/dev/null || no_vt=1 ;; esac',
        '    if [ "$virt_type" = auto ]; then',
        "        virt_type=kvm",
        '        if [ -n "$no_vt" ]; then fall_back_to_qemu "this machine\'s CPU has no VT-x/AMD-V (no vmx or svm flag in /proc/cpuinfo)"',
        '        elif ! virsh domcapabilities --virttype kvm >/dev/null 2>&1; then fall_back_to_qemu "libvirt offers no KVM domains here"; fi',
        '    elif [ "$virt_type" = kvm ] && [ -n "$no_vt" ]; then',
        '        echo "swarmkit kvm $name: warning: this machine\'s CPU has no VT-x/AMD-V (no vmx or svm flag in /proc/cpuinfo): a KVM guest may fail or hang; virtType qemu or auto runs it under software emulation"',
        "    fi",
    ];
}

/**
 * `make_seed`: the NoCloud seed ISO at $seed from $user_data, with a fresh instance-id (a VM made again under the
 * same name is a new instance), by xorrisofs (what virt-install itself uses) or genisoimage.
 */
const SEED_HELPERS = [
    "make_seed() {",
    '    iso_tool=""',
    "    for t in xorrisofs genisoimage mkisofs; do command -v $t >/dev/null 2>&1 && { iso_tool=$t; break; }; done",
    `    [ -n "$iso_tool" ] || die ${shq(`cannot make the cloud-init seed: install xorriso or genisoimage (${LIBVIRT_HINT})`)}`,
    '    seed_dir=$(mktemp -d "${TMPDIR:-/tmp}/swarmkit-seed-XXXXXX")',
    '    cp "$user_data" "$seed_dir/user-data"',
    '    printf \'instance-id: %s-%s\\n\' "$name" "$(date +%s)" >"$seed_dir/meta-data"',
    '    (umask 077 && "$iso_tool" -quiet -o "$seed" -V cidata -J -R "$seed_dir/user-data" "$seed_dir/meta-data") || { rm -rf "$seed_dir"; die "$iso_tool could not make the cloud-init seed $seed"; }',
    '    rm -rf "$seed_dir"',
    "}",
];
