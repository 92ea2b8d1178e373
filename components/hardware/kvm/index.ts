import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../../config";
import { SwarmHost, machineSpec } from "../../host";
import { machineNetwork } from "../network";
import { Hardware, HardwareArgs } from "../types";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { localVmFirewall, vmName } from "../multipass/localVm";
import { kvmStatus } from "../multipass/status";
import { declareVmHosts } from "../multipass/vmHosts";
import { renderKvmCreate, renderKvmDelete } from "./script";

export interface KvmHostsArgs extends HardwareArgs {}

/** KVM guests under libvirt on this workstation, one per host, named `<stack>-<host>`, set up by cloud-init. */
export class KvmHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;

    constructor(name: string, args: KvmHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:kvm:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const settings = config.kvm;
        if (!settings) throw new Error("KvmHosts needs the kvm settings (provider kvm)");
        const vms = declareVmHosts(this, {
            prefix: name,
            hardware: args,
            machineSpec: machineSpec({
                image: settings.image,
                vcpus: settings.vcpus,
                memoryMiB: settings.memoryMiB,
                diskGiB: settings.diskGiB,
                osVariant: settings.osVariant,
                network: machineNetwork(config),
                user: config.ssh.user,
                revision: config.machineRevision,
            }),
            nodesCidr: settings.nodesCidr,
            scripts: (vm) => ({ create: renderKvmCreate({ name: vm, settings }), delete: renderKvmDelete({ name: vm, settings }) }),
            status: (vm) => kvmStatus(vm, settings.uri),
        });
        this.hosts = vms.hosts;
        this.firewall = vms.nodesCidr.apply((nodes) => localVmFirewall(nodes, config.adminCidr, config.publishedPorts));
        this.extraOutputs = { vmNames: pulumi.output(this.hosts.map((h) => vmName(pulumi.getStack(), h.name))) };
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
