/**
 * What the two local VM targets (Multipass and KVM/libvirt) share: the VM's name, its cloud-init, the shell
 * helpers of their create scripts and the parsing of the one JSON line those scripts print.
 */
import { shellQuote } from "../../ssh/shell";
import { renderCloudInit } from "../cloudInit";

/** Stands in the cloud-init for the VM network's range when it is not configured: the create script fills it in. */
export const NODES_CIDR_PLACEHOLDER = "@SWARMKIT_NODES_CIDR@";
/** Stand in the cloud-init for the VM's SSH host key, which the create script makes (it never enters the state). */
export const HOST_KEY_PRIVATE_PLACEHOLDER = "@SWARMKIT_HOST_KEY_PRIVATE@";
export const HOST_KEY_PUBLIC_PLACEHOLDER = "@SWARMKIT_HOST_KEY_PUBLIC@";

/** Environment variable that carries the cloud-init to the create script (never on its command line). */
export const CLOUD_INIT_ENV = "SWARMKIT_CLOUD_INIT";

/** `<stack>-<host>`: unique per stack on one workstation. */
export function vmName(stack: string, host: string): string {
    return `${stack}-${host}`;
}

/** A single-quoted POSIX shell word (numbers too). */
export function shq(value: string | number): string {
    return shellQuote(String(value));
}

export interface LocalVmUserDataArgs {
    hostname: string;
    user: string;
    publicKey: string;
    /** The VMs' /24; absent: the placeholder the create script replaces. */
    nodesCidr?: string;
    /** The Docker engine to install (absent: docker.io, the newest). */
    docker?: { package: string; version?: string };
    /** The image has Docker and iptables: nothing to install, no package mirror needed. */
    imageHasDocker?: boolean;
}

/**
 * Cloud-init of a local VM. The workstation sits on the VM network itself and stands in for the load balancer, so
 * published ports accept the VM network's range. Its boot-time firewall lets SSH in from the VM network only (where
 * the workstation is) and publishes nothing: the kit's firewall step applies adminCidr and publishedPorts, so
 * changing those never touches the VM itself.
 */
export function localVmUserData(args: LocalVmUserDataArgs): string {
    const nodes = args.nodesCidr ?? NODES_CIDR_PLACEHOLDER;
    return renderCloudInit({
        hostname: args.hostname,
        user: args.user,
        sshAuthorizedKeys: [args.publicKey],
        firewall: { nodes: [nodes], admin: [nodes], loadBalancer: [], publishedPorts: [] },
        hostKey: { privateKey: HOST_KEY_PRIVATE_PLACEHOLDER, publicKey: HOST_KEY_PUBLIC_PLACEHOLDER },
        docker: args.docker,
        packagesPreinstalled: args.imageHasDocker,
    });
}

/** The host firewall the kit applies to local VMs: the workstation on the VM network is the load balancer. */
export function localVmFirewall(nodesCidr: string, adminCidr: string, publishedPorts: readonly number[], dataPathPort?: number) {
    return { nodes: [nodesCidr], admin: [adminCidr], loadBalancer: [nodesCidr], publishedPorts, ...(dataPathPort === undefined ? {} : { dataPathPort }) };
}

/**
 * Shell functions of every create script: `die`, `need TOOL HINT`, `write_user_data FILE` (the cloud-init from the
 * environment, the network range filled in) and `check_address` (the VM got an address inside nodes_cidr).
 * Expects `name`, `label` and `nodes_cidr` set.
 */
export const SHELL_HELPERS = [
    'die() { echo "swarmkit $label $name: $*" >&2; exit 1; }',
    'need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }',
    // The VM's SSH host key is made here, put into its cloud-init and forgotten: only its public half is printed.
    "write_user_data() {",
    `    [ -n "\${${CLOUD_INIT_ENV}:-}" ] || die "${CLOUD_INIT_ENV} is empty"`,
    '    keydir=$(mktemp -d "${TMPDIR:-/tmp}/swarmkit-host-key-XXXXXX")',
    '    ssh-keygen -q -t ed25519 -N "" -C "$name" -f "$keydir/key" >/dev/null || die "ssh-keygen failed"',
    '    host_key=$(cut -d" " -f1,2 "$keydir/key.pub")',
    `    printf '%s' "$${CLOUD_INIT_ENV}" | sed -e "s#${NODES_CIDR_PLACEHOLDER}#$nodes_cidr#g" -e "s#${HOST_KEY_PUBLIC_PLACEHOLDER}#$host_key#g" |`,
    `        awk -v keyfile="$keydir/key" '/${HOST_KEY_PRIVATE_PLACEHOLDER}/ { pad = $0; sub(/[^ ].*$/, "", pad); while ((getline line < keyfile) > 0) print pad line; next } { print }' >"$1"`,
    '    rm -rf "$keydir"',
    "}",
    // An existing VM: its key is the one printed when it was made (the previous output), else the one it presents.
    "known_host_key() {",
    '    host_key=$(printf \'%s\' "${PULUMI_COMMAND_STDOUT:-}" | node -e \'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { process.stdout.write(JSON.parse(s).hostKey || ""); } catch {} });\')',
    '    if [ -z "$host_key" ]; then',
    '        host_key=$(read_host_key) || host_key=""',
    '        [ -n "$host_key" ] || die "cannot tell the SSH host key of the existing VM"',
    '        echo "swarmkit $label $name: pinning the host key the existing VM presents: $host_key"',
    "    fi",
    "}",
    // Polls the caller's probe_address (prints the VM's IPv4, or nothing yet) every 2 s, $1 times.
    "wait_address() {",
    '    address=""',
    "    i=0",
    '    while [ "$i" -lt "$1" ]; do',
    '        address=$(probe_address) || address=""',
    '        [ -n "$address" ] && return 0',
    "        i=$((i + 1)); sleep 2",
    "    done",
    '    die "no IPv4 address after $(($1 * 2)) s: see $2"',
    "}",
    "check_address() {",
    "    node -e '",
    '        const [address, cidr] = process.argv.slice(1);',
    '        const n = (a) => a.split(".").reduce((v, o) => v * 256 + Number(o), 0);',
    '        const [base, bits] = cidr.split("/");',
    "        const size = 2 ** (32 - Number(bits));",
    "        process.exit(Math.floor(n(address) / size) === Math.floor(n(base) / size) ? 0 : 1);",
    `    ' "$address" "$nodes_cidr" || die "got address $address outside the nodes range $nodes_cidr: set nodesCidr (swarmkit:nodesCidr in the kit's stack config) to the VMs' /24"`,
    "}",
].join("\n");

export interface VmOutput {
    address: string;
    id: string;
    /** The VM's SSH host key, "ssh-ed25519 AAAA...". */
    hostKey: string;
    /** The VM network's range. */
    nodesCidr: string;
}

/** The line every create script ends with: the VM's address, id, host key and network, as JSON on fd 3. */
export const PRINT_VM = `printf '{"address":"%s","id":"%s","hostKey":"%s","nodesCidr":"%s"}\\n' "$address" "$id" "$host_key" "$nodes_cidr" >&3`;

/** The create script's stdout: one JSON line {"address", "id", "hostKey", "nodesCidr"}. */
export function parseVmOutput(stdout: string): VmOutput {
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout.trim());
    } catch {
        parsed = undefined;
    }
    const o = parsed as Partial<VmOutput> | undefined;
    const fields = ["address", "id", "hostKey", "nodesCidr"] as const;
    if (!o || !fields.every((f) => typeof o[f] === "string" && o[f] !== "")) {
        throw new Error(`a local VM's create script printed ${JSON.stringify(stdout)}, not {"address", "id", "hostKey", "nodesCidr"}`);
    }
    return { address: o.address!, id: o.id!, hostKey: o.hostKey!, nodesCidr: o.nodesCidr! };
}
