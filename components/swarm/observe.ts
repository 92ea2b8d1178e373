/**
 * What the live swarm looks like, read before the swarm's steps are declared, so that `pulumi preview` and
 * `pulumi up` plan from the machines as they are rather than from the state file. Read-only.
 *
 * A healthy swarm costs one round of reads in parallel: every node's own state (`docker info`: a manager that came
 * back locked, a node that left a moment ago while the managers still list it Ready) and, from the first manager,
 * the node list. When the first manager cannot act, the list is read from the first one that can. Every read checks
 * the host key. Hosts the hardware reports as new have nothing to read and are skipped without waiting for them.
 */
import * as pulumi from "@pulumi/pulumi";
import { SwarmHost } from "../host";
import { ProbeTarget, probe } from "../ssh/probe";
import { renderRead } from "./scripts";
import { SwarmNetwork } from "./settings";

export type LocalState = "inactive" | "pending" | "active" | "locked" | "error" | "engine-down";

/** A node's own view, from `docker info` on it. */
export interface LocalSwarm {
    state: LocalState;
    nodeId?: string;
    /** Only managers know it. */
    clusterId?: string;
    controlAvailable?: boolean;
    /** Addresses ("ip:2377") of the managers the node talks to. */
    remoteManagers?: string[];
    /** A manager's view of the swarm's autolock setting. */
    autolock?: boolean;
    /** A manager's view of the network settings swarm fixed at init. */
    network?: Required<SwarmNetwork>;
    /** A manager that runs but whose swarm has no leader: what docker said (its node list could not be read). */
    error?: string;
}

/** One entry of `docker node ls` on the operating manager. */
export interface NodeEntry {
    id: string;
    hostname: string;
    /** Ready, Down, Unknown. */
    status: string;
    /** Active, Drain, Pause. */
    availability: string;
    /** Leader, Reachable, Unreachable, or "" for a worker. */
    managerStatus: string;
    /** The Docker engine version the node runs. */
    engineVersion?: string;
}

export interface HostProbe {
    /** SSH answered and the host key matched. */
    reachable: boolean;
    /** Why it did not. */
    error?: string;
    /** Its own swarm state, when it was read. */
    local?: LocalSwarm;
}

export interface SwarmObservation {
    /** By host name; only the hosts that were looked at. */
    hosts: Record<string, HostProbe>;
    /** The manager whose node list this is: the first one that can act for the swarm. */
    operator?: string;
    nodes?: NodeEntry[];
    /** Private addresses of the hosts that were looked at: tell this swarm's managers from another's. */
    privateAddresses: Record<string, string>;
}

/** A changed host key stops the run before anything talks to the host again. */
export class HostKeyChangedError extends Error {
    constructor(readonly host: string, address: string, expected: string, presented: string) {
        super(
            `swarmkit: host ${host} (${address}): its SSH host key changed: pinned ${expected}, now presents ${presented}. ` +
                `Nothing was sent to it. If the machine was rebuilt on purpose, replace its resources so that its new key is pinned ` +
                `(pulumi up --replace <the host's urn>); otherwise find out who answers on ${address}.`,
        );
        this.name = "HostKeyChangedError";
    }
}

export function parseRead(stdout: string): { local: LocalSwarm; nodes?: NodeEntry[] } {
    const lines = stdout.split("\n");
    const swarmLine = lines.find((l) => l.startsWith("SWARM "));
    const raw = swarmLine ? swarmLine.slice("SWARM ".length).trim() : "null";
    const info = raw === "null" || raw === "" ? undefined : (JSON.parse(raw) as Record<string, any>);
    if (!info) return { local: { state: "engine-down" } };
    const local: LocalSwarm = {
        state: (info.LocalNodeState || "inactive") as LocalState,
        nodeId: info.NodeID || undefined,
        clusterId: info.Cluster?.ID || undefined,
        controlAvailable: info.ControlAvailable === true,
        remoteManagers: (info.RemoteManagers ?? []).map((m: { Addr: string }) => m.Addr),
        autolock: info.Cluster?.Spec?.EncryptionConfig?.AutoLockManagers,
        ...(info.Error ? { error: info.Error as string } : {}),
    };
    // Engines before 19.03 do not say.
    if (Array.isArray(info.Cluster?.DefaultAddrPool) && info.Cluster.DataPathPort !== undefined) {
        local.network = {
            defaultAddrPool: info.Cluster.DefaultAddrPool ?? [],
            defaultAddrPoolMaskLength: info.Cluster.SubnetSize ?? 0,
            dataPathPort: info.Cluster.DataPathPort ?? 0,
        };
    }
    const nodeLines = lines.filter((l) => l.startsWith("NODE "));
    const nodes = nodeLines.length
        ? nodeLines.map((l) => {
              const n = JSON.parse(l.slice("NODE ".length)) as Record<string, string>;
              return { id: n.ID, hostname: n.Hostname, status: n.Status, availability: n.Availability, managerStatus: n.ManagerStatus ?? "", ...(n.EngineVersion ? { engineVersion: n.EngineVersion } : {}) };
          })
        : undefined;
    return { local, nodes };
}

/** The value of an output, or undefined when it is not known yet (a preview of a machine still to be made). */
export async function known<T>(input: pulumi.Input<T>): Promise<T | undefined> {
    const output = pulumi.output(input) as pulumi.Output<T> & { isKnown: Promise<boolean>; promise(): Promise<T> };
    // isKnown and promise() are the SDK's own accessors on an Output: the program waits for the hardware's result
    // (in a preview, a machine still to be made has none) before it plans the swarm.
    if (!(await output.isKnown)) return undefined;
    return output.promise();
}

export async function probeTarget(host: SwarmHost): Promise<ProbeTarget | undefined> {
    const c = host.connection;
    // The machine id comes once the hardware handed the machine over (a cloud VM after its readiness check): a
    // machine still booting is not read.
    if ((await known(host.machineId)) === undefined) return undefined;
    const [address, port, user, privateKey, hostKey] = await Promise.all([
        known(c.host),
        known(c.port ?? 22),
        known(c.user),
        known(c.privateKey),
        known(c.hostKey),
    ]);
    if (!address || !user || !privateKey || !hostKey) return undefined;
    return { name: host.name, host: address, port: port ?? 22, user, privateKey, hostKey };
}

export type Prober = typeof probe;

/** A machine as the last deployment left it: where a rolling node's old machine is read (rollout.ts). */
export interface KnownMachine {
    sshAddress: string;
    sshUser: string;
    hostKey: string;
    privateAddress: string;
}

export interface ObserveOptions {
    prober?: Prober;
    /**
     * The old machine of a node whose machine this run replaces, or undefined. Such a node is read there, and not
     * through its hardware's outputs: those come only once its turn in the roll has come.
     */
    replaced?: (name: string) => KnownMachine | undefined;
}

export async function observeSwarm(hosts: SwarmHost[], options: ObserveOptions = {}): Promise<SwarmObservation> {
    const prober = options.prober ?? probe;
    const replaced = options.replaced ?? (() => undefined);
    const observation: SwarmObservation = { hosts: {}, privateAddresses: {} };
    const looked = hosts.filter((h) => h.machineStatus !== "new" || replaced(h.name));
    const targets = new Map<string, ProbeTarget>();
    const oldMachine = async (h: SwarmHost, m: KnownMachine): Promise<[ProbeTarget | undefined, string]> => {
        const privateKey = await known(h.connection.privateKey);
        const port = (await known(h.connection.port ?? 22)) ?? 22;
        const target = privateKey ? { name: h.name, host: m.sshAddress, port, user: m.sshUser, privateKey, hostKey: m.hostKey } : undefined;
        return [target, m.privateAddress];
    };
    await Promise.all(
        looked.map(async (h) => {
            const old = replaced(h.name);
            const [t, address] = old ? await oldMachine(h, old) : await Promise.all([probeTarget(h), known(h.privateAddress)]);
            if (t) targets.set(h.name, t);
            if (address) observation.privateAddresses[h.name] = address;
        }),
    );
    const read = async (host: SwarmHost, listNodes: boolean) => {
        const target = targets.get(host.name);
        if (!target) return undefined;
        const result = await prober(target, renderRead(listNodes));
        if (result.kind === "hostKeyMismatch") throw new HostKeyChangedError(host.name, `${target.host}:${target.port}`, result.expected, result.presented);
        if (result.kind === "unreachable") {
            observation.hosts[host.name] = { reachable: false, error: result.error };
            return undefined;
        }
        const parsed = parseRead(result.stdout);
        observation.hosts[host.name] = { reachable: true, local: parsed.local };
        return parsed;
    };
    const first = looked.find((h) => h.role === "manager");
    const reads = await Promise.all(looked.map((h) => read(h, h === first)));
    // The operator: the first manager, in config order, that can act for the swarm.
    const operatorIndex = looked.findIndex((h, i) => h.role === "manager" && reads[i]?.local.controlAvailable);
    if (operatorIndex >= 0) {
        const operator = looked[operatorIndex];
        observation.operator = operator.name;
        observation.nodes = operator === first ? reads[operatorIndex]?.nodes : (await read(operator, true))?.nodes;
        if (!observation.nodes) delete observation.operator;
    }
    return observation;
}
