/**
 * A Pulumi program of its own that uses swarmkit as a library, from the installed package only. Two shapes, by the
 * stack's `example:mode`:
 *  - "lab" (default): two swarms side by side in one stack, each on lab hosts of its own (`example:labs`, a list of
 *    {name, subnet}); their names never collide because each derives from its component's name;
 *  - "hosts": a swarm on machines that already run Docker (`example:hosts`, a list of {name, role, sshAddress,
 *    privateAddress, hostKey}); `pulumi destroy` leaves them running, out of the swarm, without the kit's firewall.
 * Every cluster records its deployment in an output, so that a later change of its machines rolls them one at a time.
 */
import * as pulumi from "@pulumi/pulumi";
import { Rollout, SwarmCluster } from "swarmkit";
import { ExistingHost, ExistingHosts } from "swarmkit/hosts";
import { LabHosts } from "swarmkit/lab";

/** The @pulumi packages this program loaded: a stack that uses no cloud loads no cloud SDK. */
function loadedSdks(): string[] {
    const names = Object.keys(require.cache).map((file) => /node_modules\/(@pulumi\/[^/]+)\//.exec(file)?.[1]);
    return [...new Set(names.filter((n): n is string => n !== undefined))].sort();
}

export async function program(): Promise<Record<string, unknown>> {
    const config = new pulumi.Config("example");
    const sshKey = { publicKey: config.require("sshPublicKey"), privateKey: config.requireSecret("sshPrivateKey") };
    const outputs: Record<string, unknown> = {};

    if (config.get("mode") === "hosts") {
        const name = "rack";
        const rollout = await Rollout.read(`${name}-swarm`);
        const rack = new ExistingHosts(name, {
            hosts: config.requireObject<ExistingHost[]>("hosts"),
            sshPrivateKey: sshKey.privateKey,
            adminCidr: config.require("adminCidr"),
        });
        const swarm = new SwarmCluster(`${name}-swarm`, { hardware: rack, rollout });
        outputs[name] = { nodes: swarm.nodes, dockerHost: swarm.dockerHost };
        outputs[`${name}Deployment`] = swarm.deployment;
    } else {
        for (const lab of config.requireObject<{ name: string; subnet: string }[]>("labs")) {
            const rollout = await Rollout.read(`${lab.name}-swarm`);
            const hosts = new LabHosts(lab.name, { managers: 1, workers: 1, subnet: lab.subnet, sshKey, rollout });
            const swarm = new SwarmCluster(`${lab.name}-swarm`, { hardware: hosts, rollout });
            outputs[lab.name] = { labName: hosts.labName, nodes: swarm.nodes, dockerHost: swarm.dockerHost };
            outputs[`${lab.name}Deployment`] = swarm.deployment;
        }
    }
    outputs.loadedSdks = loadedSdks();
    return outputs;
}
