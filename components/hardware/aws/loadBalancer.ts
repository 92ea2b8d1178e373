/**
 * The Network Load Balancer in front of the published ports: one TCP target group, listener and health check per
 * published row of the port table, and every node in every target group, since the swarm's routing mesh answers a
 * published port on any node.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { PortRule } from "../../ports";
import { Machine } from "./instances";
import { Tagger } from "./tags";

/** Seconds a removed node keeps draining; the default 300 s slows every replacement down. */
const DEREGISTRATION_DELAY_SECONDS = 30;

export interface LoadBalancerArgs {
    tags: Tagger;
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<string>[];
    securityGroupId: pulumi.Input<string>;
    /** Rows of the port table with source "loadBalancer". */
    publishedRows: PortRule[];
    nodes: Machine[];
}

export function createLoadBalancer(name: string, args: LoadBalancerArgs, parent: pulumi.Resource): aws.lb.LoadBalancer {
    const lb = new aws.lb.LoadBalancer(
        `${name}-nlb`,
        {
            loadBalancerType: "network",
            internal: false,
            ipAddressType: "ipv4",
            subnets: args.subnetIds,
            securityGroups: [args.securityGroupId],
            tags: args.tags("nlb"),
        },
        { parent },
    );
    for (const row of args.publishedRows) {
        if (row.protocol !== "tcp" || row.port === undefined) throw new Error(`the load balancer forwards TCP ports; ${row.name} is ${row.protocol}`);
        const port = row.port;
        const targetGroup = new aws.lb.TargetGroup(
            `${name}-tg-${row.name}`,
            {
                vpcId: args.vpcId,
                targetType: "instance",
                protocol: "TCP",
                port,
                // The nodes then see the NLB's private (VPC) address, which their host firewall accepts on published
                // ports; with the client's address they would drop the traffic.
                preserveClientIp: "false",
                deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
                healthCheck: { enabled: true, protocol: "TCP", port: String(port), healthyThreshold: 3, unhealthyThreshold: 3, interval: 10 },
                tags: args.tags(`tg-${row.name}`),
            },
            { parent },
        );
        new aws.lb.Listener(
            `${name}-listener-${row.name}`,
            {
                loadBalancerArn: lb.arn,
                protocol: "TCP",
                port,
                defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
                tags: args.tags(`listener-${row.name}`),
            },
            { parent },
        );
        for (const node of args.nodes) {
            new aws.lb.TargetGroupAttachment(
                `${name}-attach-${row.name}-${node.placement.name}`,
                { targetGroupArn: targetGroup.arn, targetId: node.instance.id, port },
                { parent },
            );
        }
    }
    return lb;
}
