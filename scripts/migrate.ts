/**
 * Stacks made by swarmkit before 0.2 keep, in their state, delete scripts on the swarm's steps (leave the swarm,
 * demote and remove a node) that ran over SSH when a step went away. Since 0.2 nothing runs on a host when a step
 * goes (the members step takes nodes out of the swarm before their machines go), and the old steps are replaced by
 * new ones: their stored delete scripts would take live nodes out of the swarm, or hang on hosts that are gone.
 * This drops them from the state, once, before the kit's scripts run an operation. Pure on the state; idempotent.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Stack } from "@pulumi/pulumi/automation";

interface StateResource {
    type: string;
    parent?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

const SWARM_COMPONENT = "swarmkit:swarm:SwarmCluster";

/** Removes the stored delete scripts of the swarm's steps; returns how many it removed. */
export function dropSwarmStepDeletes(resources: StateResource[]): number {
    let dropped = 0;
    for (const r of resources) {
        if (r.type !== "command:remote:Command" || !r.parent?.includes(`::${SWARM_COMPONENT}::`)) continue;
        for (const props of [r.inputs, r.outputs]) {
            if (props && "delete" in props) {
                delete props.delete;
                dropped++;
            }
        }
    }
    return dropped;
}

/**
 * The stack's state as the project's file backend keeps it, read straight from the file (no CLI call on every
 * run); undefined for another backend.
 */
function stateFromFileBackend(stackName: string): { deployment?: { resources?: StateResource[] } } | undefined {
    const url = process.env.PULUMI_BACKEND_URL ?? "";
    if (!url.startsWith("file://")) return undefined;
    const file = join(fileURLToPath(url.replace(/\?.*$/, "")), ".pulumi", "stacks", "swarmkit", `${stackName}.json`);
    if (!existsSync(file)) return { deployment: { resources: [] } };
    try {
        const latest = JSON.parse(readFileSync(file, "utf8")).checkpoint?.latest;
        return latest ? { deployment: latest } : { deployment: { resources: [] } };
    } catch {
        return undefined; // not the layout this reads: ask the CLI
    }
}

export async function migrateStack(stack: Stack, log: (line: string) => void): Promise<void> {
    const local = stateFromFileBackend(stack.name);
    if (local && dropSwarmStepDeletes(local.deployment?.resources ?? []) === 0) return;
    const state = await stack.exportStack();
    const resources = (state.deployment?.resources ?? []) as StateResource[];
    if (dropSwarmStepDeletes(resources) === 0) return;
    await stack.importStack(state);
    log("swarmkit: this stack was made by an earlier swarmkit: its swarm steps no longer run anything on hosts when they go (state updated once)");
}
