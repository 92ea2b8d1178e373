/**
 * Rolling replacement: when a config change needs new machines, they are made one node at a time, each joined and
 * settled into the swarm before the next machine is made.
 *
 * How it works with Pulumi: every machine's spec (the settings that make the machine, components/host.ts) is
 * compared with the spec the last deployment recorded. A node whose spec changed is *rolling*: its machine resource
 * is declared with a dependency on the previous rolling node's settle step, so the engine replaces the machines in
 * that order, and `pulumi preview` shows it. Machines are replaced create-before-delete: the old machine stays in
 * the swarm until its successor has joined; the settle step then drains (worker) or demotes (manager) the old entry
 * and removes it, so no node's tasks or raft vote are lost before a replacement holds them.
 *
 * Order: the managers other than the operator, the operator (the first manager) last among them, then the workers.
 * Managers go first because a rolling manager settles itself (it joins with the manager token and removes its old
 * entry from its own machine), while a worker's settle step runs on the operator, which must be final by then.
 *
 * Nodes that are new (not in the last deployment) or unchanged are not chained: a new stack is made in parallel.
 */
import * as pulumi from "@pulumi/pulumi";
import { Role } from "../host";
import { PreviousDeployment, PreviousNode, readPreviousDeployment } from "./previous";

interface Gate {
    role: Role;
    machineSpec: string;
    resolve: (deps: pulumi.Resource[]) => void;
    promise: Promise<pulumi.Resource[]>;
}

export class Rollout {
    private readonly gates = new Map<string, Gate>();
    private released = false;

    constructor(readonly previous?: PreviousDeployment) {}

    /**
     * The rollout of cluster `cluster` (the SwarmCluster's name), from what its last deployment recorded among the
     * stack's outputs (export `cluster.deployment` under any name). A new stack, or one that exports no record: no
     * node rolls.
     */
    static async read(cluster: string): Promise<Rollout> {
        return new Rollout(await readPreviousDeployment(cluster));
    }

    previousNode(name: string): PreviousNode | undefined {
        return this.previous?.nodes.find((n) => n.name === name);
    }

    /**
     * For the hardware: what the machine resource of `name` depends on (resolved once the swarm is declared). The
     * spec is the machine's identity: a node whose spec differs from the last deployment's rolls.
     */
    machineDependsOn(name: string, role: Role, machineSpec: string): Promise<pulumi.Resource[]> {
        if (this.released) throw new Error(`Rollout: machine ${name} declared after the swarm`);
        if (this.gates.has(name)) throw new Error(`Rollout: machine ${name} declared twice`);
        let resolve!: (deps: pulumi.Resource[]) => void;
        const promise = new Promise<pulumi.Resource[]>((r) => (resolve = r));
        this.gates.set(name, { role, machineSpec, resolve, promise });
        // A machine that does not roll waits for nothing, and at once: the program reads it before the swarm is
        // declared.
        if (!this.rolling(name)) resolve([]);
        return promise;
    }

    /** Whether the machine of `name` is replaced in this run because its spec changed. */
    rolling(name: string): boolean {
        const gate = this.gates.get(name);
        const before = this.previousNode(name);
        // Without tokens from the last deployment, nodes could not join during the roll: no chain then.
        if (!gate || !before || before.machineSpec === undefined || !this.previous?.tokens) return false;
        return before.machineSpec !== gate.machineSpec;
    }

    /** The rolling nodes in the order they are replaced; `operator` goes last among the managers. */
    order(hosts: { name: string; role: Role }[], operator: string): string[] {
        const rolling = hosts.filter((h) => this.rolling(h.name));
        const managers = rolling.filter((h) => h.role === "manager");
        return [
            ...managers.filter((m) => m.name !== operator),
            ...managers.filter((m) => m.name === operator),
            ...rolling.filter((h) => h.role === "worker"),
        ].map((h) => h.name);
    }

    /**
     * For the swarm: lets the machines be made. `settled[name]` is each rolling node's settle step; the machine of
     * the next rolling node waits for it. Everything else waits for nothing.
     */
    release(chain: string[], settled: Record<string, pulumi.Resource>): void {
        this.released = true;
        for (const [name, gate] of this.gates) {
            const at = chain.indexOf(name);
            gate.resolve(at > 0 ? [settled[chain[at - 1]]] : []);
        }
    }

    /** Never leaves a machine waiting: called when the swarm could not be declared. */
    releaseAll(): void {
        this.released = true;
        for (const gate of this.gates.values()) gate.resolve([]);
    }
}
