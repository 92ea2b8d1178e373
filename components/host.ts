import * as pulumi from "@pulumi/pulumi";

export type Role = "manager" | "worker";

/** How to reach a host over SSH; the same fields as @pulumi/command's remote connection. */
export interface SshConnection {
    host: pulumi.Input<string>;
    port?: pulumi.Input<number>;
    user: pulumi.Input<string>;
    /** Secret. */
    privateKey: pulumi.Input<string>;
    /**
     * The host's public SSH key ("ssh-ed25519 AAAA..."): every connection the kit makes checks the host against it,
     * so join tokens never go to a machine that only claims the address.
     */
    hostKey: pulumi.Input<string>;
    /** Refused or failed dials tolerated per step, on the upstream provider's schedule (components/ssh/dialPolicy.ts). */
    dialErrorLimit?: pulumi.Input<number>;
    perDialTimeout?: pulumi.Input<number>;
}

/**
 * What the hardware saw of a machine when the program ran, before any step: lets the swarm plan repairs.
 *  - running: it exists and runs;
 *  - starting: it was stopped (a reboot, a stopped VM) and this run starts it again with its disk, so it comes back
 *    with its swarm state (a manager of an autolocked swarm comes back locked);
 *  - new: there is no machine (never made, or gone with its disk): this run makes a fresh one;
 *  - unknown: the hardware cannot tell before its resources run (clouds: `pulumi up --refresh` finds deleted
 *    instances, and the swarm observation sees the rest).
 */
export type MachineStatus = "running" | "starting" | "new" | "unknown";

/**
 * The shape every hardware component returns, whatever the target (cloud VM, local VM, lab host).
 * The swarm bootstrap only ever sees this.
 */
export interface SwarmHost {
    /** Stable logical name, e.g. "manager-1"; also the swarm node's hostname where the hardware lets us set it. */
    name: string;
    role: Role;
    /** Address the Pulumi host uses to reach the machine over SSH (public IP, or lab address). */
    sshAddress: pulumi.Input<string>;
    /** Address on the private network that swarm advertises and nodes use between themselves. */
    privateAddress: pulumi.Input<string>;
    connection: SshConnection;
    /**
     * Identity of the machine itself (instance id, droplet id, VM or lab host id). It changes when the machine
     * is replaced under the same name, which makes the swarm bootstrap join the new machine again.
     */
    machineId: pulumi.Input<string>;
    /** What the hardware saw of the machine before this run; absent means "unknown". */
    machineStatus?: MachineStatus;
    /**
     * The settings that make the machine (image, size, revision, ...): a change of them replaces it. Recorded with
     * each deployment, so that a changed spec rolls the node (components/swarm/rollout.ts). Empty: never rolled.
     */
    machineSpec?: string;
    /**
     * Where the machine stands, when the target knows: its availability zone (AWS), the lab zone it was given. The
     * node gets it as the label `swarmkit.zone`, for `--placement-pref spread=node.labels.swarmkit.zone`.
     */
    zone?: pulumi.Input<string>;
    /** Its region (AWS, DigitalOcean): the label `swarmkit.region`. */
    region?: pulumi.Input<string>;
}

/** A machine spec from its settings: the same settings give the same text, in any order. */
export function machineSpec(settings: Record<string, string | number | boolean | undefined>): string {
    const keys = Object.keys(settings).filter((k) => settings[k] !== undefined).sort();
    return JSON.stringify(Object.fromEntries(keys.map((k) => [k, settings[k]])));
}

/** Host names in the order the kit creates them: manager-1..N, worker-1..M. */
export function hostNames(managers: number, workers: number): { name: string; role: Role }[] {
    const names: { name: string; role: Role }[] = [];
    for (let i = 1; i <= managers; i++) names.push({ name: `manager-${i}`, role: "manager" });
    for (let i = 1; i <= workers; i++) names.push({ name: `worker-${i}`, role: "worker" });
    return names;
}

/** The kit's own node names: a swarm entry so named that no configured host owns is the kit's to remove. */
export const KIT_NODE_NAME = /^(manager|worker)-[0-9]+$/;
