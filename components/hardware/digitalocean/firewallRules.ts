/**
 * The DigitalOcean cloud firewall's rules, rendered from the kit's port table like every other firewall of the kit.
 * Pure: no resource is declared here (type-only import, so the SDK is not loaded either).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as digitalocean from "@pulumi/digitalocean";
import { PortRule } from "../../ports";

type InboundRule = digitalocean.types.input.FirewallInboundRule;
type OutboundRule = digitalocean.types.input.FirewallOutboundRule;

/** How DigitalOcean spells "every port" of a protocol (its API has no "all" for tcp and udp). */
export const ALL_PORTS = "1-65535";
export const ANYWHERE: readonly string[] = ["0.0.0.0/0", "::/0"];

/** The only protocols a DigitalOcean cloud firewall rule can name. */
export const CLOUD_FIREWALL_PROTOCOLS: readonly string[] = ["tcp", "udp", "icmp"];

export interface CloudFirewallSources {
    /** Range allowed to reach SSH. */
    adminCidr: string;
    /** Tag of the stack's droplets: the swarm ports are open between them only. */
    clusterTag: pulumi.Input<string>;
    /**
     * The stack's load balancer. Absent (no load balancer): published ports get no rule and stay closed at the
     * cloud firewall; the routing mesh between nodes runs over the VXLAN port, which the tag rule covers.
     */
    loadBalancerUid?: pulumi.Input<string>;
}

/** The rows of the port table the cloud firewall can express: all of them but ESP. */
export function expressibleRows(rows: readonly PortRule[]): PortRule[] {
    // ESP is IP protocol 50, not a tcp or udp port, and cloud firewalls only know tcp, udp and icmp. They also
    // filter the VPC (not only the public interface) and drop what no rule allows, so ESP between droplets behind
    // this firewall is dropped and encrypted overlay networks cannot pass traffic across nodes. The host firewall
    // still accepts ESP from the VPC range; docs/digitalocean.md has the sources and the fallback
    // (swarmkit:cloudFirewall false).
    return rows.filter((row) => row.protocol !== "esp");
}

/** One inbound rule per expressible row, each open only to the row's source. */
export function inboundRules(rows: readonly PortRule[], sources: CloudFirewallSources): InboundRule[] {
    const rules: InboundRule[] = [];
    for (const row of expressibleRows(rows)) {
        if (row.port === undefined) throw new Error(`port table row ${row.name} (${row.protocol}) has no port`);
        const base = { protocol: row.protocol, portRange: String(row.port) };
        switch (row.source) {
            case "admin":
                rules.push({ ...base, sourceAddresses: [sources.adminCidr] });
                break;
            case "nodes":
                rules.push({ ...base, sourceTags: [sources.clusterTag] });
                break;
            case "loadBalancer":
                if (sources.loadBalancerUid !== undefined) rules.push({ ...base, sourceLoadBalancerUids: [sources.loadBalancerUid] });
                break;
        }
    }
    return rules;
}

/** Outbound: everything the cloud firewall can name, anywhere (package installs, image pulls, the DigitalOcean API). */
export function outboundRules(): OutboundRule[] {
    return [
        { protocol: "tcp", portRange: ALL_PORTS, destinationAddresses: [...ANYWHERE] },
        { protocol: "udp", portRange: ALL_PORTS, destinationAddresses: [...ANYWHERE] },
        { protocol: "icmp", destinationAddresses: [...ANYWHERE] },
    ];
}
