/**
 * Hardware for `swarmkit:provider = aws`. Loaded with `await import("./aws")` only by stacks that use AWS, so
 * @pulumi/aws is imported nowhere else.
 */
import * as pulumi from "@pulumi/pulumi";
import { SwarmHost } from "../../host";
import { isValidCidr } from "../../net";
import { AwsSettings } from "../settings";
import { Hardware, HostsArgs, physicalStem, resolveHostsArgs } from "../types";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { awsHostFirewall, createInstances } from "./instances";
import { createLoadBalancer } from "./loadBalancer";
import { createNetwork } from "./network";
import { placeHosts } from "./placement";
import { createSecurityGroups } from "./securityGroups";
import { awsTagger } from "./tags";

/** AwsHosts' args: the region is the AWS provider's (aws:region, or a provider passed in the resource options). */
export interface AwsHostsArgs extends HostsArgs {
    /** Required: where SSH may come from (the security group admits it from there only). */
    adminCidr: string;
    /** Default t3.small managers, t3.medium workers. */
    instanceType?: { manager: string; worker: string };
    /** A fixed AMI; absent: the newest Canonical Ubuntu 24.04 of the region, looked up when an instance is made. */
    amiId?: string;
    /** The kit's own VPC's range, /16 to /24. Default 10.42.0.0/16. */
    vpcCidr?: string;
    /** Zones to spread the nodes over, 3 to 6. Default 3. */
    availabilityZones?: number;
    /** Use an existing VPC and its public subnets (one per zone, at least 3) instead of making one. */
    existingVpc?: { vpcId: string; subnetIds: string[] };
    /** Each node's encrypted gp3 root volume. Default 20 GiB. */
    rootVolumeGiB?: number;
    /** Stem of the `Name` tags. Default `<stack>-<component name>`. */
    nameStem?: string;
}

/** The AWS settings of AwsHostsArgs with their defaults. */
export function awsSettings(args: AwsHostsArgs): AwsSettings {
    return {
        region: "",
        instanceType: args.instanceType ?? { manager: "t3.small", worker: "t3.medium" },
        amiId: args.amiId,
        vpcCidr: args.vpcCidr ?? "10.42.0.0/16",
        availabilityZones: args.availabilityZones ?? 3,
        existingVpc: args.existingVpc,
        rootVolumeGiB: args.rootVolumeGiB ?? 20,
    };
}

export function awsArgsProblems(args: AwsHostsArgs): string[] {
    const problems: string[] = [];
    if (args.adminCidr === undefined) problems.push("adminCidr is missing: the range allowed to reach SSH on the nodes, e.g. 203.0.113.0/24");
    const vpcCidr = args.vpcCidr ?? "10.42.0.0/16";
    const prefix = Number(vpcCidr.split("/")[1]);
    if (!isValidCidr(vpcCidr) || prefix < 16 || prefix > 24) problems.push(`vpcCidr = ${JSON.stringify(vpcCidr)}: an IPv4 range from /16 to /24`);
    const zones = args.availabilityZones ?? 3;
    if (!Number.isInteger(zones) || zones < 3 || zones > 6) problems.push(`availabilityZones = ${zones}: 3 to 6 (with 2, one zone holds a majority of the managers)`);
    if (args.existingVpc && args.existingVpc.subnetIds.length < 3) problems.push("existingVpc.subnetIds: at least 3 public subnets, each in its own zone");
    const disk = args.rootVolumeGiB ?? 20;
    if (!Number.isInteger(disk) || disk < 8) problems.push(`rootVolumeGiB = ${disk}: a whole number, 8 or more`);
    return problems;
}

/**
 * Swarm hosts on EC2: a VPC (or an existing one) with a public subnet per zone, managers and workers spread
 * round-robin over the zones, security groups from the port table, and a Network Load Balancer in front of the
 * published ports.
 */
export class AwsHosts extends pulumi.ComponentResource implements Hardware {
    /** Managers first, in the order of hostNames(). */
    public readonly hosts: SwarmHost[];
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    /** The swarm's VXLAN port, opened by its firewalls. */
    public readonly dataPathPort?: number;
    public readonly vpcId: pulumi.Output<string>;
    /** Empty when no port is published (there is no load balancer then). */
    public readonly loadBalancerDnsName: pulumi.Output<string>;

    constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:aws:Hosts", name, {}, opts);
        const common = resolveHostsArgs("AwsHosts", name, args, { adminCidr: args.adminCidr, sshUser: "ubuntu" }, awsArgsProblems(args), this);
        const settings = awsSettings(args);
        const tags = awsTagger(args.nameStem ?? physicalStem(name));

        const network = createNetwork(name, settings, tags, this);
        const groups = createSecurityGroups(name, { vpcId: network.vpcId, tags, adminCidr: common.adminCidr, publishedPorts: common.publishedPorts, dataPathPort: common.dataPathPort }, this);
        const placements = placeHosts(common.managers, common.workers, network.subnetIds.length);
        const { nodes } = createInstances(name, { common, settings, tags, network, securityGroupId: groups.nodes.id, placements }, this);
        const lb = groups.loadBalancer
            ? createLoadBalancer(
                  name,
                  {
                      tags,
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
        this.firewall = network.vpcCidr.apply((cidr) => awsHostFirewall(cidr, common.publishedPorts, common.dataPathPort));
        this.dataPathPort = common.dataPathPort;
        this.vpcId = network.vpcId;
        this.loadBalancerDnsName = lb ? lb.dnsName : pulumi.output("");

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
