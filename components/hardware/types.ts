import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../config";
import { HostFirewallArgs } from "../firewall/hostFirewall";
import { SwarmHost } from "../host";

/** What every hardware component receives: the validated config and the stack's SSH key. */
export interface HardwareArgs {
    config: SwarmkitConfig;
    /** OpenSSH public key line authorised on every host. */
    sshPublicKey: pulumi.Input<string>;
    /** Secret. The matching private key, used by the SSH connections of the hosts. */
    sshPrivateKey: pulumi.Input<string>;
}

/** What every hardware component offers: the hosts in the common shape, their firewall rules, extra outputs. */
export interface Hardware {
    readonly hosts: SwarmHost[];
    /** The host firewall its hosts need (which ranges are nodes, admins, the load balancer on this target). */
    readonly firewall: pulumi.Input<HostFirewallArgs>;
    /** Outputs the stack exports besides the swarm's, e.g. the load balancer's DNS name. */
    readonly extraOutputs: Record<string, pulumi.Output<unknown>>;
}
