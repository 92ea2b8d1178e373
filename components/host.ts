import * as pulumi from "@pulumi/pulumi";

export type Role = "manager" | "worker";

/** How to reach a host over SSH; the same fields as @pulumi/command's remote connection. */
export interface SshConnection {
    host: pulumi.Input<string>;
    port?: pulumi.Input<number>;
    user: pulumi.Input<string>;
    /** Secret. */
    privateKey: pulumi.Input<string>;
    /** How many refused dials to tolerate while a machine boots; -1 retries without limit. */
    dialErrorLimit?: pulumi.Input<number>;
    perDialTimeout?: pulumi.Input<number>;
}

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
}

/** Host names in the order the kit creates them: manager-1..N, worker-1..M. */
export function hostNames(managers: number, workers: number): { name: string; role: Role }[] {
    const names: { name: string; role: Role }[] = [];
    for (let i = 1; i <= managers; i++) names.push({ name: `manager-${i}`, role: "manager" });
    for (let i = 1; i <= workers; i++) names.push({ name: `worker-${i}`, role: "worker" });
    return names;
}
