import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../config";
import { HostFirewallArgs } from "../firewall/hostFirewall";
import { SwarmHost } from "../host";
import { Rollout } from "../swarm/rollout";

/** What every hardware component receives: the validated config and the stack's SSH key. */
export interface HardwareArgs {
    config: SwarmkitConfig;
    /** OpenSSH public key line authorised on every host. */
    sshPublicKey: pulumi.Input<string>;
    /** Secret. The matching private key, used by the SSH connections of the hosts. */
    sshPrivateKey: pulumi.Input<string>;
    /**
     * The rolling replacement: each machine resource depends on `rollout.machineDependsOn(name, role, spec)`, so
     * that machines whose spec changed are replaced one node at a time. Absent: a plain parallel replacement.
     */
    rollout?: Rollout;
}

/** What a machine resource waits for in the roll, with the hardware's own dependencies. */
export function machineDependsOn(
    rollout: Rollout | undefined,
    host: { name: string; role: "manager" | "worker"; machineSpec: string },
    own: pulumi.Resource[] = [],
): pulumi.Input<pulumi.Resource[]> {
    if (!rollout) return own;
    return rollout.machineDependsOn(host.name, host.role, host.machineSpec).then((roll) => [...own, ...roll]);
}

/** What every hardware component offers: the hosts in the common shape, their firewall rules, extra outputs. */
export interface Hardware {
    readonly hosts: SwarmHost[];
    /** The host firewall its hosts need (which ranges are nodes, admins, the load balancer on this target). */
    readonly firewall: pulumi.Input<HostFirewallArgs>;
    /** Outputs the stack exports besides the swarm's, e.g. the load balancer's DNS name. */
    readonly extraOutputs: Record<string, pulumi.Output<unknown>>;
}
