/**
 * The one port table of the kit. Every firewall (AWS security groups, DigitalOcean cloud firewalls, the host
 * firewall that cloud-init or the lab installs) is rendered from these rows, so a port opened or closed here is
 * opened or closed everywhere at once.
 */

export type Protocol = "tcp" | "udp" | "esp";

/** Who may reach a port: the other swarm nodes, the admin range, or the load balancer. */
export type Source = "nodes" | "admin" | "loadBalancer";

export interface PortRule {
    /** Short name used in rule descriptions and resource names. */
    name: string;
    protocol: Protocol;
    /** Absent for ESP, which is an IP protocol (50) and has no ports. */
    port?: number;
    source: Source;
    description: string;
}

/** IP protocol number of ESP, used by encrypted overlay networks (IPsec). */
export const ESP_PROTOCOL_NUMBER = 50;

export const SSH_PORT = 22;

/** Docker's remote API ports. No firewall of the kit ever opens them; tests assert their absence. */
export const DOCKER_API_PORTS: readonly number[] = [2375, 2376];

export const SWARM_PORTS: readonly PortRule[] = [
    { name: "swarm-manager", protocol: "tcp", port: 2377, source: "nodes", description: "Swarm cluster management (raft, joins)" },
    { name: "gossip-tcp", protocol: "tcp", port: 7946, source: "nodes", description: "Swarm node gossip (tcp)" },
    { name: "gossip-udp", protocol: "udp", port: 7946, source: "nodes", description: "Swarm node gossip (udp)" },
    { name: "vxlan", protocol: "udp", port: 4789, source: "nodes", description: "Overlay network data plane (VXLAN)" },
    { name: "esp", protocol: "esp", source: "nodes", description: "Encrypted overlay networks (IPsec ESP, IP protocol 50)" },
];

export const ADMIN_PORTS: readonly PortRule[] = [
    { name: "ssh", protocol: "tcp", port: SSH_PORT, source: "admin", description: "SSH for administration and bootstrap" },
];

/** Rows for the ports that services publish; reachable only from the load balancer. */
export function publishedPortRules(ports: readonly number[]): PortRule[] {
    return ports.map((port) => ({
        name: `published-${port}`,
        protocol: "tcp" as const,
        port,
        source: "loadBalancer" as const,
        description: `Published service port ${port} (from the load balancer only)`,
    }));
}

/** Docker's VXLAN port for overlay traffic, unless the swarm is founded with another (`dataPathPort`). */
export const DEFAULT_DATA_PATH_PORT = 4789;

/** The whole table for a cluster that publishes `publishedPorts` and carries overlay traffic on `dataPathPort`. */
export function portTable(publishedPorts: readonly number[] = [], dataPathPort: number = DEFAULT_DATA_PATH_PORT): PortRule[] {
    const swarm = SWARM_PORTS.map((row) => (row.name === "vxlan" ? { ...row, port: dataPathPort } : row));
    return [...ADMIN_PORTS, ...swarm, ...publishedPortRules(publishedPorts)];
}
