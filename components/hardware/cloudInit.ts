/**
 * Cloud-init user data shared by every VM target (AWS, DigitalOcean, Multipass, KVM): installs Docker, installs
 * the boot-time copy of the host firewall (the kit's firewall step rewrites it with the current rules), sets the
 * machine's SSH host key and authorises the stack's key.
 */
import { FIREWALL_PATH, HostFirewallArgs, renderHostFirewall } from "../firewall/hostFirewall";

export interface HostKeyPair {
    /** OpenSSH private key (PEM). Secret: user data that carries it must be a secret too. */
    privateKey: string;
    /** "ssh-ed25519 AAAA..." */
    publicKey: string;
}

export interface CloudInitArgs {
    hostname: string;
    /** The firewall the machine boots with, until the kit's firewall step applies the current rules. */
    firewall: HostFirewallArgs;
    /** Keys to authorise for `user` (clouds that inject keys themselves pass none). */
    sshAuthorizedKeys?: string[];
    /** Login user that the kit's SSH steps use; it gets passwordless sudo and the docker group. */
    user: string;
    /** Skip the Docker install (an image that already has it, e.g. DigitalOcean's docker slug). */
    dockerPreinstalled?: boolean;
    /** The Docker engine package to install and its apt version (absent: docker.io, the newest). */
    docker?: { package: string; version?: string };
    /**
     * The image has Docker and iptables (e.g. one `npm run vm-image` built): no package update and nothing to install,
     * so the machine needs no package mirror.
     */
    packagesPreinstalled?: boolean;
    /**
     * The machine's only SSH host key, made by the kit, so the kit knows it before the machine answers and pins it.
     * Other key types are not generated: a client must never be offered a key it has not pinned.
     */
    hostKey?: HostKeyPair;
}

/** A cloud-init package entry: the name, or [name, version] (apt installs name=version; a pattern like 26.1.* works). */
function dockerPackage(docker: CloudInitArgs["docker"]): string | [string, string] {
    const name = docker?.package ?? "docker.io";
    return docker?.version ? [name, docker.version] : name;
}

export const HOST_FIREWALL_UNIT = "swarmkit-firewall.service";

function indent(text: string, spaces: number): string {
    const pad = " ".repeat(spaces);
    return text
        .trimEnd()
        .split("\n")
        .map((line) => (line === "" ? line : pad + line))
        .join("\n");
}

/** Renders `#cloud-config` YAML. Strings are JSON-quoted, which YAML reads as the same strings. */
export function renderCloudInit(args: CloudInitArgs): string {
    const firewall = renderHostFirewall(args.firewall);
    const unit = [
        "[Unit]",
        "Description=swarmkit host firewall (from the kit's port table)",
        "Before=docker.service network-online.target",
        "Wants=network-pre.target",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=/bin/sh ${FIREWALL_PATH}`,
        "RemainAfterExit=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ].join("\n");
    const daemonJson = JSON.stringify({ "live-restore": false, "log-driver": "json-file", "log-opts": { "max-size": "10m" } });
    const lines = [
        "#cloud-config",
        `hostname: ${JSON.stringify(args.hostname)}`,
        "preserve_hostname: false",
    ];
    if (!args.packagesPreinstalled) {
        lines.push("package_update: true", `packages: ${JSON.stringify(["iptables", ...(args.dockerPreinstalled ? [] : [dockerPackage(args.docker)])])}`);
    }
    if (args.hostKey) {
        lines.push(
            "ssh_deletekeys: true",
            "ssh_genkeytypes: []",
            "ssh_keys:",
            "  ed25519_private: |",
            indent(args.hostKey.privateKey, 4),
            `  ed25519_public: ${JSON.stringify(args.hostKey.publicKey.trim())}`,
        );
    }
    if (args.sshAuthorizedKeys && args.sshAuthorizedKeys.length > 0) {
        lines.push(
            "users:",
            "  - default",
            `  - name: ${JSON.stringify(args.user)}`,
            '    groups: ["docker"]',
            '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
            "    shell: /bin/bash",
            "    ssh_authorized_keys:",
            ...args.sshAuthorizedKeys.map((k) => `      - ${JSON.stringify(k)}`),
        );
    }
    lines.push(
        "write_files:",
        `  - path: ${FIREWALL_PATH}`,
        '    permissions: "0755"',
        "    content: |",
        indent(firewall, 6),
        `  - path: /etc/systemd/system/${HOST_FIREWALL_UNIT}`,
        "    content: |",
        indent(unit, 6),
        // Docker listens on its unix socket only: the remote API ports 2375/2376 are never opened.
        "  - path: /etc/docker/daemon.json",
        `    content: ${JSON.stringify(daemonJson)}`,
        "runcmd:",
        `  - ["/bin/sh", ${JSON.stringify(FIREWALL_PATH)}]`,
        '  - ["systemctl", "daemon-reload"]',
        `  - ["systemctl", "enable", ${JSON.stringify(HOST_FIREWALL_UNIT)}]`,
        '  - ["systemctl", "enable", "--now", "docker"]',
        ...(args.user !== "root" ? [`  - ["usermod", "-aG", "docker", ${JSON.stringify(args.user)}]`] : []),
    );
    return lines.join("\n") + "\n";
}
