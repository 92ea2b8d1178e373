/**
 * Checks the live swarm against the config after `pulumi up`, so that nothing claims success it has not seen:
 * node count and names, roles, one Leader and every other manager Reachable, every node Ready, availability,
 * autolock. `compareSwarm` is pure; `verifySwarm` reads the swarm over SSH (host keys checked) until it matches or
 * time runs out (nodes that just restarted need a few seconds to report Ready).
 */
import { Role } from "../host";
import { ProbeTarget, probe } from "../ssh/probe";
import { LocalSwarm, NodeEntry, parseRead } from "./observe";
import { desiredAvailability } from "./plan";
import { renderRead } from "./scripts";
import { engineMatches } from "./settings";

export interface SwarmExpectation {
    hosts: { name: string; role: Role }[];
    autolock: boolean;
    drainManagers: boolean;
    /** The engine version every node must run (a prefix such as 26.1, or an apt version). */
    dockerVersion?: string;
}

export interface LiveSwarm {
    /** Manager whose view this is; undefined when none can act for the swarm. */
    operator?: string;
    nodes: NodeEntry[];
    operatorState?: LocalSwarm;
    /** Why each manager that could not act could not. */
    managerProblems: string[];
}

/** Every way the live swarm differs from the config, each naming the node. Empty when they match. */
export function compareSwarm(expect: SwarmExpectation, live: LiveSwarm): string[] {
    if (!live.operator) return [`no manager can act for the swarm: ${live.managerProblems.join("; ")}`];
    const out: string[] = [];
    const configured = new Set(expect.hosts.map((h) => h.name));
    for (const h of expect.hosts) {
        const entries = live.nodes.filter((n) => n.hostname === h.name);
        if (entries.length === 0) {
            out.push(`${h.name}: not in the swarm`);
            continue;
        }
        const e = entries.find((n) => n.status === "Ready") ?? entries[0];
        if (e.status !== "Ready") out.push(`${h.name}: status ${e.status}, want Ready`);
        if (h.role === "manager" && !["Leader", "Reachable"].includes(e.managerStatus)) {
            out.push(`${h.name}: manager status ${e.managerStatus || "none (a worker)"}, want Leader or Reachable`);
        }
        if (h.role === "worker" && e.managerStatus !== "") out.push(`${h.name}: is a manager (${e.managerStatus}), want a worker`);
        const want = desiredAvailability(h.role, expect.drainManagers);
        if (e.availability !== want) out.push(`${h.name}: availability ${e.availability}, want ${want}`);
        if (expect.dockerVersion && e.engineVersion && !engineMatches(e.engineVersion, expect.dockerVersion)) {
            out.push(`${h.name}: runs Docker ${e.engineVersion}, want ${expect.dockerVersion}`);
        }
        for (const other of entries.filter((n) => n !== e)) out.push(`${h.name}: a second entry ${other.id} (${other.status})`);
    }
    for (const n of live.nodes.filter((n) => !configured.has(n.hostname))) out.push(`${n.hostname}: in the swarm (${n.id}, ${n.status}) but not in the config`);
    const leaders = live.nodes.filter((n) => n.managerStatus === "Leader").length;
    if (leaders !== 1) out.push(`${leaders} leaders, want 1`);
    const autolock = live.operatorState?.autolock;
    if (autolock !== undefined && autolock !== expect.autolock) out.push(`autolock is ${autolock ? "on" : "off"}, want ${expect.autolock ? "on" : "off"}`);
    return out;
}

/**
 * The outcome of one live read, as the stack exports it: the differences, and what the operator is told when there
 * are none.
 */
export interface LiveCheck {
    differences: string[];
    /** "manager-1 Leader", "manager-2 Reachable", ... */
    managers: string[];
    workers: number;
    engines: string[];
    autolock: boolean;
}

export function liveCheck(expect: SwarmExpectation, live: LiveSwarm): LiveCheck {
    return {
        differences: compareSwarm(expect, live),
        managers: live.nodes.filter((n) => n.managerStatus).map((n) => `${n.hostname} ${n.managerStatus}`),
        workers: live.nodes.filter((n) => !n.managerStatus).length,
        engines: [...new Set(live.nodes.map((n) => n.engineVersion).filter((v): v is string => Boolean(v)))],
        autolock: expect.autolock,
    };
}

/** The line `up` prints when the live swarm matches. */
export function describeMatch(check: LiveCheck): string {
    return (
        `swarmkit: the live swarm matches the config: ${check.managers.join(", ")}; ${check.workers} workers; every node Ready; ` +
        `autolock ${check.autolock ? "on" : "off"}; Docker ${check.engines.join(", ") || "version unknown"}`
    );
}

/** One read of the swarm: the managers in order, until one can act for it. */
export async function readSwarm(managers: ProbeTarget[], prober = probe): Promise<LiveSwarm> {
    const problems: string[] = [];
    for (const m of managers) {
        const r = await prober(m, renderRead());
        if (r.kind === "hostKeyMismatch") {
            problems.push(`${m.name}: its SSH host key changed (pinned ${r.expected}, presents ${r.presented})`);
            continue;
        }
        if (r.kind === "unreachable") {
            problems.push(`${m.name}: unreachable over SSH (${r.error})`);
            continue;
        }
        const { local, nodes } = parseRead(r.stdout);
        if (local.controlAvailable && nodes) return { operator: m.name, nodes, operatorState: local, managerProblems: problems };
        problems.push(`${m.name}: swarm state ${local.state}`);
    }
    return { nodes: [], managerProblems: problems };
}

export async function verifySwarm(
    managers: ProbeTarget[],
    expect: SwarmExpectation,
    seconds: number,
    prober = probe,
): Promise<{ differences: string[]; live: LiveSwarm }> {
    const end = Date.now() + seconds * 1000;
    for (;;) {
        const live = await readSwarm(managers, prober);
        const differences = compareSwarm(expect, live);
        if (differences.length === 0 || Date.now() >= end) return { differences, live };
        await new Promise((r) => setTimeout(r, 1000));
    }
}
