/**
 * The swarmkit program: the hosts the stack config names, turned into a Docker Swarm that is running, secured
 * and ready. `index.ts` runs it under `pulumi up`; scripts/stack.ts and the tests run it inline through the
 * Automation API. It is the package's first consumer: it uses the public entries only (./index and each target's),
 * with the stack config module that maps config onto their args.
 *
 * Order: config (bad input fails here, before anything is declared) → what the last deployment left (nodes, machine
 * specs, tokens) → hardware (a machine whose spec changed waits its turn in a rolling replacement) → the cluster,
 * which reads the live machines over SSH before it declares the host firewalls and the swarm's steps.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "./config";
import { networkChange } from "./networkChange";
import { stackHardware } from "./stackHardware";
import { Rollout, SwarmCluster } from "./index";

/** The cluster's name in the kit's program: its steps' names start with it. */
const CLUSTER = "swarm";

/**
 * Before the kit was a library, its program declared the host firewalls at the stack's root as `firewall`; the
 * cluster now declares them as its child `swarm-firewall`. The alias carries existing stacks' firewall steps over
 * (their children's aliases follow from it), so upgrading re-runs nothing.
 */
const firewallWasAtTheRoot: pulumi.ResourceTransform = (args) =>
    args.type === "swarmkit:firewall:HostFirewalls" && args.name === `${CLUSTER}-firewall`
        ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { aliases: [{ name: "firewall", parent: pulumi.rootStackResource }] }) }
        : undefined;

export async function swarmkitProgram() {
    let config: ReturnType<typeof loadConfig>;
    try {
        config = loadConfig();
    } catch (err) {
        // A RunError is reported as the message alone, without a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
    const rollout = await Rollout.read(CLUSTER);
    const moved = networkChange(config, rollout.previous);
    if (moved) throw new pulumi.RunError(`swarmkit: ${moved}`);
    const { hardware, sshKey, outputs } = await stackHardware(config, rollout);
    const swarm = new SwarmCluster(
        CLUSTER,
        {
            hardware,
            autolock: config.autolock,
            drainManagers: config.drainManagers,
            tokenRotation: config.tokenRotation,
            unlockKeyRotation: config.unlockKeyRotation,
            caRotation: config.caRotation,
            nodeLabels: config.nodeLabels,
            defaultAddrPool: config.network.defaultAddrPool,
            defaultAddrPoolMaskLength: config.network.defaultAddrPoolMaskLength,
            dockerVersion: config.docker.version,
            rollout,
        },
        { transforms: [firewallWasAtTheRoot] },
    );
    return {
        provider: config.provider,
        managers: config.managers,
        workers: config.workers,
        autolock: config.autolock,
        drainManagers: config.drainManagers,
        // The engine version the live check expects on every node.
        ...(config.docker.version ? { dockerVersion: config.docker.version } : {}),
        leaderAddress: swarm.leaderAddress,
        dockerHost: swarm.dockerHost,
        nodes: swarm.nodes,
        workerJoinToken: swarm.workerJoinToken,
        managerJoinToken: swarm.managerJoinToken,
        unlockKey: swarm.unlockKey,
        engineVersions: swarm.engineVersions,
        /** The live swarm against the config, from the read after the last step: `up` reports it (scripts/stack.ts). */
        liveCheck: swarm.liveCheck,
        /** Secret: what the unlock command, the live check after `up` and operators reach the nodes with. */
        sshPrivateKey: pulumi.secret(sshKey.privateKey),
        ...outputs,
    };
}
