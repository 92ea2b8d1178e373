/**
 * The swarm-wide settings a SwarmCluster takes besides its hosts: node labels, the overlay networks' address pools
 * and data path port, the engine version to expect. Pure: checked before anything is declared, and unit-tested.
 */
import { Role } from "../host";
import { cidrsOverlap, isValidCidr } from "../net";

/** Labels by role and by host name. */
export interface NodeLabels {
    manager?: Record<string, string>;
    worker?: Record<string, string>;
    hosts?: Record<string, Record<string, string>>;
}

/** The swarm's network settings, fixed when it is founded. */
export interface SwarmNetwork {
    defaultAddrPool?: string[];
    defaultAddrPoolMaskLength?: number;
    dataPathPort?: number;
}

/** Docker's network settings when init is given none. */
export const DOCKER_NETWORK_DEFAULTS: Required<SwarmNetwork> = { defaultAddrPool: ["10.0.0.0/8"], defaultAddrPoolMaskLength: 24, dataPathPort: 4789 };

/** The kit's own label keys start with it; the user's may not. */
export const KIT_LABEL_PREFIX = "swarmkit.";

/** Docker's label keys: letters, digits, dots, dashes, underscores; no spaces or commas (the kit lists keys with them). */
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export function nodeLabelsProblems(labels: NodeLabels | undefined, hostNames: string[]): string[] {
    const problems: string[] = [];
    if (!labels) return problems;
    const check = (where: string, set: Record<string, string>) => {
        for (const [k, v] of Object.entries(set)) {
            if (!LABEL_KEY.test(k)) problems.push(`nodeLabels ${where}: label key ${JSON.stringify(k)}: letters, digits, '.', '-', '_' (no spaces or commas)`);
            else if (k.startsWith(KIT_LABEL_PREFIX)) problems.push(`nodeLabels ${where}: label key ${JSON.stringify(k)}: keys starting with "${KIT_LABEL_PREFIX}" are the kit's own`);
            if (typeof v !== "string" || /[\n\r]/.test(v)) problems.push(`nodeLabels ${where}: the value of ${JSON.stringify(k)} must be a string of one line`);
        }
    };
    if (labels.manager) check("manager", labels.manager);
    if (labels.worker) check("worker", labels.worker);
    for (const [host, set] of Object.entries(labels.hosts ?? {})) {
        if (!hostNames.includes(host)) problems.push(`nodeLabels: no host is named ${JSON.stringify(host)} (hosts: ${hostNames.join(", ")})`);
        check(host, set);
    }
    return problems;
}

/** A node's labels: the kit's (role, zone and region where known), then its role's, then its own. */
export function labelsFor(host: { name: string; role: Role; zone?: string; region?: string }, labels: NodeLabels | undefined): Record<string, string> {
    const kit: Record<string, string> = { "swarmkit.role": host.role };
    if (host.zone) kit["swarmkit.zone"] = host.zone;
    if (host.region) kit["swarmkit.region"] = host.region;
    return { ...(labels?.[host.role] ?? {}), ...(labels?.hosts?.[host.name] ?? {}), ...kit };
}

/** The problems of the network settings; `nodeRanges` are where the nodes' own addresses lie (a pool must not overlap them). */
export function swarmNetworkProblems(network: SwarmNetwork, nodeRanges: string[] = []): string[] {
    const problems: string[] = [];
    const pools = network.defaultAddrPool;
    if (pools !== undefined) {
        if (pools.length === 0) problems.push("defaultAddrPool: at least one CIDR");
        for (const pool of pools) {
            if (!isValidCidr(pool)) {
                problems.push(`defaultAddrPool: ${JSON.stringify(pool)} is not an IPv4 CIDR such as 10.200.0.0/16`);
                continue;
            }
            for (const range of nodeRanges) {
                if (isValidCidr(range) && cidrsOverlap(pool, range)) {
                    problems.push(`defaultAddrPool: ${pool} overlaps ${range}, where the nodes' own addresses lie: overlay traffic to those addresses would go into the overlay`);
                }
            }
        }
        const good = pools.filter(isValidCidr);
        for (let i = 0; i < good.length; i++) for (let j = i + 1; j < good.length; j++) if (cidrsOverlap(good[i], good[j])) problems.push(`defaultAddrPool: ${good[i]} and ${good[j]} overlap`);
    }
    const mask = network.defaultAddrPoolMaskLength;
    if (mask !== undefined) {
        const widest = Math.max(...(pools ?? DOCKER_NETWORK_DEFAULTS.defaultAddrPool).filter(isValidCidr).map((p) => Number(p.split("/")[1])), 0);
        if (!Number.isInteger(mask) || mask < widest || mask > 29) {
            problems.push(`defaultAddrPoolMaskLength = ${mask}: a prefix length from the pools' own (${widest}) to 29`);
        }
    }
    const port = network.dataPathPort;
    if (port !== undefined && (!Number.isInteger(port) || port < 1024 || port > 49151 || [2375, 2376, 2377, 7946].includes(port))) {
        problems.push(`dataPathPort = ${port}: a UDP port from 1024 to 49151 other than 2375, 2376, 2377 and 7946`);
    }
    return problems;
}

/** How the live swarm's network settings differ from the wanted ones (absent settings mean Docker's defaults). */
export function swarmNetworkDifferences(live: Required<SwarmNetwork>, wanted: SwarmNetwork): string[] {
    const want = { ...DOCKER_NETWORK_DEFAULTS, ...definedOnly(wanted) };
    const out: string[] = [];
    const pools = (p: string[]) => [...p].sort().join(", ");
    if (pools(live.defaultAddrPool) !== pools(want.defaultAddrPool)) out.push(`defaultAddrPool is ${pools(live.defaultAddrPool)}, the config says ${pools(want.defaultAddrPool)}`);
    if (live.defaultAddrPoolMaskLength !== want.defaultAddrPoolMaskLength) out.push(`defaultAddrPoolMaskLength is ${live.defaultAddrPoolMaskLength}, the config says ${want.defaultAddrPoolMaskLength}`);
    if (live.dataPathPort !== want.dataPathPort) out.push(`dataPathPort is ${live.dataPathPort}, the config says ${want.dataPathPort}`);
    return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Does a running engine's version ("26.1.5", Debian's "20.10.24+dfsg1") match the wanted one? The wanted one may be
 * a prefix ("26.1") or an apt version ("5:26.1.5-1~debian.12~bookworm", "26.1.*"): its upstream part is compared.
 */
export function engineMatches(live: string, wanted: string): boolean {
    const upstream = wanted.replace(/^\d+:/, "").match(/^\d+(\.\d+)*/)?.[0];
    if (!upstream) return live === wanted;
    return live === upstream || new RegExp(`^${upstream.replace(/\./g, "\\.")}([.+~-]|$)`).test(live);
}

export function dockerVersionProblems(version: string | undefined): string[] {
    if (version === undefined) return [];
    return /^(\d+:)?\d+(\.\d+)*([.*+~:A-Za-z0-9-]*)$/.test(version) ? [] : [`dockerVersion = ${JSON.stringify(version)}: an engine version such as 26.1 or 26.1.5, or an apt version`];
}
