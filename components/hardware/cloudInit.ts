/**
 * Cloud-init user data shared by every VM target (AWS, DigitalOcean, Multipass, KVM): installs Docker, installs
 * the host firewall rendered from the port table as a boot-time unit, and authorises the stack's key.
 */
import { HostFirewallArgs, renderHostFirewall } from "../firewall/hostFirewall";

export interface CloudInitArgs {
    hostname: string;
    firewall: HostFirewallArgs;
    /** Keys to authorise for `user` (clouds that inject keys themselves pass none). */
    sshAuthorizedKeys?: string[];
    /** Login user that the kit's SSH steps use; it gets passwordless sudo and the docker group. */
    user: string;
    /** Skip the Docker install (an image that already has it, e.g. DigitalOcean's docker slug). */
    dockerPreinstalled?: boolean;
}

const FIREWALL_PATH = "/usr/local/sbin/swarmkit-firewall";

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
        `ExecStart=${FIREWALL_PATH}`,
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
        "package_update: true",
        `packages: ${JSON.stringify(["iptables", ...(args.dockerPreinstalled ? [] : ["docker.io"])])}`,
    ];
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
        "  - path: /etc/systemd/system/swarmkit-firewall.service",
        "    content: |",
        indent(unit, 6),
        // Docker listens on its unix socket only: the remote API ports 2375/2376 are never opened.
        "  - path: /etc/docker/daemon.json",
        `    content: ${JSON.stringify(daemonJson)}`,
        "runcmd:",
        `  - ${JSON.stringify(FIREWALL_PATH)}`,
        '  - ["systemctl", "daemon-reload"]',
        '  - ["systemctl", "enable", "swarmkit-firewall.service"]',
        '  - ["systemctl", "enable", "--now", "docker"]',
        ...(args.user !== "root" ? [`  - ["usermod", "-aG", "docker", ${JSON.stringify(args.user)}]`] : []),
    );
    return lines.join("\n") + "\n";
}
