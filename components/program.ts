/**
 * The swarmkit program: the hosts the stack config names, turned into a Docker Swarm that is running, secured
 * and ready. `index.ts` runs it under `pulumi up`; scripts/stack.ts and the tests run it inline through the
 * Automation API.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "./config";
import { createHardware } from "./hardware";
import { SwarmCluster } from "./swarm/cluster";

export async function swarmkitProgram() {
    // Validates everything first: bad config fails here, before any resource is declared.
    let config: ReturnType<typeof loadConfig>;
    try {
        config = loadConfig();
    } catch (err) {
        // A RunError is reported as the message alone, without a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
    const hardware = await createHardware(config);
    const swarm = new SwarmCluster("swarm", {
        hosts: hardware.hosts,
        autolock: config.autolock,
        drainManagers: config.drainManagers,
        tokenRotation: config.tokenRotation,
    });
    return {
        provider: config.provider,
        managers: config.managers,
        workers: config.workers,
        leaderAddress: swarm.leaderAddress,
        dockerHost: swarm.dockerHost,
        nodes: swarm.nodes,
        workerJoinToken: swarm.workerJoinToken,
        managerJoinToken: swarm.managerJoinToken,
        unlockKey: swarm.unlockKey,
        ...hardware.extraOutputs,
    };
}
