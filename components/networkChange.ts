/**
 * The private network a stack's machines share, as it goes into their specs. A roll cannot move a live swarm to
 * another network: a machine made in the new one could not reach the managers left in the old one, so its join
 * would fail with the cluster half moved. Such a change is refused before anything is declared.
 */
import { SwarmkitConfig } from "./config";
import { PreviousDeployment } from "./swarm/previous";
import { awsNetwork, dropletNetwork } from "./hardware/settings";

/** The network's identity, or undefined where machines always share one (the lab's bridge, Multipass's). */
export function machineNetwork(config: SwarmkitConfig): string | undefined {
    switch (config.provider) {
        case "aws": {
            return config.aws && awsNetwork(config.aws);
        }
        case "digitalocean": {
            return config.digitalocean && dropletNetwork(config.digitalocean);
        }
        case "kvm":
            return config.kvm?.network;
        default:
            return undefined;
    }
}

/** Why this run would move the live swarm to another network, or undefined when it would not. */
export function networkChange(config: SwarmkitConfig, previous: PreviousDeployment | undefined): string | undefined {
    const wanted = machineNetwork(config);
    if (wanted === undefined || !previous) return undefined;
    for (const node of previous.nodes) {
        if (node.machineSpec === undefined) continue;
        let before: unknown;
        try {
            before = (JSON.parse(node.machineSpec) as Record<string, unknown>).network;
        } catch {
            continue;
        }
        if (typeof before === "string" && before !== wanted) {
            return (
                `the machines' network would change from ${before} to ${wanted}: a live swarm cannot be moved to another network one node ` +
                `at a time (a new machine could not reach the managers left in the old one). Keep the network setting as it was, ` +
                `or run pulumi destroy and then pulumi up to make the cluster again in the new network.`
            );
        }
    }
    return undefined;
}
