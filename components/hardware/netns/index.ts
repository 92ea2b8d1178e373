import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { createHash } from "node:crypto";
import { relative, resolve } from "node:path";
import { LAB_MAX_WORKERS, LabSettings } from "../settings";
import { HostFirewallArgs, renderHostFirewall } from "../../firewall/hostFirewall";
import { SwarmHost, hostNames, machineSpec } from "../../host";
import { isValidCidr, nthAddress } from "../../net";
import { LAB_HOST } from "../../ssh/dialPolicy";
import { Hardware, HostsArgs, machineDependsOn, physicalStem, resolveHostsArgs } from "../types";
import { labHostStatus, labNetworkUp, labStateEnv } from "./status";

/**
 * The lab's scripts ship in the package (scripts/lab). They are named relative to the project directory, where
 * Pulumi runs the program and the commands: "scripts/lab" in this repository, "node_modules/swarmkit/scripts/lab"
 * in a project that installed the package; a moved project still destroys.
 */
function labScripts(): string {
    return relative(process.cwd(), resolve(__dirname, "../../..", "scripts/lab")) || ".";
}

/**
 * Where a lab host's machine lives. A host has two slots, as a VM's replacement gets a new address: its machine is in
 * one, and a rolling replacement makes the new machine in the other while the old one still runs.
 */
export type LabSlot = "a" | "b";

/** Lab host addresses: managers from .11 (their replacements from .51), workers from .101 (replacements from .171). */
export function labAddress(lab: LabSettings, role: "manager" | "worker", index: number, slot: LabSlot = "a"): string {
    const base = role === "manager" ? (slot === "a" ? 10 : 50) : slot === "a" ? 100 : 100 + LAB_MAX_WORKERS;
    return nthAddress(lab.subnet, base + index);
}

/** The machine's own name (its namespace, its folder): the host's name, with "-b" in the second slot. */
export function labMachineName(host: string, slot: LabSlot): string {
    return slot === "a" ? host : `${host}-b`;
}

/** What makes a lab host's machine: a change of it replaces the machine. */
export function labMachineSpec(common: { machineRevision: number }): string {
    return machineSpec({ revision: common.machineRevision });
}

/**
 * The slot a host's machine is in after this run: where the last deployment put it (told by its address), or the
 * other one when the machine is replaced. Without a record, the slot whose machine is on disk.
 */
export function labSlot(lab: LabSettings, role: "manager" | "worker", index: number, previousAddress: string | undefined, replaced: boolean, onDisk: (slot: LabSlot) => boolean): LabSlot {
    let current: LabSlot;
    if (previousAddress !== undefined) current = previousAddress === labAddress(lab, role, index, "b") ? "b" : "a";
    else current = !onDisk("a") && onDisk("b") ? "b" : "a";
    if (!replaced) return current;
    return current === "a" ? "b" : "a";
}

/** Where lab hosts' addresses lie (both slots): the gateway (.1, the Pulumi host) and .251-.254 are not nodes. */
export function labNodesRange(lab: LabSettings): string {
    return `${nthAddress(lab.subnet, 11)}-${nthAddress(lab.subnet, 250)}`;
}

export function labGateway(lab: LabSettings): string {
    return nthAddress(lab.subnet, 1);
}

/**
 * A new lab host's boot-time firewall, as cloud-init installs one on a VM: SSH from the Pulumi host only and the
 * swarm ports between nodes, nothing published. It does not depend on adminCidr or publishedPorts, so changing those
 * never touches the machine: the kit's firewall step applies them.
 */
export function labBootFirewall(lab: LabSettings): string {
    return renderHostFirewall({ nodes: [labNodesRange(lab)], admin: [`${labGateway(lab)}/32`], loadBalancer: [], publishedPorts: [] });
}

/** What the lab host's create step prints. */
interface LabIdentity {
    machineId: string;
    hostKey: string;
}

export function parseLabIdentity(stdout: string): LabIdentity {
    const parsed = JSON.parse(stdout.trim()) as Partial<LabIdentity>;
    if (!parsed.machineId || !parsed.hostKey) throw new Error(`a lab host printed ${JSON.stringify(stdout)}, not {"machineId", "hostKey"}`);
    return { machineId: parsed.machineId, hostKey: parsed.hostKey };
}

/** The slot of a start request: ignored unless the machine is down when the program runs. */
const START = "SWARMKIT_LAB_START";
const startRequest = (needed: boolean) => (needed ? `start requested ${new Date().toISOString()}` : "running");

export interface LabHostsArgs extends HostsArgs {
    /** The lab's private /24, used only inside its own namespaces. Two labs on one machine need two ranges. */
    subnet: string;
    /**
     * Prefix of the lab's namespaces, bridge and state folder: 1-8 lowercase letters and digits. Default: the
     * component's name when it fits, else a short hash of the stack and component names.
     */
    labName?: string;
    /** An absolute directory of `docker save` tarballs every new host loads (lab hosts have no registry). */
    images?: string;
    /**
     * Zones to give the hosts, as the label `swarmkit.zone`: managers and workers each spread over them in turn
     * (worker-1 the first, worker-2 the second, ...), as cloud zones are. Lab hosts all run on this machine: the
     * zones only let placement preferences be tried. Default none.
     */
    zones?: string[];
}

/** The default lab name of a LabHosts component. */
export function defaultLabName(componentName: string): string {
    const folded = componentName.toLowerCase().replace(/[^a-z0-9]/g, "");
    if (/^[a-z][a-z0-9]{0,7}$/.test(folded)) return folded;
    return `l${createHash("sha256").update(physicalStem(componentName)).digest("hex").slice(0, 7)}`;
}

/** What is wrong with a lab's own args. */
export function labArgsProblems(args: LabHostsArgs): string[] {
    const problems: string[] = [];
    if (!isValidCidr(args.subnet) || !args.subnet.endsWith("/24")) problems.push(`subnet = ${JSON.stringify(args.subnet)}: the lab takes an IPv4 /24, e.g. 10.77.0.0/24`);
    if (args.labName !== undefined && !/^[a-z][a-z0-9]{0,7}$/.test(args.labName)) {
        problems.push(`labName = ${JSON.stringify(args.labName)}: 1-8 lowercase letters and digits, starting with a letter (interface names are limited to 15 characters)`);
    }
    if ((args.workers ?? 0) > LAB_MAX_WORKERS) problems.push(`workers = ${args.workers}: at most ${LAB_MAX_WORKERS} on lab hosts (.101 to .170 of the /24, .171 to .240 for their replacements)`);
    for (const zone of args.zones ?? []) if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(zone)) problems.push(`zones: ${JSON.stringify(zone)} is not a zone name (letters, digits, '.', '-', '_')`);
    if (args.zones !== undefined && (args.zones.length === 0 || new Set(args.zones).size !== args.zones.length)) problems.push("zones: a non-empty list, each zone once");
    if (args.images !== undefined && !args.images.startsWith("/")) problems.push(`images = ${JSON.stringify(args.images)}: an absolute path of a directory of image tarballs`);
    return problems;
}

/**
 * Lab hosts: machines made of Linux namespaces on one bridge, each with its own dockerd, sshd and host firewall.
 * The embedded default: no cloud account, no VM; the swarm bootstrap reaches them over SSH like any VM.
 *
 * A lab host is a machine with a disk (its folder under .lab/): when this machine reboots, the hosts are gone but
 * their disks stay, and the next `pulumi up` sees it (before any step runs) and starts them again from their disks.
 */
export class LabHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly firewall: HostFirewallArgs;
    public readonly dataPathPort?: number;
    /** The lab's name (prefix of its namespaces and bridge) and range. */
    public readonly labName: string;
    public readonly subnet: string;

    constructor(name: string, args: LabHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:lab:Hosts", name, {}, opts);
        const common = resolveHostsArgs("LabHosts", name, args, { adminCidr: args.subnet, sshUser: "root" }, labArgsProblems(args), this);
        const lab: LabSettings = { name: args.labName ?? defaultLabName(name), subnet: args.subnet, images: args.images };
        this.labName = lab.name;
        this.subnet = lab.subnet;
        const gateway = labGateway(lab);
        const LAB_SCRIPTS = labScripts();
        const stateEnv = labStateEnv();

        const networkUp = labNetworkUp(lab.name);
        const network = new command.local.Command(
            `${name}-network`,
            {
                create: `bash ${LAB_SCRIPTS}/network.sh up ${lab.name} ${lab.subnet}`,
                delete: `bash ${LAB_SCRIPTS}/network.sh down ${lab.name}`,
                environment: { [START]: startRequest(!networkUp), ...stateEnv },
                addPreviousOutputInEnv: false,
            },
            { parent: this, ignoreChanges: networkUp ? [`environment.${START}`] : [] },
        );

        this.firewall = {
            nodes: [labNodesRange(lab)],
            admin: [common.adminCidr],
            // In the lab the Pulumi host itself stands in for the load balancer.
            loadBalancer: [`${gateway}/32`],
            publishedPorts: common.publishedPorts,
            ...(common.dataPathPort === undefined ? {} : { dataPathPort: common.dataPathPort }),
        };
        this.dataPathPort = common.dataPathPort;
        const zones = args.zones ?? [];
        const bootFirewall = labBootFirewall(lab);

        const spec = labMachineSpec(common);
        const counters = { manager: 0, worker: 0 };
        this.hosts = hostNames(common.managers, common.workers).map(({ name: hostName, role }) => {
            const index = ++counters[role];
            const after = machineDependsOn(common.rollout, { name: hostName, role, machineSpec: spec }, [network]);
            const replaced = common.rollout?.rolling(hostName) ?? false;
            const slot = labSlot(lab, role, index, common.rollout?.previousNode(hostName)?.privateAddress, replaced, (s) =>
                labHostStatus(lab.name, labMachineName(hostName, s)) !== "new",
            );
            const machineName = labMachineName(hostName, slot);
            const address = labAddress(lab, role, index, slot);
            const status = labHostStatus(lab.name, machineName);
            const machine = new command.local.Command(
                `${name}-${hostName}`,
                {
                    create: `bash ${LAB_SCRIPTS}/host.sh up ${lab.name} ${machineName} ${address}/24 ${gateway}`,
                    delete: `bash ${LAB_SCRIPTS}/host.sh down ${lab.name} ${machineName}`,
                    environment: {
                        SWARMKIT_LAB_PUBLIC_KEY: common.sshPublicKey,
                        ...stateEnv,
                        SWARMKIT_LAB_FIREWALL: bootFirewall,
                        [START]: startRequest(status !== "running"),
                        // The swarm node's hostname is the host's name in either slot.
                        ...(slot === "b" ? { SWARMKIT_LAB_HOSTNAME: hostName } : {}),
                        ...(lab.images !== undefined ? { SWARMKIT_LAB_IMAGES: lab.images } : {}),
                    },
                    // Its name and address make the machine: another one is another machine. A new spec gives it
                    // the other slot, and so another address.
                    triggers: [lab.name, hostName, address],
                    addPreviousOutputInEnv: false,
                },
                // In a roll the new machine is made in the other slot before its predecessor goes, and both run for a
                // moment. Any other replacement (pulumi up --replace, a new lab name or subnet) reuses the host's
                // name, so the old machine goes first.
                {
                    parent: this,
                    dependsOn: after,
                    deleteBeforeReplace: !replaced,
                    ignoreChanges: status === "running" ? [`environment.${START}`] : [],
                },
            );
            const identity = machine.stdout.apply(parseLabIdentity);
            const reachable = machine.stdout.apply(() => address);
            return {
                name: hostName,
                role,
                sshAddress: reachable,
                privateAddress: reachable,
                machineId: identity.apply((i) => i.machineId),
                machineStatus: status,
                machineSpec: spec,
                ...(zones.length > 0 ? { zone: zones[(index - 1) % zones.length] } : {}),
                connection: {
                    host: reachable,
                    user: common.ssh.user,
                    privateKey: common.sshPrivateKey,
                    hostKey: identity.apply((i) => i.hostKey),
                    ...LAB_HOST,
                },
            };
        });

        this.registerOutputs({ labName: lab.name, subnet: lab.subnet, hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
