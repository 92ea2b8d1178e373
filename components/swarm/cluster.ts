import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost } from "../host";
import * as scripts from "./scripts";
import { SwarmObservation } from "./observe";
import { commandConnection } from "../ssh/connection";
import { Finding, SwarmPlan, planSwarm } from "./plan";

export interface SwarmClusterArgs {
    /** Managers first: the first manager founds the swarm. */
    hosts: SwarmHost[];
    /** Turn autolock on (the default): managers restarted need the unlock key. */
    autolock: boolean;
    /** Keep tasks off the managers. */
    drainManagers: boolean;
    /** Bumped to rotate both join tokens. */
    tokenRotation?: number;
    /**
     * What the live swarm looks like before this run (`observeSwarm(hosts)`, awaited before the cluster is
     * declared): the cluster repairs what differs from the config. Without one it is planned as a new swarm.
     */
    observation?: SwarmObservation;
    /** Steps that must be done on the hosts before the swarm uses them (their host firewalls, say). */
    hostsReady?: pulumi.Input<pulumi.Resource>[];
}

export interface SwarmNode {
    name: string;
    role: "manager" | "worker";
    nodeId: string;
    privateAddress: string;
    sshAddress: string;
    sshUser: string;
    /** The host key the kit pinned for it. */
    hostKey: string;
}

interface Tokens {
    worker: string;
    manager: string;
    unlockKey: string;
}

/** The trigger slot that carries a repair; ignored unless the plan repairs the step (see plan.ts). */
const REPAIR = "swarmkit: nothing to repair";

/**
 * Turns a set of hosts into a Docker Swarm over SSH: the first manager founds the swarm, every node runs its join
 * step (in parallel: it joins, or unlocks a manager that came back locked), then one step on the operating manager
 * makes the member list match the config (removes stale entries, promotes managers one at a time waiting until each
 * is Reachable, sets availability), and the join tokens and the unlock key are read into secrets.
 *
 * Nothing runs on a host when the stack is destroyed: the machines go with it, so no step can hang on a host that is
 * already gone. A host removed from the config is taken out of the swarm by the members step, before its machine
 * is deleted.
 */
export class SwarmCluster extends pulumi.ComponentResource {
    public readonly workerJoinToken: pulumi.Output<string>;
    public readonly managerJoinToken: pulumi.Output<string>;
    public readonly unlockKey: pulumi.Output<string>;
    /** Private address of the manager the kit operates through: the first one, or a survivor when it is lost. */
    public readonly leaderAddress: pulumi.Output<string>;
    public readonly nodes: pulumi.Output<SwarmNode[]>;
    /** `DOCKER_HOST=ssh://user@address`, ready to export in a shell. */
    public readonly dockerHost: pulumi.Output<string>;
    /** The last step: depend on it to run after the swarm is complete. */
    public readonly ready: pulumi.Output<string>;
    /** What this run found on the machines and repairs (also logged). */
    public readonly plan: SwarmPlan;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:swarm:SwarmCluster", name, {}, opts);
        const managers = args.hosts.filter((h) => h.role === "manager");
        if (managers.length === 0) throw new Error("SwarmCluster needs at least one manager host");
        const names = new Set(args.hosts.map((h) => h.name));
        if (names.size !== args.hosts.length) throw new Error("SwarmCluster host names must be unique");
        const founder = managers[0];

        this.plan = planSwarm(
            {
                hosts: args.hosts.map((h) => ({ name: h.name, role: h.role, machineStatus: h.machineStatus })),
                autolock: args.autolock,
                drainManagers: args.drainManagers,
            },
            args.observation,
        );
        const plan = this.plan;
        for (const f of plan.findings) logFinding(f, this);
        const operator = managers.find((m) => m.name === plan.operator) ?? founder;

        const remote = (resourceName: string, cmdArgs: command.remote.CommandArgs, extra?: pulumi.CustomResourceOptions) =>
            new command.remote.Command(resourceName, { addPreviousOutputInEnv: false, ...cmdArgs }, { parent: this, ...extra });
        // A repair gives the step's last trigger a new value; otherwise that slot is ignored and the step stays as it is.
        const repairSlot = (reason: string | undefined) => (reason ? `repair: ${reason} (${new Date().toISOString()})` : REPAIR);
        const ready = args.hostsReady ?? [];

        const init = remote(
            `${name}-init-${founder.name}`,
            {
                connection: commandConnection(founder),
                create: pulumi.output(founder.privateAddress).apply((advertiseAddress) =>
                    scripts.renderInit({ host: founder.name, advertiseAddress, autolock: args.autolock }),
                ),
                triggers: [repairSlot(plan.refound)],
            },
            // The swarm is founded once: a changed address, autolock or first machine never founds another one (the
            // new machine joins the swarm through a surviving manager). Only a refound re-runs it.
            { dependsOn: ready, ignoreChanges: plan.refound ? [] : ["create", "connection", "triggers[0]"] },
        );
        const initInfo = init.stdout.apply((out) => JSON.parse(out) as { nodeId: string; clusterId: string });
        const clusterId = initInfo.apply((i) => i.clusterId);
        const operatorConnection = commandConnection(operator);

        // Rotation runs when tokenRotation changes, and only then: a change of operator updates the step with a
        // no-op instead of rotating again.
        const rotation = args.tokenRotation ?? 0;
        const rotate =
            rotation > 0
                ? remote(
                      `${name}-rotate-tokens`,
                      {
                          connection: operatorConnection,
                          create: scripts.renderRotateTokens({ host: operator.name }),
                          update: "true",
                          triggers: [clusterId, rotation],
                      },
                      { dependsOn: [init] },
                  )
                : undefined;
        const tokensCommand = remote(
            `${name}-tokens`,
            {
                connection: operatorConnection,
                create: scripts.renderTokens({ host: operator.name }),
                triggers: [clusterId, args.autolock, rotation],
                logging: "none",
            },
            { additionalSecretOutputs: ["stdout", "stderr"], dependsOn: rotate ? [init, rotate] : [init] },
        );
        // Secret explicitly as well: additionalSecretOutputs is applied by the engine, not by every code path.
        const tokens = pulumi.secret(tokensCommand.stdout).apply((out) => JSON.parse(out) as Tokens);

        // The operator first: a join through it never waits on a lost manager.
        const joinOrder = [operator, ...managers.filter((m) => m !== operator)];
        const managerAddresses = pulumi.all(joinOrder.map((m) => pulumi.output(m.privateAddress)));
        const joined = args.hosts.map((host) => {
            const reason = plan.nodeRepairs[host.name];
            const stdin = pulumi.secret(
                pulumi.all([tokens, managerAddresses]).apply(([t, addresses]) =>
                    scripts.nodeStepInput({
                        workerToken: t.worker,
                        unlockKey: host.role === "manager" ? t.unlockKey : "",
                        leaveFirst: plan.leaveFirst.includes(host.name),
                        managerAddresses: addresses,
                    }),
                ),
            );
            const join = remote(
                `${name}-join-${host.name}`,
                {
                    connection: commandConnection(host),
                    create: pulumi
                        .output(host.privateAddress)
                        .apply((advertiseAddress) => scripts.renderNodeStep({ host: host.name, advertiseAddress })),
                    stdin,
                    triggers: [host.machineId, clusterId, repairSlot(reason)],
                },
                // A healthy node needs no fresh token: a rotation or a new operator does not run its step again.
                { dependsOn: [init, tokensCommand, ...ready], ignoreChanges: reason ? [] : ["stdin", "triggers[2]"] },
            );
            // Only the node ID is printed; it is no secret even though the command's stdin (the token) is.
            return { host, join, nodeId: pulumi.unsecret(join.stdout).apply((s) => s.trim()) };
        });

        const members = remote(
            `${name}-members`,
            {
                connection: operatorConnection,
                create: pulumi.all(joined.map((j) => j.nodeId)).apply((ids) =>
                    scripts.renderMembers({
                        operator: operator.name,
                        autolock: args.autolock,
                        nodes: joined.map((j, i) => ({
                            name: j.host.name,
                            role: j.host.role,
                            nodeId: ids[i],
                            availability: j.host.role === "manager" && args.drainManagers ? "drain" : "active",
                        })),
                    }),
                ),
                triggers: [clusterId, repairSlot(plan.membersRepair)],
            },
            { dependsOn: joined.map((j) => j.join), ignoreChanges: plan.membersRepair ? [] : ["triggers[1]"] },
        );

        this.workerJoinToken = pulumi.secret(tokens.apply((t) => t.worker));
        this.managerJoinToken = pulumi.secret(tokens.apply((t) => t.manager));
        this.unlockKey = pulumi.secret(tokens.apply((t) => t.unlockKey));
        this.leaderAddress = pulumi.output(operator.privateAddress);
        this.nodes = pulumi.all(
            joined.map(({ host, nodeId }) =>
                pulumi
                    .all([nodeId, host.privateAddress, host.sshAddress, host.connection.user, host.connection.hostKey])
                    .apply(([id, privateAddress, sshAddress, sshUser, hostKey]) => ({
                        name: host.name,
                        role: host.role,
                        nodeId: id,
                        privateAddress,
                        sshAddress,
                        sshUser,
                        hostKey,
                    })),
            ),
        );
        this.dockerHost = pulumi.interpolate`ssh://${operator.connection.user}@${operator.sshAddress}`;
        this.ready = members.stdout.apply(() => "ready");

        this.registerOutputs({
            workerJoinToken: this.workerJoinToken,
            managerJoinToken: this.managerJoinToken,
            unlockKey: this.unlockKey,
            leaderAddress: this.leaderAddress,
            nodes: this.nodes,
            dockerHost: this.dockerHost,
        });
    }
}

function logFinding(f: Finding, resource: pulumi.Resource) {
    const message = `swarmkit: ${f.message}`;
    if (f.level === "warn") pulumi.log.warn(message, resource);
    else pulumi.log.info(message, resource);
}
