/**
 * What the stack's DigitalOcean load balancer forwards, rendered from the load-balancer rows of the port table.
 * Pure, like firewallRules.ts.
 */
import type * as digitalocean from "@pulumi/digitalocean";
import { DigitalOceanSettings } from "../settings";
import { PortRule, portTable } from "../../ports";

type ForwardingRule = digitalocean.types.input.LoadBalancerForwardingRule;
type Healthcheck = digitalocean.types.input.LoadBalancerHealthcheck;

/** The rows the load balancer carries: the published ports, in the order they were configured. */
export function loadBalancerRows(publishedPorts: readonly number[]): PortRule[] {
    return portTable(publishedPorts).filter((row) => row.source === "loadBalancer");
}

/** A load balancer only when it is wanted and there is something to balance. */
export function wantsLoadBalancer(settings: DigitalOceanSettings, publishedPorts: readonly number[]): boolean {
    return settings.loadBalancer && loadBalancerRows(publishedPorts).length > 0;
}

/** tcp in, tcp out, same port: TLS and HTTP stay the services' business; the swarm's routing mesh takes it on. */
export function forwardingRules(publishedPorts: readonly number[]): ForwardingRule[] {
    return loadBalancerRows(publishedPorts).map((row) => ({
        entryProtocol: row.protocol,
        entryPort: row.port as number,
        targetProtocol: row.protocol,
        targetPort: row.port as number,
    }));
}

/** A tcp connect on the first published port: any node that answers there serves through the routing mesh. */
export function healthcheck(publishedPorts: readonly number[]): Healthcheck {
    const [first] = loadBalancerRows(publishedPorts);
    if (first === undefined) throw new Error("a load balancer health check needs at least one published port");
    return { protocol: "tcp", port: first.port as number };
}
