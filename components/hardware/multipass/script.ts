/** The create and delete scripts of one Multipass VM: pure renders, run by a local command under /bin/sh. */
import { MultipassSettings } from "../settings";
import { PRINT_VM, SHELL_HELPERS, shq } from "./localVm";

export const INSTALL_HINT = "https://multipass.run/install";

export const KVM_HINT =
    "multipass cannot start VMs because hardware virtualization (KVM) is not available: enable VT-x/AMD-V " +
    "(\"virtualization\") in the BIOS/UEFI settings, load the module (sudo modprobe kvm_intel or kvm_amd), check " +
    "that /dev/kvm exists and that your user may open it (sudo usermod -aG kvm $USER); inside a VM, enable nested " +
    "virtualization on its host";

/**
 * `launch_vm WHAT HINT CMD...`: runs the launcher with its output kept aside and fd 3 (the script's real stdout)
 * closed, so that what it leaves running cannot hold the create step open. On failure: its output, then HINT when the
 * output points at virtualization.
 */
const LAUNCH_VM = [
    "launch_vm() {",
    '    what=$1; hint=$2; shift 2',
    '    if ! "$@" >"$user_data.log" 2>&1 3>&-; then',
    '        cat "$user_data.log"',
    `        if grep -qiE 'kvm|virtuali[sz]ation' "$user_data.log"; then die "$hint"; fi`,
    '        die "$what failed (its output is above)"',
    "    fi",
    '    cat "$user_data.log"',
    "}",
];

export interface MultipassVm {
    name: string;
    settings: MultipassSettings;
}

/**
 * Launches the VM unless `multipass info` already knows it (a stopped one is started again), then prints
 * {"address", "id", "hostKey", "nodesCidr"} (the VM's IPv4, its /etc/machine-id, its SSH host key and network) as
 * the only line on stdout; everything else goes to stderr.
 */
export function renderMultipassCreate(vm: MultipassVm): string {
    const s = vm.settings;
    return [
        "set -eu",
        "# fd 3 is the only way to stdout, for the JSON line; what a launch leaves running must not hold it (3>&-).",
        "exec 3>&1 1>&2",
        `name=${shq(vm.name)}`,
        "label=multipass",
        `nodes_cidr=${shq(s.nodesCidr ?? "")}`,
        SHELL_HELPERS,
        ...LAUNCH_VM,
        `need multipass ${shq(INSTALL_HINT)}`,
        'need node "https://nodejs.org"',
        'need ssh-keygen "the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client)"',
        'if [ -z "$nodes_cidr" ]; then',
        "    # multipass's qemu driver on Linux: the VMs' /24 is the bridge's.",
        "    bridge=$(ip -4 -o addr show dev mpqemubr0 2>/dev/null | awk '{print $4; exit}') || bridge=",
        `    [ -n "$bridge" ] || die "cannot tell the VM network (no mpqemubr0 bridge): set nodesCidr (swarmkit:nodesCidr in the kit's stack config) to the /24 that 'multipass list' shows, e.g. 10.1.2.0/24"`,
        '    nodes_cidr="${bridge%.*}.0/24"',
        "fi",
        `read_host_key() { multipass exec "$name" -- cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f1,2; }`,
        'if multipass info "$name" >/dev/null 2>&1; then',
        '    echo "swarmkit multipass $name: the VM exists, not launching it again"',
        `    if multipass info "$name" --format json | grep -q '"state": *"Stopped"'; then`,
        '        echo "swarmkit multipass $name: the VM is stopped: starting it"',
        '        multipass start "$name" 3>&- || die "multipass start $name failed"',
        "    fi",
        "    known_host_key",
        "else",
        "    # Under $HOME, not /tmp: the multipass snap cannot read the host's /tmp.",
        '    user_data=$(mktemp "${SWARMKIT_CLOUD_INIT_DIR:-${HOME:-/tmp}}/swarmkit-cloud-init-XXXXXX")',
        "    trap 'rm -f \"$user_data\" \"$user_data.log\"' EXIT",
        '    write_user_data "$user_data"',
        `    launch_vm "multipass launch" ${shq(KVM_HINT)} multipass launch --name "$name" --cpus ${shq(s.cpus)} --memory ${shq(s.memory)} --disk ${shq(s.disk)} --cloud-init "$user_data" ${shq(s.image)}`,
        "fi",
        `probe_address() { multipass info "$name" --format json 2>/dev/null | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { const a = (JSON.parse(s).info[process.argv[1]] || {}).ipv4 || []; if (a[0]) process.stdout.write(a[0]); } catch {} });' "$name"; }`,
        'wait_address 60 "multipass info $name"',
        "check_address",
        'id=$(multipass exec "$name" -- cat /etc/machine-id) || die "cannot read /etc/machine-id"',
        PRINT_VM,
    ].join("\n") + "\n";
}

/** Deletes and purges the VM; a VM that is already gone (or multipass itself) is not an error. */
export function renderMultipassDelete(name: string): string {
    return [
        "set -eu",
        `name=${shq(name)}`,
        'if ! command -v multipass >/dev/null 2>&1; then echo "swarmkit multipass $name: multipass is not installed, nothing to delete" >&2; exit 0; fi',
        'if multipass info "$name" >/dev/null 2>&1; then multipass delete --purge "$name" >&2; fi',
    ].join("\n") + "\n";
}
