/**
 * The host firewall every node gets, rendered from the kit's port table: cloud-init runs it on VMs, the lab runs
 * it inside each lab host. It is idempotent (own chains, flushed and refilled) so it can run at every boot.
 */
import { PortRule, Source, portTable } from "../ports";

export interface HostFirewallArgs {
    /** Range of the swarm nodes' private addresses. */
    nodesCidr: string;
    /** Range allowed to reach SSH. */
    adminCidr: string;
    /** Range the load balancer sends from; the only one that reaches published ports. */
    loadBalancerCidr: string;
    publishedPorts: readonly number[];
}

const INPUT_CHAIN = "SWARMKIT-INPUT";
const PUBLISHED_CHAIN = "SWARMKIT-PUBLISHED";

function sourceCidr(source: Source, args: HostFirewallArgs): string {
    switch (source) {
        case "nodes":
            return args.nodesCidr;
        case "admin":
            return args.adminCidr;
        case "loadBalancer":
            return args.loadBalancerCidr;
    }
}

/** One iptables rule (without the chain) that accepts a row of the port table from its source. */
export function acceptRule(row: PortRule, args: HostFirewallArgs): string {
    const from = `-s ${sourceCidr(row.source, args)}`;
    const match = row.protocol === "esp" ? "-p esp" : `-p ${row.protocol} --dport ${row.port}`;
    return `${match} ${from} -m comment --comment "${row.name}" -j ACCEPT`;
}

/** A POSIX shell script that installs the host firewall with iptables. */
export function renderHostFirewall(args: HostFirewallArgs): string {
    const rows = portTable(args.publishedPorts);
    // Published ports reach containers through FORWARD (DNAT), never INPUT, so they are filtered in DOCKER-USER,
    // the chain Docker reserves for its users and evaluates before its own rules. --ctdir ORIGINAL: the replies
    // carry the same original destination port and must not be dropped.
    const inputRows = rows.filter((row) => row.source !== "loadBalancer");
    const lines = [
        "#!/bin/sh",
        "# swarmkit host firewall: generated from the kit's port table; safe to run again.",
        "set -eu",
        'ipt() { iptables -w "$@"; }',
        `ipt -N ${INPUT_CHAIN} 2>/dev/null || ipt -F ${INPUT_CHAIN}`,
        `ipt -A ${INPUT_CHAIN} -i lo -j ACCEPT`,
        `ipt -A ${INPUT_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
        `ipt -A ${INPUT_CHAIN} -p icmp -s ${args.nodesCidr} -j ACCEPT`,
        ...inputRows.map((row) => `ipt -A ${INPUT_CHAIN} ${acceptRule(row, args)}`),
        `ipt -C INPUT -j ${INPUT_CHAIN} 2>/dev/null || ipt -I INPUT 1 -j ${INPUT_CHAIN}`,
        "ipt -P INPUT DROP",
        `ipt -N ${PUBLISHED_CHAIN} 2>/dev/null || ipt -F ${PUBLISHED_CHAIN}`,
        ...args.publishedPorts.map(
            (port) =>
                `ipt -A ${PUBLISHED_CHAIN} -p tcp -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL ! -s ${args.loadBalancerCidr} -m comment --comment "published-${port}" -j DROP`,
        ),
        "ipt -N DOCKER-USER 2>/dev/null || true",
        `ipt -C DOCKER-USER -j ${PUBLISHED_CHAIN} 2>/dev/null || ipt -I DOCKER-USER 1 -j ${PUBLISHED_CHAIN}`,
    ];
    return lines.join("\n") + "\n";
}
