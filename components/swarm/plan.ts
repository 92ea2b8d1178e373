/**
 * From the config and what the live swarm looks like (observe.ts) to what this run must repair. Pure, so every
 * repair path is unit-tested without machines.
 *
 * The swarm's steps only re-run when their inputs change; a repair is how the kit makes one re-run although its
 * inputs did not: SwarmCluster gives the step a fresh repair reason and stops ignoring it. A healthy swarm yields no
 * repair and the run stays a no-op.
 */
import { MachineStatus, Role, KIT_NODE_NAME } from "../host";
import { NodeEntry, SwarmObservation } from "./observe";
import { SwarmNetwork, swarmNetworkDifferences } from "./settings";

export interface PlannedHost {
    name: string;
    role: Role;
    machineStatus?: MachineStatus;
    /** Its machine is replaced in this run, one node at a time (rollout.ts): its old machine is still in the swarm. */
    rolling?: boolean;
}

export interface PlanArgs {
    hosts: PlannedHost[];
    autolock: boolean;
    drainManagers: boolean;
    /** The network settings the config wants (fixed at init: a live swarm with others is refused). */
    network?: SwarmNetwork;
    /** The managers of the last deployment: the raft group whose majority the swarm needs. */
    previousManagers?: string[];
    /** By host name, the node ID the last deployment recorded: a node that joined again since has another. */
    recordedNodeIds?: Record<string, string | undefined>;
}

export interface Finding {
    level: "info" | "warn";
    message: string;
}

export interface SwarmPlan {
    /** The manager that runs the leader-side steps. */
    operator: string;
    /** Set when no manager holds the swarm any more: the first manager founds a new one. */
    refound?: string;
    /** Hosts whose join step must run again, with the reason. */
    nodeRepairs: Record<string, string>;
    /** Hosts that must leave the swarm they are in before joining (the swarm they knew is gone). */
    leaveFirst: string[];
    /** Set when the member list, roles or availability differ from the config. */
    membersRepair?: string;
    /** What the run found, said to the user. */
    findings: Finding[];
    /** Set when the run must not act at all, and why (quorum lost, a setting swarm cannot change). */
    refusal?: string;
}

const HOLDS_SWARM = new Set(["active", "locked", "pending", "error"]);

export function desiredAvailability(role: Role, drainManagers: boolean): "Active" | "Drain" {
    return role === "manager" && drainManagers ? "Drain" : "Active";
}

/** The entry that stands for a host: its Ready one if any, else its newest-looking one. */
function entryOf(nodes: NodeEntry[], name: string): NodeEntry | undefined {
    const mine = nodes.filter((n) => n.hostname === name);
    return mine.find((n) => n.status === "Ready") ?? mine[0];
}

export function planSwarm(args: PlanArgs, observed: SwarmObservation | undefined): SwarmPlan {
    // Without an observation nothing was seen: only what the hardware knows (new machines) counts.
    const observation: SwarmObservation = observed ?? { hosts: {}, privateAddresses: {} };
    const managers = args.hosts.filter((h) => h.role === "manager");
    const founder = managers[0]?.name ?? "";
    const plan: SwarmPlan = { operator: founder, nodeRepairs: {}, leaveFirst: [], findings: [] };
    const say = (level: Finding["level"], message: string) => plan.findings.push({ level, message });
    // A machine made in this run joins anyway, and with the current token, never a stored one.
    for (const h of args.hosts) if (h.machineStatus === "new") plan.nodeRepairs[h.name] = "new machine";
    for (const h of args.hosts) {
        if (!h.rolling) continue;
        plan.nodeRepairs[h.name] = "its machine is replaced (its settings changed)";
        say("info", `${h.name}: its settings changed: a new machine takes its place, then the old one leaves the swarm`);
    }
    const probe = (name: string) => observation.hosts[name];
    const local = (name: string) => probe(name)?.local;

    // Could this manager still hold the swarm? A machine that restarts from its disk does; a new one does not.
    const mayHold = (h: PlannedHost) => {
        const l = local(h.name);
        if (l) return HOLDS_SWARM.has(l.state) || l.state === "engine-down";
        // A rolling node's old machine runs until its new one has joined.
        return h.rolling === true || h.machineStatus !== "new";
    };
    if (managers.length > 0 && !managers.some(mayHold)) {
        const fresh = managers.every((m) => m.machineStatus === "new" && !local(m.name));
        const states = managers.map((m) => `${m.name}: ${local(m.name)?.state ?? "new machine"}`).join(", ");
        plan.refound = `a new swarm is formed, since no manager holds one (${states}): ${founder} initialises it and every node joins it`;
        say(fresh ? "info" : "warn", plan.refound);
        for (const h of args.hosts) {
            plan.nodeRepairs[h.name] = "a new swarm is formed";
            // A machine that may still be in the old swarm leaves it (even though its managers' addresses are ours).
            if (h.name !== founder && h.machineStatus !== "new") plan.leaveFirst.push(h.name);
        }
        return plan;
    }

    // Quorum lost for good: managers of the raft group have lost their disks (their machines are new), and fewer
    // than a majority of the group are left. Joining new managers would wait for a leader forever; only a forced new
    // cluster (from a survivor's state, or a backup) brings the swarm back. Managers that are merely cut off keep
    // their disks and are not counted as lost: the run goes on and names them. The group is the managers the node
    // list shows (after a restore, one; a leader answers for a moment after losing its peers), else the last
    // deployment's managers, else, without a record, the configured ones when the survivors find no leader.
    const previous = args.previousManagers;
    const listed = observation.nodes?.filter((n) => n.managerStatus !== "").map((n) => n.hostname);
    const leaderless = managers.some((m) => local(m.name)?.state === "active" && local(m.name)?.controlAvailable) && !observation.nodes;
    const group = listed ?? previous ?? (leaderless ? managers.map((m) => m.name) : []);
    const diskLost = (name: string) => {
        const m = managers.find((h) => h.name === name);
        return m !== undefined && !mayHold(m);
    };
    const gone = group.filter(diskLost);
    const holders = managers.filter((m) => group.includes(m.name) && mayHold(m));
    const needed = Math.floor(group.length / 2) + 1;
    if (gone.length > 0 && holders.length > 0 && group.length - gone.length < needed) {
        const size = group.length;
        const survivor = holders.find((m) => local(m.name)?.state === "active")?.name ?? holders[0].name;
        plan.refusal =
            `the swarm has lost quorum: raft needs a majority of its ${size} managers (${needed}) to act, and only ` +
            `${holders.map((m) => m.name).join(", ")} still ${holders.length === 1 ? "holds" : "hold"} the swarm (${gone.join(", ")}: gone with their disks). ` +
            `No swarm step ran (machines for the lost managers may have been made; they join later): new managers could not join a swarm without a leader. Recover first, then run up again ` +
            `(the other managers join): from a backup, \`npm run restore -- STACK FILE\`; without one, \`npm run recover -- STACK\` ` +
            `makes ${survivor} a new one-manager cluster from its own state (docker swarm init --force-new-cluster: services, ` +
            `secrets, configs and networks are kept).`;
        return plan;
    }

    // The operator: the first manager that can act now; else the first locked one (its join step unlocks it first).
    const active = managers.find((m) => local(m.name)?.state === "active" && local(m.name)?.controlAvailable);
    const locked = managers.find((m) => local(m.name)?.state === "locked");
    plan.operator = (active ?? locked ?? managers.find(mayHold) ?? managers[0]).name;
    const liveNetwork = local(plan.operator)?.network;
    const networkChanged = liveNetwork && args.network ? swarmNetworkDifferences(liveNetwork, args.network) : [];
    if (networkChanged.length > 0) {
        plan.refusal =
            `the swarm's network settings differ from the config: ${networkChanged.join("; ")}. Swarm fixes them when it is ` +
            `founded and cannot change them afterwards (overlay networks hold subnets from the pools, and every node's VXLAN ` +
            `port). Put the config back, or destroy the stack and up again to found a swarm with the new settings.`;
        return plan;
    }
    if (plan.operator !== founder) say("warn", `${founder} cannot act for the swarm now: the kit operates through ${plan.operator}`);

    const managerAddresses = new Set(
        managers.map((m) => observation.privateAddresses[m.name]).filter(Boolean).map((a) => `${a}:2377`),
    );
    for (const h of args.hosts) {
        const p = probe(h.name);
        const l = p?.local;
        const repair = (reason: string) => {
            plan.nodeRepairs[h.name] = reason;
            say("info", `${h.name}: ${reason}: it joins again`);
        };
        if (h.machineStatus === "new" || h.rolling) continue;
        const recorded = args.recordedNodeIds?.[h.name];
        if (l) {
            if (l.state === "active" && recorded && l.nodeId && l.nodeId !== recorded) {
                // It joined again outside the kit: its step records the new ID, and the members step labels it again.
                repair(`its node ID changed (${recorded} → ${l.nodeId}): it left and joined again`);
            } else if (l.state === "locked") {
                plan.nodeRepairs[h.name] = "locked (autolock)";
                say("info", `${h.name}: locked (autolock): unlocking it with the stack's unlock key`);
            } else if (l.state === "inactive") repair("not in the swarm (it left, or its machine was replaced)");
            else if (l.state === "pending" || l.state === "error") repair(`swarm state ${l.state}`);
            else if (l.state === "engine-down") {
                // Started again in this run, its engine is still coming up: a manager may come back locked.
                if (h.machineStatus === "starting") {
                    if (h.role === "manager" && args.autolock) plan.nodeRepairs[h.name] = "restarted: unlock it if it comes back locked";
                } else say("warn", `${h.name}: docker does not answer on it; steps that run on it wait for it`);
            }
            else if (managerAddresses.size > 0 && l.remoteManagers && !l.remoteManagers.some((a) => managerAddresses.has(a))) {
                repair("in another swarm");
            }
        } else if (h.machineStatus === "starting") {
            if (h.role === "manager" && args.autolock) {
                plan.nodeRepairs[h.name] = "restarted: comes back locked (autolock)";
                say("info", `${h.name}: starts again from its disk; it comes back locked and is unlocked with the stack's unlock key`);
            } else say("info", `${h.name}: starts again from its disk`);
        } else if (p && !p.reachable) {
            say("warn", `${h.name}: unreachable over SSH (${p.error}); steps on it fail until it answers`);
        }
    }

    const nodes = observation.nodes;
    if (!nodes) return plan;
    const configured = new Set(args.hosts.map((h) => h.name));
    const differences: string[] = [];
    for (const h of args.hosts) {
        const e = entryOf(nodes, h.name);
        if (!e || plan.nodeRepairs[h.name]) continue;
        if (h.role === "manager" && e.managerStatus === "") differences.push(`${h.name} is a worker: promote it`);
        if (h.role === "worker" && e.managerStatus !== "") differences.push(`${h.name} is a manager: demote it`);
        const want = desiredAvailability(h.role, args.drainManagers);
        if (e.availability !== want) differences.push(`${h.name} availability ${e.availability}, want ${want}`);
        if (h.role === "manager" && e.managerStatus === "Unreachable" && local(h.name)?.state === "active") {
            say("warn", `${h.name}: its engine runs but the other managers cannot reach it: is 2377/tcp open between the managers?`);
        }
    }
    for (const e of nodes) {
        const owner = configured.has(e.hostname) ? entryOf(nodes, e.hostname) : undefined;
        if (owner && owner.id === e.id) continue;
        if (e.status === "Down" || KIT_NODE_NAME.test(e.hostname)) differences.push(`remove entry ${e.id} of ${e.hostname} (${e.status})`);
        else say("info", `node ${e.hostname} (${e.id}) is not a node of this stack: left alone`);
    }
    const autolock = local(plan.operator)?.autolock;
    if (autolock !== undefined && autolock !== args.autolock) differences.push(`autolock ${autolock ? "on" : "off"}, want ${args.autolock ? "on" : "off"}`);
    if (differences.length > 0) {
        plan.membersRepair = differences.join("; ");
        say("info", `the member list differs from the config (${plan.membersRepair}): putting it back`);
    }
    return plan;
}
