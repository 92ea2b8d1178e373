import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost } from "../host";
import * as scripts from "./scripts";
import { ManagerProbe, chooseOperator, sshManagerProbe } from "./operator";

export interface SwarmClusterArgs {
    /** Managers first: the first manager initialises the swarm and runs the leader-side steps. */
    hosts: SwarmHost[];
    /** Turn autolock on (the default): managers restarted need the unlock key. */
    autolock: boolean;
    /** Keep tasks off the managers. */
    drainManagers: boolean;
    /** Bumped to rotate both join tokens. */
    tokenRotation?: number;
    /** How to tell whether a manager can act for the swarm; SSH `docker info` by default (tests inject one). */
    probe?: ManagerProbe;
}

export interface SwarmNode {
    name: string;
    role: "manager" | "worker";
    nodeId: string;
    privateAddress: string;
    sshAddress: string;
}

interface Tokens {
    worker: string;
    manager: string;
    unlockKey: string;
}

/**
 * Turns a set of hosts into a Docker Swarm over SSH, in order: init on the first manager, every other node joins
 * (in parallel), managers are promoted one at a time, availability is set (managers drained), and the join
 * tokens and unlock key are read into secrets.
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

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:swarm:SwarmCluster", name, {}, opts);
        const managers = args.hosts.filter((h) => h.role === "manager");
        const workers = args.hosts.filter((h) => h.role === "worker");
        if (managers.length === 0) throw new Error("SwarmCluster needs at least one manager host");
        const names = new Set(args.hosts.map((h) => h.name));
        if (names.size !== args.hosts.length) throw new Error("SwarmCluster host names must be unique");
        const [leader, ...otherManagers] = managers;

        const connectionOf = (host: SwarmHost): command.types.input.remote.ConnectionArgs => ({
            host: host.connection.host,
            port: host.connection.port ?? 22,
            user: host.connection.user,
            privateKey: pulumi.secret(host.connection.privateKey),
            // Machines may still be booting: keep dialling for about a minute and a half instead of ten tries.
            dialErrorLimit: host.connection.dialErrorLimit ?? 90,
            perDialTimeout: host.connection.perDialTimeout ?? 10,
        });
        const remote = (resourceName: string, cmdArgs: command.remote.CommandArgs, extra?: pulumi.CustomResourceOptions) =>
            new command.remote.Command(
                resourceName,
                { addPreviousOutputInEnv: false, ...cmdArgs },
                { parent: this, ...extra },
            );

        const init = remote(`${name}-init-${leader.name}`, {
            connection: connectionOf(leader),
            create: pulumi.output(leader.privateAddress).apply((advertiseAddress) =>
                scripts.renderInit({ host: leader.name, advertiseAddress, autolock: args.autolock }),
            ),
            triggers: [leader.machineId],
        });
        const initInfo = init.stdout.apply((out) => JSON.parse(out) as { nodeId: string; clusterId: string });
        const clusterId = initInfo.apply((i) => i.clusterId);

        // Leader-side steps run through the first manager, or the first surviving one when it is lost. Probed
        // once init is done, so a healthy swarm costs one SSH round trip and a new one never waits on the probe.
        const probe = args.probe ?? sshManagerProbe;
        const targets = pulumi.all(
            managers.map((m) =>
                pulumi
                    .all([m.connection.host, m.connection.port ?? 22, m.connection.user, m.connection.privateKey])
                    .apply(([host, port, user, privateKey]) => ({ host, port, user, privateKey })),
            ),
        );
        const operatorIndex = pulumi.all([init.stdout, targets]).apply(([, list]) => chooseOperator(list, probe));
        // Which manager operates is not secret, even though the probe needed the private key.
        const operatorOf = (pick: (m: SwarmHost) => pulumi.Input<string>): pulumi.Output<string> =>
            pulumi.unsecret(operatorIndex).apply((i) => pulumi.output(pick(managers[i])));
        const managerConnections = managers.map((m) => pulumi.output(connectionOf(m)));
        const operatorConnection = pulumi.unsecret(operatorIndex).apply((i) => managerConnections[i]);
        const operatorName = operatorOf((m) => m.name);

        // Rotation runs when tokenRotation changes, and only then: a change of operator updates the step with a
        // no-op instead of rotating again.
        const rotation = args.tokenRotation ?? 0;
        const rotate =
            rotation > 0
                ? remote(
                      `${name}-rotate-tokens`,
                      {
                          connection: operatorConnection,
                          create: operatorName.apply((host) => scripts.renderRotateTokens({ host })),
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
                create: operatorName.apply((host) => scripts.renderTokens({ host })),
                triggers: [clusterId, args.autolock, rotation],
                logging: "none",
            },
            { additionalSecretOutputs: ["stdout", "stderr"], dependsOn: rotate ? [init, rotate] : [init] },
        );
        // Secret explicitly as well: additionalSecretOutputs is applied by the engine, not by every code path.
        const tokens = pulumi.secret(tokensCommand.stdout).apply((out) => JSON.parse(out) as Tokens);
        const workerToken = pulumi.secret(tokens.apply((t) => t.worker));

        const managerAddresses = pulumi.all(managers.map((m) => pulumi.output(m.privateAddress)));
        const joined = [...otherManagers, ...workers].map((host) => {
            const join = remote(
                `${name}-join-${host.name}`,
                {
                    connection: connectionOf(host),
                    create: pulumi
                        .all([host.privateAddress, managerAddresses])
                        .apply(([advertiseAddress, addresses]) =>
                            scripts.renderJoin({ host: host.name, advertiseAddress, managerAddresses: addresses }),
                        ),
                    delete: scripts.renderLeave({ host: host.name }),
                    stdin: workerToken,
                    triggers: [host.machineId, clusterId],
                },
                { dependsOn: [init, tokensCommand], deleteBeforeReplace: true },
            );
            // Only the node ID is printed; it is no secret even though the command's stdin (the token) is.
            return { host, join, nodeId: pulumi.unsecret(join.stdout).apply((s) => s.trim()) };
        });

        // Managers are promoted one after the other (each waits for the previous one to be Reachable), so the
        // raft group grows one member at a time; workers register in parallel.
        let previousManager: pulumi.Resource = init;
        const members = joined.map(({ host, join, nodeId }) => {
            const memberArgs = pulumi
                .all([nodeId, operatorName])
                .apply(([id, operator]) => ({ leader: operator, host: host.name, role: host.role, nodeId: id }));
            const member = remote(
                `${name}-${host.role === "manager" ? "promote" : "register"}-${host.name}`,
                {
                    connection: operatorConnection,
                    create: memberArgs.apply(scripts.renderMember),
                    delete: memberArgs.apply(scripts.renderRemoveMember),
                    triggers: [nodeId],
                },
                { dependsOn: host.role === "manager" ? [join, previousManager] : [join], deleteBeforeReplace: true },
            );
            if (host.role === "manager") previousManager = member;
            return member;
        });

        const allNodes = [
            { host: leader, nodeId: initInfo.apply((i) => i.nodeId) },
            ...joined.map(({ host, nodeId }) => ({ host, nodeId })),
        ];
        const availability = remote(
            `${name}-availability`,
            {
                connection: operatorConnection,
                create: pulumi.all([operatorName, ...allNodes.map((n) => n.nodeId)]).apply(([operator, ...ids]) =>
                    scripts.renderAvailability({
                        leader: operator,
                        nodes: allNodes.map((n, i) => ({
                            name: n.host.name,
                            nodeId: ids[i],
                            availability: n.host.role === "manager" && args.drainManagers ? "drain" : "active",
                        })),
                    }),
                ),
            },
            { dependsOn: [init, ...members] },
        );

        this.workerJoinToken = workerToken;
        this.managerJoinToken = pulumi.secret(tokens.apply((t) => t.manager));
        this.unlockKey = pulumi.secret(tokens.apply((t) => t.unlockKey));
        this.leaderAddress = operatorOf((m) => m.privateAddress);
        this.nodes = pulumi.all(
            allNodes.map((n) =>
                pulumi.all([n.nodeId, n.host.privateAddress, n.host.sshAddress]).apply(([nodeId, privateAddress, sshAddress]) => ({
                    name: n.host.name,
                    role: n.host.role,
                    nodeId,
                    privateAddress,
                    sshAddress,
                })),
            ),
        );
        this.dockerHost = pulumi.interpolate`ssh://${operatorOf((m) => m.connection.user)}@${operatorOf((m) => m.sshAddress)}`;
        this.ready = availability.stdout.apply(() => "ready");

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
