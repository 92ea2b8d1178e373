/**
 * Helpers for the rolling-replacement tests of each target: a last deployment to roll from, and the order in which
 * the engine would replace the machines, read from what each machine resource depends on.
 */
import { withSeams } from "../../components/swarm/seams";
import assert from "node:assert/strict";
import type { SwarmHost } from "../../components/host";
import type { PreviousDeployment } from "../../components/swarm/previous";
import type { SwarmObservation } from "../../components/swarm/observe";
import type { Rollout } from "../../components/swarm/rollout";
import { recordDependencies, resolvedDependencies, unwrap } from "./mocks";

export const PREVIOUS_TOKENS = { worker: "SWMTKN-1-previousworker", manager: "SWMTKN-1-previousmanager", unlockKey: "SWMKEY-1-previousunlock" };

/** What the last deployment recorded for these nodes: old addresses, old host keys, the given machine specs. */
export function previousDeployment(nodes: { name: string; role: "manager" | "worker"; machineSpec: string }[]): PreviousDeployment {
    return {
        nodes: nodes.map((n, i) => ({
            name: n.name,
            role: n.role,
            nodeId: `old-${n.name}`,
            privateAddress: `10.99.0.${i + 10}`,
            sshAddress: `192.0.2.${i + 10}`,
            sshUser: "root",
            hostKey: `ssh-ed25519 AAAAold${n.name}`,
            machineSpec: n.machineSpec,
        })),
        tokens: PREVIOUS_TOKENS,
    };
}

/** A healthy swarm of these hosts, as the observation of the old machines reads it. */
export function healthyObservation(names: string[]): SwarmObservation {
    const managers = names.filter((n) => n.startsWith("manager"));
    return {
        hosts: Object.fromEntries(
            names.map((n) => [n, { reachable: true, local: { state: "active" as const, controlAvailable: n.startsWith("manager"), remoteManagers: ["10.99.0.10:2377"], autolock: true } }]),
        ),
        operator: managers[0],
        nodes: names.map((n) => ({
            id: `old-${n}`,
            hostname: n,
            status: "Ready",
            availability: n.startsWith("manager") ? "Drain" : "Active",
            managerStatus: n === managers[0] ? "Leader" : n.startsWith("manager") ? "Reachable" : "",
        })),
        privateAddresses: Object.fromEntries(managers.map((n, i) => [n, `10.99.0.${i + 10}`])),
    };
}

/**
 * The machines' order of replacement: for each machine resource, the settle step it waits for. Asserts that the
 * rolling machines form one chain (each waits for exactly the previous node's settle step, the first for none) and
 * returns the host names in chain order.
 */
export async function replacementChain(swarm: string, machines: Record<string, string>): Promise<string[]> {
    const waitsFor = new Map<string, string | undefined>();
    for (const [host, resource] of Object.entries(machines)) {
        const settles = (await resolvedDependencies(resource)).filter((d) => d.startsWith(`${swarm}-settle-`));
        assert.ok(settles.length <= 1, `${resource} waits for one node at most: ${settles.join(", ")}`);
        waitsFor.set(host, settles[0]?.slice(`${swarm}-settle-`.length));
    }
    const waited = new Set([...waitsFor.values()].filter((v): v is string => v !== undefined));
    const chain: string[] = [];
    // The head: waited for by someone (or alone in the roll), waiting for nobody.
    let next = [...waitsFor.entries()].find(([host, w]) => w === undefined && waited.has(host))?.[0];
    while (next !== undefined) {
        chain.push(next);
        const current: string = next;
        const followers = [...waitsFor.entries()].filter(([, w]) => w === current).map(([h]) => h);
        assert.ok(followers.length <= 1, `only one machine waits for ${current}: ${followers.join(", ")}`);
        next = followers[0];
    }
    return chain;
}

export function hostsByName(hosts: SwarmHost[]): Record<string, SwarmHost> {
    return Object.fromEntries(hosts.map((h) => [h.name, h]));
}

/**
 * Declares the swarm over a target's hosts as the program does (a healthy old swarm observed), waits until the mocks
 * settle (`quiet`), and returns the cluster and the machines' order of replacement (`<machinePrefix>-<host>`).
 */
export async function rollSwarm(swarm: string, machinePrefix: string, hosts: SwarmHost[], rollout: Rollout, quiet: () => Promise<void>) {
    const { SwarmCluster } = await import("../../components/swarm/cluster");
    const cluster = new SwarmCluster(
        swarm,
        withSeams({ hardware: { hosts }, autolock: true, drainManagers: true, rollout }, { observation: healthyObservation(hosts.map((h) => h.name)) }),
        { transformations: [recordDependencies] },
    );
    await unwrap(cluster.nodes);
    await quiet();
    const chain = await replacementChain(swarm, Object.fromEntries(hosts.map((h) => [h.name, `${machinePrefix}-${h.name}`])));
    return { cluster, chain };
}
