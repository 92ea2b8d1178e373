import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost } from "../host";
import * as scripts from "./scripts";
import { Prober, SwarmObservation } from "./observe";
import { commandConnection } from "../ssh/connection";
import { Finding, SwarmPlan, planSwarm } from "./plan";
import { Rollout } from "./rollout";
import { Hardware } from "../hardware/types";
import { HostFirewalls } from "../firewall/hostFirewalls";
import { HostKeyChangedError, observeSwarm } from "./observe";
import { SEAMS, SwarmSeams } from "./seams";
import { NodeLabels, SwarmNetwork, dockerVersionProblems, labelsFor, nodeLabelsProblems, swarmNetworkProblems } from "./settings";
import { AfterSteps, engineMismatches, readAfterSteps } from "./engines";
import { LiveCheck, liveCheck } from "./verify";
import { probe } from "../ssh/probe";

export interface SwarmClusterArgs {
    /**
     * The hosts, managers first (the first manager founds the swarm), and the host firewall they get before the swarm
     * uses them: a hosts component of this package (`LabHosts`, `AwsHosts`, `ExistingHosts`, ...) or your own.
     */
    hardware: Hardware;
    /** Turn autolock on (default true): managers restarted need the unlock key. */
    autolock?: boolean;
    /** Keep tasks off the managers. Default: true when there are workers. */
    drainManagers?: boolean;
    /** Bumped to rotate both join tokens. */
    tokenRotation?: number;
    /**
     * The rolling replacement the hardware's machines take part in (`await Rollout.read(name)`, given to the hosts
     * component too): the cluster decides the order and releases the machines. Without one, no node rolls.
     */
    rollout?: Rollout;
    /**
     * The user's node labels: by role (`manager`, `worker`) and by host name (a host's own win). The kit adds its
     * own, `swarmkit.role`, and `swarmkit.zone` / `swarmkit.region` where the hardware knows them. Kept on the nodes:
     * re-applied when a node joins again, and a key dropped from here is removed (labels set by hand stay).
     */
    nodeLabels?: NodeLabels;
    /**
     * Address pools of the overlay networks (`docker swarm init --default-addr-pool`); Docker's default is
     * 10.0.0.0/8, which collides with networks in 10.0.0.0/8. Fixed when the swarm is founded: a change on a live
     * swarm is refused.
     */
    defaultAddrPool?: string[];
    /** Prefix length of each overlay network's subnet taken from the pools (Docker's default 24). Fixed at founding. */
    defaultAddrPoolMaskLength?: number;
    /** Bumped to rotate the unlock key (autolock): `unlockKey` becomes the new key. */
    unlockKeyRotation?: number;
    /** Bumped to rotate the swarm's root CA; the step waits until every node holds a certificate of the new CA. */
    caRotation?: number;
    /**
     * The Docker engine version the nodes must run ("26.1", "26.1.5"): after each `up` a node that runs another
     * version is reported (a warning, and the live check fails). The hardware installs it (`docker` of the hosts).
     */
    dockerVersion?: string;
}

/** The cluster's args as the declaration reads them: defaults filled in, and what the read of the live machines found. */
interface DeclareArgs {
    hosts: SwarmHost[];
    autolock: boolean;
    drainManagers: boolean;
    tokenRotation?: number;
    unlockKeyRotation?: number;
    caRotation?: number;
    nodeLabels: NodeLabels;
    network: SwarmNetwork;
    dockerVersion?: string;
    machinesOutlive: boolean;
    engineProber?: Prober;
    observation?: SwarmObservation;
    hostReady: Record<string, pulumi.Input<pulumi.Resource>[]>;
}

/**
 * What a cluster's last deployment records for the next one (export it, under any name, for rolling replacements:
 * `Rollout.read(name)` finds it among the stack's outputs). Secret: it carries the tokens.
 */
export interface SwarmDeployment {
    /** The SwarmCluster's name. */
    cluster: string;
    nodes: SwarmNode[];
    workerJoinToken: string;
    managerJoinToken: string;
    unlockKey: string;
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
    /** The settings that made its machine: a later change of them rolls the node. */
    machineSpec: string;
}

interface Tokens {
    worker: string;
    manager: string;
    unlockKey: string;
}

/** The trigger slot that carries a repair; ignored unless the plan repairs the step (see plan.ts). */
const REPAIR = "swarmkit: nothing to repair";

/**
 * Turns a set of hosts into a Docker Swarm over SSH. First, before any step is declared, it reads the live machines
 * (what the run finds is logged, and a changed host key stops the run before anything talks to that host). Then each
 * host gets its firewall step, the first manager founds the swarm, every node runs its join step (in parallel: it
 * joins, or unlocks a manager that came back locked), one step on the operating manager makes the member list match
 * the hosts (removes stale entries, promotes managers one at a time waiting until each is Reachable, sets
 * availability), and the join tokens and the unlock key are read into secrets.
 *
 * Nothing runs on a host when the stack is destroyed: the machines go with it, so no step can hang on a host that is
 * already gone. Machines that outlive the cluster (`hardware.machinesOutlive`, your own hosts) are the exception:
 * each node leaves the swarm and its firewall is removed. A host removed from the hosts is taken out of the swarm by
 * the members step, before its machine is deleted.
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
    /** Secret. What the next deployment reads to roll machines one node at a time: export it (see SwarmDeployment). */
    public readonly deployment: pulumi.Output<SwarmDeployment>;
    /** By host name, the Docker engine version each node runs, read from the swarm once its steps are done. */
    public readonly engineVersions: pulumi.Output<Record<string, string>>;
    /** The live swarm against the config, read once every step is done; undefined when the operator could not be read. */
    public readonly liveCheck: pulumi.Output<LiveCheck | undefined>;
    /** What this run found on the machines and repairs (also logged). */
    public readonly plan: Promise<SwarmPlan>;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:swarm:SwarmCluster", name, {}, opts);
        const hosts = args.hardware.hosts;
        const managers = hosts.filter((h) => h.role === "manager");
        if (managers.length === 0) throw new pulumi.RunError(`SwarmCluster ${name}: the hosts have no manager`);
        if (new Set(hosts.map((h) => h.name)).size !== hosts.length) throw new pulumi.RunError(`SwarmCluster ${name}: host names must be unique`);
        const network: SwarmNetwork = {
            defaultAddrPool: args.defaultAddrPool,
            defaultAddrPoolMaskLength: args.defaultAddrPoolMaskLength,
            // The port the hardware's firewalls open for overlay traffic.
            dataPathPort: args.hardware.dataPathPort,
        };
        const problems = [
            ...nodeLabelsProblems(args.nodeLabels, hosts.map((h) => h.name)),
            ...swarmNetworkProblems(network),
            ...dockerVersionProblems(args.dockerVersion),
        ];
        if (problems.length > 0) throw new pulumi.RunError(`SwarmCluster ${name}: invalid args:\n  - ${problems.join("\n  - ")}`);
        const rollout = args.rollout ?? new Rollout();
        const seams: SwarmSeams = (args as { [SEAMS]?: SwarmSeams })[SEAMS] ?? {};
        const base = {
            hosts,
            autolock: args.autolock ?? true,
            drainManagers: args.drainManagers ?? hosts.some((h) => h.role === "worker"),
            tokenRotation: args.tokenRotation,
            unlockKeyRotation: args.unlockKeyRotation,
            caRotation: args.caRotation,
            nodeLabels: args.nodeLabels ?? {},
            network,
            dockerVersion: args.dockerVersion,
            machinesOutlive: args.hardware.machinesOutlive ?? false,
            // Unit tests that hand in an observation read no machine, unless they stand in for SSH too.
            engineProber: "observation" in seams && !seams.prober ? undefined : seams.prober ?? probe,
        };
        const firewall = (): Record<string, pulumi.Input<pulumi.Resource>[]> => {
            if (seams.hostReady) return seams.hostReady;
            if (args.hardware.firewall === undefined) return {};
            const steps = new HostFirewalls(`${name}-firewall`, { hosts, rules: args.hardware.firewall, removeOnDestroy: base.machinesOutlive }, { parent: this }).steps;
            return Object.fromEntries(Object.entries(steps).map(([host, step]) => [host, [step]]));
        };
        const declare = (observation: SwarmObservation | undefined) => {
            try {
                return this.declare(name, { ...base, observation, hostReady: firewall() }, rollout);
            } catch (err) {
                rollout.releaseAll();
                throw err;
            }
        };

        let declared: Promise<ReturnType<SwarmCluster["declare"]>>;
        if ("observation" in seams) {
            declared = Promise.resolve(declare(seams.observation));
        } else {
            // The read is asynchronous (SSH): the steps are declared once it is done. The keep-alive holds the program
            // open until then, whatever the program itself awaits.
            const done = pulumi.runtime.rpcKeepAlive();
            declared = observeSwarm(hosts, {
                prober: seams.prober,
                replaced: (host) => (rollout.rolling(host) ? rollout.previousNode(host) : undefined),
            })
                .catch((err) => {
                    rollout.releaseAll();
                    if (err instanceof HostKeyChangedError) throw new pulumi.RunError(err.message);
                    throw err;
                })
                .then(declare)
                .finally(done);
        }
        // One output per field, each lifted from its own promise: each keeps its own secretness and dependencies.
        type Declared = Awaited<typeof declared>;
        const field = <K extends keyof Declared>(key: K) => pulumi.output(declared.then((d) => d[key]));
        this.plan = declared.then((d) => d.plan);
        this.workerJoinToken = field("workerJoinToken");
        this.managerJoinToken = field("managerJoinToken");
        this.unlockKey = field("unlockKey");
        this.leaderAddress = field("leaderAddress");
        this.nodes = field("nodes");
        this.dockerHost = field("dockerHost");
        this.ready = field("ready");
        this.engineVersions = field("engineVersions");
        this.liveCheck = field("liveCheck");
        this.deployment = pulumi.secret(
            pulumi.all([this.nodes, this.workerJoinToken, this.managerJoinToken, this.unlockKey]).apply(([nodes, workerJoinToken, managerJoinToken, unlockKey]) => ({
                cluster: name,
                nodes,
                workerJoinToken,
                managerJoinToken,
                unlockKey,
            })),
        );
        this.registerOutputs({
            workerJoinToken: this.workerJoinToken,
            managerJoinToken: this.managerJoinToken,
            unlockKey: this.unlockKey,
            leaderAddress: this.leaderAddress,
            nodes: this.nodes,
            dockerHost: this.dockerHost,
            engineVersions: this.engineVersions,
            liveCheck: this.liveCheck,
        });
    }

    private declare(name: string, args: DeclareArgs, rollout: Rollout) {
        const managers = args.hosts.filter((h) => h.role === "manager");
        const founder = managers[0];

        const plan = planSwarm(
            {
                hosts: args.hosts.map((h) => ({ name: h.name, role: h.role, machineStatus: h.machineStatus, rolling: rollout.rolling(h.name) })),
                autolock: args.autolock,
                drainManagers: args.drainManagers,
                network: args.network,
                previousManagers: rollout.previous?.nodes.filter((n) => n.role === "manager").map((n) => n.name),
                recordedNodeIds: Object.fromEntries(args.hosts.map((h) => [h.name, rollout.previousNode(h.name)?.nodeId])),
            },
            args.observation,
        );
        for (const f of plan.findings) logFinding(f, this);
        if (plan.refusal) throw new pulumi.RunError(`swarmkit: ${plan.refusal}`);
        const operator = managers.find((m) => m.name === plan.operator) ?? founder;
        const chain = rollout.order(args.hosts, operator.name);
        const at = (host: SwarmHost) => chain.indexOf(host.name);
        const previousTokens = rollout.previous?.tokens;

        const remote = (resourceName: string, cmdArgs: command.remote.CommandArgs, extra?: pulumi.CustomResourceOptions) =>
            new command.remote.Command(resourceName, { addPreviousOutputInEnv: false, ...cmdArgs }, { parent: this, ...extra });
        // A repair gives the step's last trigger a new value; otherwise that slot is ignored and the step stays as it is.
        const repairSlot = (reason: string | undefined) => (reason ? `repair: ${reason} (${new Date().toISOString()})` : REPAIR);
        const ready = (host: SwarmHost) => args.hostReady[host.name] ?? [];
        // A rolling node's old machine, as the last deployment left it: reachable while its new machine is made.
        const before = (host: SwarmHost) => {
            const node = rollout.previousNode(host.name);
            if (!node) throw new Error(`SwarmCluster: ${host.name} rolls but the last deployment has no record of it`);
            return node;
        };
        const lastConnection = (host: SwarmHost): command.types.input.remote.ConnectionArgs => ({
            ...commandConnection(host),
            host: before(host).sshAddress,
            user: before(host).sshUser,
            hostKey: before(host).hostKey,
        });

        // A rolling founder's new machine is made late in the roll; init is never run again for it (its inputs are
        // ignored), so it is declared with the old machine's and waits for nothing.
        const founderRolls = at(founder) >= 0;
        const init = remote(
            `${name}-init-${founder.name}`,
            {
                connection: founderRolls ? lastConnection(founder) : commandConnection(founder),
                create: pulumi
                    .output(founderRolls ? before(founder).privateAddress : founder.privateAddress)
                    .apply((advertiseAddress) => scripts.renderInit({ host: founder.name, advertiseAddress, autolock: args.autolock, ...args.network })),
                triggers: [repairSlot(plan.refound)],
            },
            // The swarm is founded once: a changed address, autolock or first machine never founds another one (the
            // new machine joins the swarm through a surviving manager). Only a refound re-runs it.
            { dependsOn: founderRolls ? [] : ready(founder), ignoreChanges: plan.refound ? [] : ["create", "connection", "triggers[0]"] },
        );
        const initInfo = init.stdout.apply((out) => JSON.parse(out) as { nodeId: string; clusterId: string });
        const clusterId = initInfo.apply((i) => i.clusterId);
        const operatorConnection = commandConnection(operator);

        // Every node's settle step, the rolling nodes' first, in the roll's order.
        const settled: Record<string, command.remote.Command> = {};

        const joinStep = (host: SwarmHost, stdin: pulumi.Output<string>, dependsOn: pulumi.Input<pulumi.Resource>[]) => {
            const reason = plan.nodeRepairs[host.name];
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
                { dependsOn: [init, ...dependsOn], ignoreChanges: reason ? [] : ["stdin", "triggers[2]"] },
            );
            // Only the node ID is printed; it is no secret even though the command's stdin (the token) is.
            return { host, join, nodeId: pulumi.unsecret(join.stdout).apply((s) => s.trim()) };
        };
        const availability = (host: SwarmHost) => (host.role === "manager" && args.drainManagers ? "drain" : "active");
        // A manager settles itself; a worker is settled by the operator.
        const settleStep = (j: { host: SwarmHost; join: command.remote.Command; nodeId: pulumi.Output<string> }) => {
            const { host } = j;
            const self = host.role === "manager";
            return remote(
                `${name}-settle-${host.name}`,
                {
                    connection: self ? commandConnection(host) : operatorConnection,
                    create: self
                        ? scripts.renderSettle({ host: host.name, role: host.role, availability: availability(host), runsOn: host.name })
                        : j.nodeId.apply((nodeId) =>
                              scripts.renderSettle({ host: host.name, role: host.role, availability: availability(host), nodeId, runsOn: operator.name }),
                          ),
                    triggers: [host.machineId, clusterId],
                },
                { dependsOn: [j.join] },
            );
        };
        // A node that does not roll has a settle step too, so that the set of steps stays the same from run to run,
        // but it runs nothing (no command, so no SSH): the members step has already set its entry right. Its
        // inputs are ignored, so the step a roll left behind stays as it is; the next roll replaces it.
        const settlePlaceholder = (j: { host: SwarmHost; join: command.remote.Command }) =>
            remote(
                `${name}-settle-${j.host.name}`,
                { connection: commandConnection(j.host), triggers: [clusterId] },
                { dependsOn: [j.join, members], ignoreChanges: ["create", "connection", "triggers"] },
            );

        // The rolling nodes first, one after the other: each joins with the last deployment's tokens (a manager
        // with the manager token, so that it is a manager as soon as it is in), through the managers that are final
        // by then, and settles before the next machine is made.
        const joined = new Map<string, ReturnType<typeof joinStep>>();
        const joinOrder = [operator, ...managers.filter((m) => m !== operator)];
        for (const hostName of chain) {
            const host = args.hosts.find((h) => h.name === hostName) as SwarmHost;
            if (!previousTokens) throw new Error("SwarmCluster: a roll needs the last deployment's tokens");
            const position = at(host);
            const addresses = pulumi.all(
                joinOrder.map((m) => (at(m) >= 0 && at(m) >= position ? pulumi.output(before(m).privateAddress) : pulumi.output(m.privateAddress))),
            );
            const stdin = pulumi.secret(
                addresses.apply((managerAddresses) =>
                    scripts.nodeStepInput({
                        joinToken: host.role === "manager" ? previousTokens.manager : previousTokens.worker,
                        unlockKey: host.role === "manager" ? previousTokens.unlockKey : "",
                        leaveFirst: false,
                        managerAddresses,
                    }),
                ),
            );
            const j = joinStep(host, stdin, ready(host));
            joined.set(host.name, j);
            settled[host.name] = settleStep(j);
        }
        // The roll's end. Rotation, the tokens read and the members step wait for it: the rolling nodes join with the
        // last deployment's tokens, and the member list is made right once every machine is in.
        const rollDone = chain.length > 0 ? [settled[chain[chain.length - 1]]] : [];

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
                      // Not while nodes join with the tokens of the last deployment.
                      { dependsOn: [init, ...rollDone] },
                  )
                : undefined;
        // The unlock key rotates like the tokens: when unlockKeyRotation changes, and only then.
        const unlockRotation = args.unlockKeyRotation ?? 0;
        const rotateUnlockKey =
            unlockRotation > 0
                ? remote(
                      `${name}-rotate-unlock-key`,
                      { connection: operatorConnection, create: scripts.renderRotateUnlockKey({ host: operator.name }), update: "true", triggers: [clusterId, unlockRotation] },
                      { dependsOn: [init, ...rollDone] },
                  )
                : undefined;
        const tokensStep = remote(
            `${name}-tokens`,
            {
                connection: operatorConnection,
                create: scripts.renderTokens({ host: operator.name }),
                // The unlock key's rotation is a third slot only once used, so that existing stacks' step stays as it is.
                triggers: [clusterId, args.autolock, rotation, ...(unlockRotation > 0 ? [unlockRotation] : [])],
                logging: "none",
            },
            {
                additionalSecretOutputs: ["stdout", "stderr"],
                dependsOn: [init, ...(rotate ? [rotate] : []), ...(rotateUnlockKey ? [rotateUnlockKey] : []), ...rollDone],
            },
        );
        // Secret explicitly as well: additionalSecretOutputs is applied by the engine, not by every code path.
        const tokens = pulumi.secret(tokensStep.stdout).apply((out) => JSON.parse(out) as Tokens);

        // Every other node joins in parallel, the operator first in the list of managers to join through: a join
        // through it never waits on a lost manager.
        const managerAddresses = pulumi.all(joinOrder.map((m) => pulumi.output(m.privateAddress)));
        for (const host of args.hosts) {
            if (joined.has(host.name)) continue;
            const stdin = pulumi.secret(
                pulumi.all([tokens, managerAddresses]).apply(([t, addresses]) =>
                    scripts.nodeStepInput({
                        joinToken: t.worker,
                        unlockKey: host.role === "manager" ? t.unlockKey : "",
                        leaveFirst: plan.leaveFirst.includes(host.name),
                        managerAddresses: addresses,
                    }),
                ),
            );
            joined.set(host.name, joinStep(host, stdin, [tokensStep, ...ready(host)]));
        }
        const all = args.hosts.map((h) => joined.get(h.name) as ReturnType<typeof joinStep>);

        const places = pulumi.all(all.map((j) => pulumi.all([j.host.zone, j.host.region])));
        const members = remote(
            `${name}-members`,
            {
                connection: operatorConnection,
                create: pulumi.all([pulumi.all(all.map((j) => j.nodeId)), places]).apply(([ids, where]) =>
                    scripts.renderMembers({
                        operator: operator.name,
                        autolock: args.autolock,
                        nodes: all.map((j, i) => ({
                            name: j.host.name,
                            role: j.host.role,
                            nodeId: ids[i],
                            availability: availability(j.host),
                            labels: labelsFor({ name: j.host.name, role: j.host.role, zone: where[i][0], region: where[i][1] }, args.nodeLabels),
                        })),
                    }),
                ),
                triggers: [clusterId, repairSlot(plan.membersRepair)],
            },
            { dependsOn: [...all.map((j) => j.join), ...rollDone], ignoreChanges: plan.membersRepair ? [] : ["triggers[1]"] },
        );
        for (const j of all) if (!settled[j.host.name]) settled[j.host.name] = settlePlaceholder(j);
        // The root CA rotates when caRotation changes, once every node is in: the rotation waits for each of them.
        const caRotation = args.caRotation ?? 0;
        let rotateCa: command.remote.Command | undefined;
        if (caRotation > 0) {
            rotateCa = remote(
                `${name}-rotate-ca`,
                { connection: operatorConnection, create: scripts.renderRotateCa({ host: operator.name }), update: "true", triggers: [clusterId, caRotation] },
                { dependsOn: [members, ...Object.values(settled)] },
            );
        }
        // Machines that outlive the cluster get a step that does nothing now and, on destroy (it goes first, as it
        // depends on every other step of its node), takes the node out of the swarm.
        if (args.machinesOutlive) {
            for (const j of all) {
                remote(
                    `${name}-leave-${j.host.name}`,
                    { connection: commandConnection(j.host), create: "true", delete: scripts.renderLeave({ host: j.host.name }), triggers: [j.host.machineId] },
                    { dependsOn: [settled[j.host.name], members, tokensStep] },
                );
            }
        }
        rollout.release(chain, settled);
        if (chain.length > 0) pulumi.log.info(`swarmkit: rolling replacement, one node at a time: ${chain.join(" → ")}`, this);

        const nodes = pulumi.all(
            all.map(({ host, nodeId }) =>
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
                        machineSpec: host.machineSpec ?? "",
                    })),
            ),
        );
        const swarmReady = pulumi.all([...Object.values(settled).map((s) => s.stdout), ...(rotateCa ? [rotateCa.stdout] : [])]).apply(() => "ready");
        const prober = args.engineProber;
        const afterSteps = swarmReady.apply(async (): Promise<AfterSteps> => (prober ? readAfterSteps(operator, prober) : { versions: {} }));
        const engineVersions = afterSteps.apply(({ versions }) => {
            if (args.dockerVersion) {
                for (const m of engineMismatches(versions, args.hosts.map((h) => h.name), args.dockerVersion)) pulumi.log.warn(`swarmkit: ${m}`, this);
            }
            return versions;
        });
        const expectation = { hosts: args.hosts.map((h) => ({ name: h.name, role: h.role })), autolock: args.autolock, drainManagers: args.drainManagers, dockerVersion: args.dockerVersion };
        const live = afterSteps.apply(({ live }) => (live ? liveCheck(expectation, live) : undefined));
        return {
            engineVersions,
            liveCheck: live,
            workerJoinToken: pulumi.secret(tokens.apply((t) => t.worker)),
            managerJoinToken: pulumi.secret(tokens.apply((t) => t.manager)),
            unlockKey: pulumi.secret(tokens.apply((t) => t.unlockKey)),
            leaderAddress: pulumi.output(operator.privateAddress),
            nodes,
            dockerHost: pulumi.interpolate`ssh://${operator.connection.user}@${operator.sshAddress}`,
            ready: swarmReady,
            plan,
        };
    }
}

function logFinding(f: Finding, resource: pulumi.Resource) {
    const message = `swarmkit: ${f.message}`;
    if (f.level === "warn") pulumi.log.warn(message, resource);
    else pulumi.log.info(message, resource);
}
