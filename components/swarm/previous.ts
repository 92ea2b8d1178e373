/**
 * What the stack's last deployment left: its nodes (addresses, pinned host keys, machine specs) and its join tokens
 * and unlock key. Read from the stack's own outputs when the program starts, so that it is there before any
 * resource of this run is declared, in a preview as in an update.
 *
 * A rolling replacement needs it: a node whose machine is about to be replaced is reached at its old address while
 * its new machine is being made, and the nodes that join during the roll take the swarm's tokens from here instead
 * of from a step on a manager that is itself waiting its turn.
 */
import * as pulumi from "@pulumi/pulumi";
import { Role } from "../host";

export interface PreviousNode {
    name: string;
    role: Role;
    nodeId?: string;
    privateAddress: string;
    sshAddress: string;
    sshUser: string;
    hostKey: string;
    /** Absent in deployments made before machine specs were recorded. */
    machineSpec?: string;
}

export interface PreviousDeployment {
    nodes: PreviousNode[];
    /** Plain values here; whoever passes them on wraps them in a secret. */
    tokens?: { worker: string; manager: string; unlockKey: string };
}

function isNode(value: unknown): value is PreviousNode {
    const n = value as Partial<PreviousNode> | undefined;
    return (
        !!n &&
        typeof n.name === "string" &&
        (n.role === "manager" || n.role === "worker") &&
        typeof n.privateAddress === "string" &&
        typeof n.sshAddress === "string" &&
        typeof n.sshUser === "string" &&
        typeof n.hostKey === "string"
    );
}

/**
 * The record of cluster `cluster` among the stack's outputs: an output that is a cluster's deployment record
 * (SwarmCluster.deployment, exported under any name) of that name; else the outputs themselves when they carry the
 * record's fields at the top level (the kit's own program exports them so).
 */
export function findDeploymentRecord(outputs: Record<string, unknown>, cluster: string): Record<string, unknown> {
    for (const value of Object.values(outputs)) {
        const v = value as Record<string, unknown> | undefined;
        if (v && typeof v === "object" && !Array.isArray(v) && v.cluster === cluster && Array.isArray(v.nodes)) return v;
    }
    return outputs;
}

/** Parses the outputs as the stack reference gives them (plain or secret); nothing usable: undefined. */
export function parsePrevious(outputs: Record<string, unknown>): PreviousDeployment | undefined {
    const nodes = Array.isArray(outputs.nodes) ? outputs.nodes.filter(isNode) : [];
    if (nodes.length === 0) return undefined;
    const text = (v: unknown) => (typeof v === "string" ? v : undefined);
    const worker = text(outputs.workerJoinToken);
    const manager = text(outputs.managerJoinToken);
    const tokens = worker && manager ? { worker, manager, unlockKey: text(outputs.unlockKey) ?? "" } : undefined;
    return { nodes, tokens };
}

/**
 * The last deployment of the current stack, or undefined for a new stack. Read with the engine's own
 * `readStackOutputs` invoke (what a StackReference reads), which adds no resource to the stack: a stack reference
 * would show up as a "read" in the next run whenever the outputs changed.
 */
export async function readPreviousDeployment(cluster?: string): Promise<PreviousDeployment | undefined> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    let result: { outputs?: Record<string, unknown> };
    try {
        result = await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name: self });
    } catch (err) {
        pulumi.log.warn(`swarmkit: cannot read the stack's last deployment (${err}): nothing rolls in this run`);
        return undefined;
    }
    const outputs = result?.outputs ?? {};
    return parsePrevious(cluster === undefined ? outputs : findDeploymentRecord(outputs, cluster));
}
