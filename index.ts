/**
 * swarmkit: the hosts the stack config names, turned into a Docker Swarm that is running, secured and ready.
 */
import { loadConfig } from "./components/config";
import { createHardware } from "./components/hardware";
import { SwarmCluster } from "./components/swarm/cluster";

async function main() {
    // Validates everything first: bad config fails here, before any resource is declared.
    const config = loadConfig();
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

export = main();
