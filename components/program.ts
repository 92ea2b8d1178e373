/**
 * The swarmkit program: the hosts the stack config names, turned into a Docker Swarm that is running, secured
 * and ready. `index.ts` runs it under `pulumi up`; scripts/stack.ts and the tests run it inline through the
 * Automation API.
 *
 * Order: config (bad input fails here, before anything is declared) → what the last deployment left (nodes, machine
 * specs, tokens) → hardware (which also says which machines are down or gone; a machine whose spec changed waits its
 * turn in a rolling replacement) → a read of the live machines over SSH → host firewalls → the swarm, planned from
 * what the read found, which also sets the order of the roll.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "./config";
import { HostFirewalls } from "./firewall/hostFirewalls";
import { createHardware } from "./hardware";
import { networkChange } from "./hardware/network";
import { HostKeyChangedError, SwarmObservation, observeSwarm } from "./swarm/observe";
import { SwarmCluster } from "./swarm/cluster";
import { readPreviousDeployment } from "./swarm/previous";
import { Rollout } from "./swarm/rollout";

export async function swarmkitProgram() {
    let config: ReturnType<typeof loadConfig>;
    try {
        config = loadConfig();
    } catch (err) {
        // A RunError is reported as the message alone, without a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
    const previous = await readPreviousDeployment();
    const moved = networkChange(config, previous);
    if (moved) throw new pulumi.RunError(`swarmkit: ${moved}`);
    const rollout = new Rollout(previous);
    const { hardware, sshKey } = await createHardware(config, rollout);
    // Read the live machines before any step on them is declared: what the run finds is said first, and a changed
    // host key stops the run before anything talks to that host.
    let observation: SwarmObservation;
    try {
        observation = await observeSwarm(hardware.hosts, { replaced: (name) => (rollout.rolling(name) ? rollout.previousNode(name) : undefined) });
    } catch (err) {
        rollout.releaseAll();
        if (err instanceof HostKeyChangedError) throw new pulumi.RunError(err.message);
        throw err;
    }
    const firewall = new HostFirewalls("firewall", { hosts: hardware.hosts, rules: hardware.firewall });
    const swarm = new SwarmCluster("swarm", {
        hosts: hardware.hosts,
        autolock: config.autolock,
        drainManagers: config.drainManagers,
        tokenRotation: config.tokenRotation,
        observation,
        hostReady: Object.fromEntries(Object.entries(firewall.steps).map(([host, step]) => [host, [step]])),
        rollout,
    });
    return {
        provider: config.provider,
        managers: config.managers,
        workers: config.workers,
        autolock: config.autolock,
        drainManagers: config.drainManagers,
        leaderAddress: swarm.leaderAddress,
        dockerHost: swarm.dockerHost,
        nodes: swarm.nodes,
        workerJoinToken: swarm.workerJoinToken,
        managerJoinToken: swarm.managerJoinToken,
        unlockKey: swarm.unlockKey,
        /** Secret: what `npm run unlock`, the live check after `up` and operators reach the nodes with. */
        sshPrivateKey: pulumi.secret(sshKey.privateKey),
        ...hardware.extraOutputs,
    };
}
