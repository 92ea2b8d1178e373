/**
 * Hardware for `swarmkit:provider = aws`. Loaded with `await import("./aws")` only by stacks that use AWS, so
 * @pulumi/aws is imported nowhere else.
 */
import * as pulumi from "@pulumi/pulumi";
import { SwarmHost } from "../../host";
import { Hardware, HardwareArgs } from "../types";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { awsHostFirewall, createInstances } from "./instances";
import { createLoadBalancer } from "./loadBalancer";
import { createNetwork } from "./network";
import { placeHosts } from "./placement";
import { createSecurityGroups } from "./securityGroups";

export type AwsHostsArgs = HardwareArgs;

/**
 * Swarm hosts on EC2: a VPC (or an existing one) with a public subnet per zone, managers and workers spread
 * round-robin over the zones, security groups from the port table, and a Network Load Balancer in front of the
 * published ports.
 */
export class AwsHosts extends pulumi.ComponentResource implements Hardware {
    /** Managers first, in the order of hostNames(). */
    public readonly hosts: SwarmHost[];
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    public readonly vpcId: pulumi.Output<string>;
    /** Empty when no port is published (there is no load balancer then). */
    public readonly loadBalancerDnsName: pulumi.Output<string>;

    constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:aws:Hosts", name, {}, opts);
        const { config } = args;
        const settings = config.aws;
        if (config.provider !== "aws" || !settings) throw new Error(`AwsHosts needs swarmkit:provider = aws, not ${config.provider}`);

        const network = createNetwork(name, settings, this);
        const groups = createSecurityGroups(name, { vpcId: network.vpcId, adminCidr: config.adminCidr, publishedPorts: config.publishedPorts }, this);
        const placements = placeHosts(config.managers, config.workers, network.subnetIds.length);
        const { nodes } = createInstances(
            name,
            {
                config,
                network,
                securityGroupId: groups.nodes.id,
                placements,
                sshPublicKey: args.sshPublicKey,
                sshPrivateKey: args.sshPrivateKey,
                rollout: args.rollout,
            },
            this,
        );
        const lb = groups.loadBalancer
            ? createLoadBalancer(
                  name,
                  {
                      vpcId: network.vpcId,
                      subnetIds: network.subnetIds,
                      securityGroupId: groups.loadBalancer.id,
                      publishedRows: groups.publishedRows,
                      nodes,
                  },
                  this,
              )
            : undefined;

        this.hosts = nodes.map((n) => n.host);
        this.firewall = network.vpcCidr.apply((cidr) => awsHostFirewall(cidr, config.publishedPorts));
        this.vpcId = network.vpcId;
        this.loadBalancerDnsName = lb ? lb.dnsName : pulumi.output("");
        this.extraOutputs = { loadBalancerDnsName: this.loadBalancerDnsName, vpcId: this.vpcId };

        this.registerOutputs({
            hosts: pulumi.all(
                nodes.map((n) =>
                    pulumi.all({
                        name: n.placement.name,
                        role: n.placement.role,
                        publicIp: n.instance.publicIp,
                        privateIp: n.instance.privateIp,
                        instanceId: n.instance.id,
                        availabilityZone: n.zone,
                    }),
                ),
            ),
            lbDnsName: this.loadBalancerDnsName,
            vpcId: this.vpcId,
        });
    }
}
