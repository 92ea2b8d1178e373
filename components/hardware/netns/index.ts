import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { LabSettings, SwarmkitConfig } from "../../config";
import { HostFirewallArgs, renderHostFirewall } from "../../firewall/hostFirewall";
import { SwarmHost, hostNames } from "../../host";
import { nthAddress } from "../../net";
import { LAB_HOST } from "../../ssh/dialPolicy";
import { Hardware, HardwareArgs } from "../types";
import { labHostStatus, labNetworkUp } from "./status";

/** Relative to the project directory, where Pulumi runs the program, so a moved checkout still destroys. */
const LAB_SCRIPTS = "scripts/lab";

/** Lab host addresses: managers from .11, workers from .101 (room for 89 managers and 150 workers). */
export function labAddress(lab: LabSettings, role: "manager" | "worker", index: number): string {
    return nthAddress(lab.subnet, (role === "manager" ? 10 : 100) + index);
}

/** Where lab hosts' addresses lie: the gateway (.1, the Pulumi host) and .251-.254 are not nodes. */
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

export interface LabHostsArgs extends HardwareArgs {}

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
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;

    constructor(name: string, args: LabHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:lab:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const lab = config.lab;
        if (!lab) throw new Error("LabHosts needs the lab settings (provider netns)");
        const gateway = labGateway(lab);

        const networkUp = labNetworkUp(lab.name);
        const network = new command.local.Command(
            `${name}-network`,
            {
                create: `bash ${LAB_SCRIPTS}/network.sh up ${lab.name} ${lab.subnet}`,
                delete: `bash ${LAB_SCRIPTS}/network.sh down ${lab.name}`,
                environment: { [START]: startRequest(!networkUp) },
                addPreviousOutputInEnv: false,
            },
            { parent: this, ignoreChanges: networkUp ? [`environment.${START}`] : [] },
        );

        this.firewall = {
            nodes: [labNodesRange(lab)],
            admin: [config.adminCidr],
            // In the lab the Pulumi host itself stands in for the load balancer.
            loadBalancer: [`${gateway}/32`],
            publishedPorts: config.publishedPorts,
        };
        const bootFirewall = labBootFirewall(lab);

        const counters = { manager: 0, worker: 0 };
        this.hosts = hostNames(config.managers, config.workers).map(({ name: hostName, role }) => {
            const address = labAddress(lab, role, ++counters[role]);
            const status = labHostStatus(lab.name, hostName);
            const machine = new command.local.Command(
                `${name}-${hostName}`,
                {
                    create: `bash ${LAB_SCRIPTS}/host.sh up ${lab.name} ${hostName} ${address}/24 ${gateway}`,
                    delete: `bash ${LAB_SCRIPTS}/host.sh down ${lab.name} ${hostName}`,
                    environment: {
                        SWARMKIT_LAB_PUBLIC_KEY: args.sshPublicKey,
                        SWARMKIT_LAB_FIREWALL: bootFirewall,
                        [START]: startRequest(status !== "running"),
                    },
                    // Its name and address make the machine: another one is another machine.
                    triggers: [lab.name, hostName, address],
                    addPreviousOutputInEnv: false,
                },
                // A host's name and address are taken while it exists: the old one goes before its replacement.
                {
                    parent: this,
                    dependsOn: [network],
                    deleteBeforeReplace: true,
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
                connection: {
                    host: reachable,
                    user: config.ssh.user,
                    privateKey: args.sshPrivateKey,
                    hostKey: identity.apply((i) => i.hostKey),
                    ...LAB_HOST,
                },
            };
        });

        this.extraOutputs = { labSubnet: pulumi.output(lab.subnet), labName: pulumi.output(lab.name) };
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
