/**
 * Security groups, rendered row by row from the kit's port table (components/ports.ts), so AWS opens exactly what
 * every other firewall of the kit opens:
 *  - nodes: swarm rows only from the group itself, admin rows only from adminCidr, published rows only from the
 *    load balancer's group; all egress.
 *  - load balancer: the published rows (its listeners) from anywhere, and out only to the nodes on those ports.
 * Docker's API ports are in no row, so they are in no rule.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ESP_PROTOCOL_NUMBER, PortRule, portTable } from "../../ports";
import { ANYWHERE_IPV4 } from "./network";
import { Tagger } from "./tags";

/** AWS's way to say "all protocols" (and with it all ports). */
const ALL_PROTOCOLS = "-1";

/**
 * The security group rule resources the AWS provider recommends (one resource per rule). Before, the kit used
 * `aws.ec2.SecurityGroupRule`; the aliases carry each rule over, deleted before it is made again, because AWS refuses
 * a second rule with the same permission.
 */
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const OLD_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const RULE_TYPES = { ingress: INGRESS, egress: EGRESS } as const;

export interface RuleMatch {
    ipProtocol: string;
    /** Absent for protocols without ports (ESP). */
    fromPort?: number;
    toPort?: number;
}

/** Protocol and port range of one row, the way an AWS security group rule spells them. */
export function ruleMatch(row: PortRule): RuleMatch {
    if (row.protocol === "esp") return { ipProtocol: String(ESP_PROTOCOL_NUMBER) };
    if (row.port === undefined) throw new Error(`port table row ${row.name} (${row.protocol}) has no port`);
    return { ipProtocol: row.protocol, fromPort: row.port, toPort: row.port };
}

export interface SecurityGroupsArgs {
    vpcId: pulumi.Input<string>;
    tags: Tagger;
    adminCidr: string;
    publishedPorts: readonly number[];
    /** The swarm's VXLAN port. Default 4789. */
    dataPathPort?: number;
}

export interface SecurityGroups {
    nodes: aws.ec2.SecurityGroup;
    /** Present exactly when ports are published, i.e. when there is a load balancer. */
    loadBalancer?: aws.ec2.SecurityGroup;
    /** The rows published through the load balancer. */
    publishedRows: PortRule[];
}

/** The peer of a rule: a range, or a security group (the group itself for "between nodes"). */
type Peer = { cidrIpv4: string } | { referencedSecurityGroupId: pulumi.Input<string> };

export function createSecurityGroups(name: string, args: SecurityGroupsArgs, parent: pulumi.Resource): SecurityGroups {
    const table = portTable(args.publishedPorts, args.dataPathPort);
    const publishedRows = table.filter((row) => row.source === "loadBalancer");

    const nodes = new aws.ec2.SecurityGroup(
        `${name}-nodes`,
        { vpcId: args.vpcId, description: "swarmkit nodes: swarm ports between nodes, SSH from the admin range, published ports from the load balancer", tags: args.tags("nodes") },
        { parent },
    );
    const loadBalancer =
        publishedRows.length > 0
            ? new aws.ec2.SecurityGroup(
                  `${name}-lb`,
                  { vpcId: args.vpcId, description: "swarmkit load balancer: listeners from anywhere, out to the nodes on the published ports", tags: args.tags("lb") },
                  { parent },
              )
            : undefined;

    const carriedOver: pulumi.CustomResourceOptions = { parent, aliases: [{ type: OLD_RULE }], deleteBeforeReplace: true };
    const ingress = (resourceName: string, group: aws.ec2.SecurityGroup, description: string, match: RuleMatch, peer: Peer) =>
        new aws.vpc.SecurityGroupIngressRule(resourceName, { securityGroupId: group.id, description, ...match, ...peer, tags: args.tags(resourceName) }, carriedOver);
    const egress = (resourceName: string, group: aws.ec2.SecurityGroup, description: string, match: RuleMatch, peer: Peer) =>
        new aws.vpc.SecurityGroupEgressRule(resourceName, { securityGroupId: group.id, description, ...match, ...peer, tags: args.tags(resourceName) }, carriedOver);

    for (const row of table) {
        let from: Peer;
        switch (row.source) {
            case "nodes":
                from = { referencedSecurityGroupId: nodes.id };
                break;
            case "admin":
                from = { cidrIpv4: args.adminCidr };
                break;
            case "loadBalancer":
                if (!loadBalancer) throw new Error(`port table row ${row.name} needs the load balancer's security group`);
                from = { referencedSecurityGroupId: loadBalancer.id };
                break;
        }
        ingress(`${name}-nodes-in-${row.name}`, nodes, row.description, ruleMatch(row), from);
    }
    egress(`${name}-nodes-out-all`, nodes, "All egress (package mirrors, registries, the AWS APIs)", { ipProtocol: ALL_PROTOCOLS }, { cidrIpv4: ANYWHERE_IPV4 });

    if (loadBalancer) {
        for (const row of publishedRows) {
            ingress(`${name}-lb-in-${row.name}`, loadBalancer, `Listener ${row.name} from anywhere`, ruleMatch(row), { cidrIpv4: ANYWHERE_IPV4 });
            // Traffic and health checks to the nodes; health checks obey the load balancer's egress rules.
            egress(`${name}-lb-out-${row.name}`, loadBalancer, `To the nodes on ${row.name}`, ruleMatch(row), { referencedSecurityGroupId: nodes.id });
        }
    }
    return { nodes, loadBalancer, publishedRows };
}
