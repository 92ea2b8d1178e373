/**
 * The host firewall every node gets, rendered from the kit's port table. The kit applies it over SSH as a step of
 * its own (components/firewall/hostFirewalls.ts) whenever its rules change; cloud-init (or the lab) installs a
 * boot-time copy and runs it at every boot. Idempotent and atomic: the kit's chains are replaced in one
 * iptables-restore transaction, so a re-run never leaves a gap.
 */
import { PortRule, Source, portTable } from "../ports";

export interface HostFirewallArgs {
    /** Where the swarm nodes' private addresses lie: CIDRs ("10.42.0.0/16") or ranges ("10.77.0.11-10.77.0.250"). */
    nodes: readonly string[];
    /**
     * Where SSH may come from. ["0.0.0.0/0"] where a cloud firewall or security group already restricts SSH to the
     * admin range, so that a new admin address needs only one `pulumi up` from it.
     */
    admin: readonly string[];
    /** Where the load balancer sends from: the only sources that reach the listed published ports. */
    loadBalancer: readonly string[];
    /** TCP ports services publish for the load balancer. Every other published port stays closed from outside. */
    publishedPorts: readonly number[];
    /** The swarm's VXLAN port (dataPathPort). Default 4789. */
    dataPathPort?: number;
}

/** Where the firewall script lives on every host: written by cloud-init or the lab, rewritten by the kit's step. */
export const FIREWALL_PATH = "/etc/swarmkit/firewall";

export const INPUT_CHAIN = "SWARMKIT-INPUT";
const NODES_CHAIN = "SWARMKIT-NODES";
const ADMIN_CHAIN = "SWARMKIT-ADMIN";
export const PUBLISHED_CHAIN = "SWARMKIT-PUBLISHED";

/** The kit's own iptables chains. */
export const FIREWALL_CHAINS: readonly string[] = [INPUT_CHAIN, NODES_CHAIN, ADMIN_CHAIN, PUBLISHED_CHAIN];

/** An iptables source match for a CIDR or an address range. */
export function sourceMatch(source: string): string {
    return source.includes("-") ? `-m iprange --src-range ${source}` : `-s ${source}`;
}

function chainOf(source: Source): string {
    return source === "admin" ? ADMIN_CHAIN : NODES_CHAIN;
}

/** One iptables rule (without the chain) that accepts a row of the port table; its source is matched by the chain. */
export function acceptRule(row: PortRule): string {
    const match = row.protocol === "esp" ? "-p esp" : `-p ${row.protocol} -m ${row.protocol} --dport ${row.port}`;
    return `${match} -m comment --comment "${row.name}" -j ACCEPT`;
}

/** The rules of the kit's chains in iptables-restore form (the `*filter` table, without COMMIT). */
export function firewallRules(args: HostFirewallArgs): string[] {
    const rows = portTable(args.publishedPorts, args.dataPathPort);
    const rules: string[] = [];
    const add = (chain: string, rule: string) => rules.push(`-A ${chain} ${rule}`);

    add(INPUT_CHAIN, "-i lo -j ACCEPT");
    add(INPUT_CHAIN, "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
    for (const source of args.nodes) add(INPUT_CHAIN, `${sourceMatch(source)} -j ${NODES_CHAIN}`);
    for (const source of args.admin) add(INPUT_CHAIN, `${sourceMatch(source)} -j ${ADMIN_CHAIN}`);
    add(NODES_CHAIN, "-p icmp -j ACCEPT");
    // Published ports reach containers through FORWARD (DNAT), never INPUT: they are filtered in PUBLISHED below.
    for (const row of rows.filter((r) => r.source !== "loadBalancer")) add(chainOf(row.source), acceptRule(row));

    // DOCKER-USER, which Docker evaluates before its own FORWARD rules, jumps here. Only flows that were DNATed to a
    // published port, in their original direction, are judged: a container's own outbound connections (to 443 on
    // the internet, say) are not DNATed, and replies travel in the reply direction.
    add(PUBLISHED_CHAIN, "-m conntrack ! --ctstate DNAT -j RETURN");
    add(PUBLISHED_CHAIN, "-m conntrack --ctdir REPLY -j RETURN");
    for (const port of args.publishedPorts) {
        for (const source of args.loadBalancer) {
            add(PUBLISHED_CHAIN, `-p tcp -m conntrack --ctorigdstport ${port} ${sourceMatch(source)} -m comment --comment "published-${port}" -j RETURN`);
        }
        add(PUBLISHED_CHAIN, `-p tcp -m conntrack --ctorigdstport ${port} -m comment --comment "published-${port} from elsewhere" -j DROP`);
    }
    // Ports no one listed in publishedPorts: the nodes may use them among themselves, nobody else.
    for (const source of args.nodes) add(PUBLISHED_CHAIN, `${sourceMatch(source)} -j RETURN`);
    add(PUBLISHED_CHAIN, '-m comment --comment "unlisted published port" -j DROP');
    return rules;
}

/** A POSIX shell script that installs the host firewall with iptables. */
export function renderHostFirewall(args: HostFirewallArgs): string {
    const chains = FIREWALL_CHAINS;
    return [
        "#!/bin/sh",
        "# swarmkit host firewall: generated from the kit's port table; safe to run again.",
        "set -eu",
        // Docker makes DOCKER-USER when it starts; at boot the firewall runs first and makes it itself.
        "iptables -w -N DOCKER-USER 2>/dev/null || true",
        // Declaring a chain in iptables-restore empties it: the kit's chains are replaced in one transaction.
        "iptables-restore -w --noflush <<'SWARMKIT_RULES'",
        "*filter",
        ...chains.map((c) => `:${c} - [0:0]`),
        ...firewallRules(args),
        "COMMIT",
        "SWARMKIT_RULES",
        `iptables -w -C INPUT -j ${INPUT_CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j ${INPUT_CHAIN}`,
        "iptables -w -P INPUT DROP",
        `iptables -w -C DOCKER-USER -j ${PUBLISHED_CHAIN} 2>/dev/null || iptables -w -I DOCKER-USER 1 -j ${PUBLISHED_CHAIN}`,
        "",
    ].join("\n");
}
