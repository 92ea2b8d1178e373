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
import { awsTags } from "./tags";

/** AWS's way to say "no ports" for protocols without ports (ESP) and for "all protocols". */
const NO_PORT = 0;
const ALL_PROTOCOLS = "-1";

export interface RuleMatch {
    protocol: string;
    fromPort: number;
    toPort: number;
}

/** Protocol and port range of one row, the way an AWS security group rule spells them. */
export function ruleMatch(row: PortRule): RuleMatch {
    if (row.protocol === "esp") return { protocol: String(ESP_PROTOCOL_NUMBER), fromPort: NO_PORT, toPort: NO_PORT };
    if (row.port === undefined) throw new Error(`port table row ${row.name} (${row.protocol}) has no port`);
    return { protocol: row.protocol, fromPort: row.port, toPort: row.port };
}

export interface SecurityGroupsArgs {
    vpcId: pulumi.Input<string>;
    adminCidr: string;
    publishedPorts: readonly number[];
}

export interface SecurityGroups {
    nodes: aws.ec2.SecurityGroup;
    /** Present exactly when ports are published, i.e. when there is a load balancer. */
    loadBalancer?: aws.ec2.SecurityGroup;
    /** The rows published through the load balancer. */
    publishedRows: PortRule[];
}

export function createSecurityGroups(name: string, args: SecurityGroupsArgs, parent: pulumi.Resource): SecurityGroups {
    const table = portTable(args.publishedPorts);
    const publishedRows = table.filter((row) => row.source === "loadBalancer");

    const nodes = new aws.ec2.SecurityGroup(
        `${name}-nodes`,
        { vpcId: args.vpcId, description: "swarmkit nodes: swarm ports between nodes, SSH from the admin range, published ports from the load balancer", tags: awsTags("nodes") },
        { parent },
    );
    const loadBalancer =
        publishedRows.length > 0
            ? new aws.ec2.SecurityGroup(
                  `${name}-lb`,
                  { vpcId: args.vpcId, description: "swarmkit load balancer: listeners from anywhere, out to the nodes on the published ports", tags: awsTags("lb") },
                  { parent },
              )
            : undefined;

    const rule = (resourceName: string, ruleArgs: aws.ec2.SecurityGroupRuleArgs) => new aws.ec2.SecurityGroupRule(resourceName, ruleArgs, { parent });

    for (const row of table) {
        let from: Pick<aws.ec2.SecurityGroupRuleArgs, "self" | "cidrBlocks" | "sourceSecurityGroupId">;
        switch (row.source) {
            case "nodes":
                from = { self: true };
                break;
            case "admin":
                from = { cidrBlocks: [args.adminCidr] };
                break;
            case "loadBalancer":
                if (!loadBalancer) throw new Error(`port table row ${row.name} needs the load balancer's security group`);
                from = { sourceSecurityGroupId: loadBalancer.id };
                break;
        }
        rule(`${name}-nodes-in-${row.name}`, { type: "ingress", securityGroupId: nodes.id, description: row.description, ...ruleMatch(row), ...from });
    }
    rule(`${name}-nodes-out-all`, {
        type: "egress",
        securityGroupId: nodes.id,
        description: "All egress (package mirrors, registries, the AWS APIs)",
        protocol: ALL_PROTOCOLS,
        fromPort: NO_PORT,
        toPort: NO_PORT,
        cidrBlocks: [ANYWHERE_IPV4],
    });

    if (loadBalancer) {
        for (const row of publishedRows) {
            rule(`${name}-lb-in-${row.name}`, {
                type: "ingress",
                securityGroupId: loadBalancer.id,
                description: `Listener ${row.name} from anywhere`,
                ...ruleMatch(row),
                cidrBlocks: [ANYWHERE_IPV4],
            });
            // Traffic and health checks to the nodes; health checks obey the load balancer's egress rules.
            rule(`${name}-lb-out-${row.name}`, {
                type: "egress",
                securityGroupId: loadBalancer.id,
                description: `To the nodes on ${row.name}`,
                ...ruleMatch(row),
                sourceSecurityGroupId: nodes.id,
            });
        }
    }
    return { nodes, loadBalancer, publishedRows };
}
