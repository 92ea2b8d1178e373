import * as pulumi from "@pulumi/pulumi";
import { SwarmHost, machineSpec } from "../../host";
import { isValidCidr } from "../../net";
import { MultipassSettings } from "../settings";
import { Hardware, HostsArgs, engineSpec, physicalStem, resolveHostsArgs } from "../types";
import { renderMultipassCreate, renderMultipassDelete } from "./script";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { declareVmHosts } from "./vmHosts";
import { localVmFirewall, vmName } from "./localVm";
import { multipassStatus } from "./status";

export interface MultipassHostsArgs extends HostsArgs {
    /** Default "24.04". */
    image?: string;
    /** Default 2. */
    cpus?: number;
    /** Default 2G. */
    memory?: string;
    /** Default 10G. */
    disk?: string;
    /** The VMs' network (a /24); absent: read from multipass's bridge (mpqemubr0) at launch. */
    nodesCidr?: string;
    /** VM names are `<stem>-<host>`. Default `<stack>-<component name>`. */
    nameStem?: string;
}

export function multipassArgsProblems(args: MultipassHostsArgs): string[] {
    const problems: string[] = [];
    for (const [k, v] of [["memory", args.memory], ["disk", args.disk]] as const) {
        if (v !== undefined && !/^\d+[KMG]$/.test(v)) problems.push(`${k} = ${JSON.stringify(v)}: a size such as 2G or 512M`);
    }
    if (args.cpus !== undefined && (!Number.isInteger(args.cpus) || args.cpus < 1)) problems.push(`cpus = ${args.cpus}: a whole number, 1 or more`);
    if (args.nodesCidr !== undefined && !isValidCidr(args.nodesCidr)) problems.push(`nodesCidr = ${JSON.stringify(args.nodesCidr)}: an IPv4 CIDR`);
    return problems;
}

/** Multipass VMs on this workstation, one per host, named `<stack>-<host>`, set up by cloud-init. */
export class MultipassHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    /** The swarm's VXLAN port, opened by its firewalls. */
    public readonly dataPathPort?: number;
    /** The VMs' names (`<stem>-<host>`), in the order of the hosts. */
    public readonly vmNames: string[];

    constructor(name: string, args: MultipassHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:multipass:Hosts", name, {}, opts);
        const common = resolveHostsArgs("MultipassHosts", name, args, { adminCidr: "0.0.0.0/0", sshUser: "ubuntu" }, multipassArgsProblems(args), this);
        const settings: MultipassSettings = { image: args.image ?? "24.04", cpus: args.cpus ?? 2, memory: args.memory ?? "2G", disk: args.disk ?? "10G", nodesCidr: args.nodesCidr };
        const stem = args.nameStem ?? physicalStem(name);
        const vms = declareVmHosts(this, {
            prefix: name,
            stem,
            common,
            machineSpec: machineSpec({ image: settings.image, cpus: settings.cpus, memory: settings.memory, disk: settings.disk, user: common.ssh.user, revision: common.machineRevision, docker: engineSpec(common.docker) }),
            nodesCidr: settings.nodesCidr,
            scripts: (vm) => ({ create: renderMultipassCreate({ name: vm, settings }), delete: renderMultipassDelete(vm) }),
            status: multipassStatus,
        });
        this.hosts = vms.hosts;
        this.firewall = vms.nodesCidr.apply((nodes) => localVmFirewall(nodes, common.adminCidr, common.publishedPorts, common.dataPathPort));
        this.dataPathPort = common.dataPathPort;
        this.vmNames = this.hosts.map((h) => vmName(stem, h.name));
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
