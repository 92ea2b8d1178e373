import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../../config";
import { SwarmHost } from "../../host";
import { Hardware, HardwareArgs } from "../types";
import { renderMultipassCreate, renderMultipassDelete } from "./script";
import { declareVmHosts } from "./vmHosts";
import { vmName } from "./localVm";

export interface MultipassHostsArgs extends HardwareArgs {}

/** Multipass VMs on this workstation, one per host, named `<stack>-<host>`, set up by cloud-init. */
export class MultipassHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;

    constructor(name: string, args: MultipassHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:multipass:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const settings = config.multipass;
        if (!settings) throw new Error("MultipassHosts needs the multipass settings (provider multipass)");
        this.hosts = declareVmHosts(this, {
            prefix: name,
            hardware: args,
            nodesCidr: settings.nodesCidr,
            scripts: (vm) => ({ create: renderMultipassCreate({ name: vm, settings }), delete: renderMultipassDelete(vm) }),
        });
        this.extraOutputs = { vmNames: pulumi.output(this.hosts.map((h) => vmName(pulumi.getStack(), h.name))) };
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
