import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { LabSettings, SwarmkitConfig } from "../../config";
import { SwarmHost, hostNames } from "../../host";
import { renderHostFirewall } from "../../firewall/hostFirewall";
import { nthAddress } from "../../net";
import { Hardware, HardwareArgs } from "../types";

/** Relative to the project directory, where Pulumi runs the program, so a moved checkout still destroys. */
const LAB_SCRIPTS = "scripts/lab";

/** Lab host addresses: managers from .11, workers from .101 (room for 89 managers and 150 workers). */
export function labAddress(lab: LabSettings, role: "manager" | "worker", index: number): string {
    return nthAddress(lab.subnet, (role === "manager" ? 10 : 100) + index);
}

export interface LabHostsArgs extends HardwareArgs {}

/**
 * Lab hosts: machines made of Linux namespaces on one bridge, each with its own dockerd, sshd and host firewall.
 * The embedded default: no cloud account, no VM; the swarm bootstrap reaches them over SSH like any VM.
 */
export class LabHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;

    constructor(name: string, args: LabHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:lab:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const lab = config.lab;
        if (!lab) throw new Error("LabHosts needs the lab settings (provider netns)");
        const gateway = nthAddress(lab.subnet, 1);

        const network = new command.local.Command(
            `${name}-network`,
            {
                create: `bash ${LAB_SCRIPTS}/network.sh up ${lab.name} ${lab.subnet}`,
                delete: `bash ${LAB_SCRIPTS}/network.sh down ${lab.name}`,
                addPreviousOutputInEnv: false,
            },
            { parent: this },
        );

        const firewall = renderHostFirewall({
            nodesCidr: lab.subnet,
            adminCidr: config.adminCidr,
            // In the lab the Pulumi host itself stands in for the load balancer.
            loadBalancerCidr: `${gateway}/32`,
            publishedPorts: config.publishedPorts,
        });

        const counters = { manager: 0, worker: 0 };
        this.hosts = hostNames(config.managers, config.workers).map(({ name: hostName, role }) => {
            const address = labAddress(lab, role, ++counters[role]);
            const machine = new command.local.Command(
                `${name}-${hostName}`,
                {
                    create: `bash ${LAB_SCRIPTS}/host.sh up ${lab.name} ${hostName} ${address}/24 ${gateway}`,
                    delete: `bash ${LAB_SCRIPTS}/host.sh down ${lab.name} ${hostName}`,
                    environment: { SWARMKIT_LAB_PUBLIC_KEY: args.sshPublicKey, SWARMKIT_LAB_FIREWALL: firewall },
                    addPreviousOutputInEnv: false,
                },
                // A host's name and address are taken while it exists: the old one goes before its replacement.
                { parent: this, dependsOn: [network], deleteBeforeReplace: true },
            );
            return {
                name: hostName,
                role,
                sshAddress: machine.stdout.apply(() => address),
                privateAddress: address,
                machineId: machine.stdout.apply((s) => s.trim()),
                connection: {
                    host: machine.stdout.apply(() => address),
                    user: config.ssh.user,
                    privateKey: args.sshPrivateKey,
                    dialErrorLimit: 30,
                    perDialTimeout: 5,
                },
            };
        });

        this.extraOutputs = { labSubnet: pulumi.output(lab.subnet), labName: pulumi.output(lab.name) };
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
