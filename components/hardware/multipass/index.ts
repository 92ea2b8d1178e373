import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../../config";
import { SwarmHost, machineSpec } from "../../host";
import { Hardware, HardwareArgs } from "../types";
import { renderMultipassCreate, renderMultipassDelete } from "./script";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { declareVmHosts } from "./vmHosts";
import { localVmFirewall, vmName } from "./localVm";
import { multipassStatus } from "./status";

export interface MultipassHostsArgs extends HardwareArgs {}

/** Multipass VMs on this workstation, one per host, named `<stack>-<host>`, set up by cloud-init. */
export class MultipassHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;

    constructor(name: string, args: MultipassHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:multipass:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const settings = config.multipass;
        if (!settings) throw new Error("MultipassHosts needs the multipass settings (provider multipass)");
        const vms = declareVmHosts(this, {
            prefix: name,
            hardware: args,
            machineSpec: machineSpec({ image: settings.image, cpus: settings.cpus, memory: settings.memory, disk: settings.disk, user: config.ssh.user, revision: config.machineRevision }),
            nodesCidr: settings.nodesCidr,
            scripts: (vm) => ({ create: renderMultipassCreate({ name: vm, settings }), delete: renderMultipassDelete(vm) }),
            status: multipassStatus,
        });
        this.hosts = vms.hosts;
        this.firewall = vms.nodesCidr.apply((nodes) => localVmFirewall(nodes, config.adminCidr, config.publishedPorts));
        this.extraOutputs = { vmNames: pulumi.output(this.hosts.map((h) => vmName(pulumi.getStack(), h.name))) };
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
