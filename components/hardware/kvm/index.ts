import * as pulumi from "@pulumi/pulumi";
import { SwarmHost, machineSpec } from "../../host";
import { isValidCidr } from "../../net";
import { KVM_VIRT_TYPES, KvmSettings, KvmVirtType } from "../settings";
import { kvmBootProblems } from "./boot";
import { Hardware, HostsArgs, engineSpec, physicalStem, resolveHostsArgs } from "../types";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { localVmFirewall, vmName } from "../multipass/localVm";
import { kvmStatus } from "../multipass/status";
import { declareVmHosts } from "../multipass/vmHosts";
import { renderKvmCreate, renderKvmDelete } from "./script";

export interface KvmHostsArgs extends HostsArgs {
    /** Required: the path of a cloud image (qcow2) on the libvirt host. */
    image: string;
    /** The libvirt network. Default "default". */
    network?: string;
    /** Default 2. */
    vcpus?: number;
    /** Default 2048. */
    memoryMiB?: number;
    /** Default 10. */
    diskGiB?: number;
    /** Default ubuntu22.04. */
    osVariant?: string;
    /** The libvirt network's range (a /24); absent: read from `virsh net-dumpxml` at launch. */
    nodesCidr?: string;
    /** Default qemu:///system. */
    uri?: string;
    /** Where each VM's overlay disk is made. Default /var/lib/libvirt/images. */
    diskDir?: string;
    /** VM names are `<stem>-<host>`. Default `<stack>-<component name>`. */
    nameStem?: string;
    /** "kvm" (default), "qemu" (software emulation, where there is no VT-x/AMD-V), or "auto" (qemu with a warning when KVM cannot run). */
    virtType?: KvmVirtType;
    /** Direct kernel boot (an image without a boot loader, such as `npm run vm-image` builds): paths on the libvirt host. */
    kernel?: string;
    initrd?: string;
    kernelArgs?: string;
    /** The image already has Docker and iptables: cloud-init installs nothing and needs no package mirror. Default false. */
    imageHasDocker?: boolean;
}

export function kvmSettings(args: KvmHostsArgs): KvmSettings {
    return {
        image: args.image,
        network: args.network ?? "default",
        vcpus: args.vcpus ?? 2,
        memoryMiB: args.memoryMiB ?? 2048,
        diskGiB: args.diskGiB ?? 10,
        osVariant: args.osVariant ?? "ubuntu22.04",
        nodesCidr: args.nodesCidr,
        uri: args.uri ?? "qemu:///system",
        diskDir: args.diskDir ?? "/var/lib/libvirt/images",
        virtType: args.virtType ?? "kvm",
        kernel: args.kernel,
        initrd: args.initrd,
        kernelArgs: args.kernelArgs,
        imageHasDocker: args.imageHasDocker ?? false,
    };
}

export function kvmArgsProblems(args: KvmHostsArgs): string[] {
    const problems: string[] = [];
    if (!args.image) problems.push("image is missing: the path of a cloud image (qcow2) on the libvirt host");
    if (args.memoryMiB !== undefined && (!Number.isInteger(args.memoryMiB) || args.memoryMiB < 512)) problems.push(`memoryMiB = ${args.memoryMiB}: 512 or more`);
    if (args.diskGiB !== undefined && (!Number.isInteger(args.diskGiB) || args.diskGiB < 4)) problems.push(`diskGiB = ${args.diskGiB}: 4 or more`);
    if (args.vcpus !== undefined && (!Number.isInteger(args.vcpus) || args.vcpus < 1)) problems.push(`vcpus = ${args.vcpus}: 1 or more`);
    if (args.nodesCidr !== undefined && !isValidCidr(args.nodesCidr)) problems.push(`nodesCidr = ${JSON.stringify(args.nodesCidr)}: an IPv4 CIDR`);
    if (args.virtType !== undefined && !(KVM_VIRT_TYPES as readonly string[]).includes(args.virtType)) problems.push(`virtType = ${JSON.stringify(args.virtType)}: one of ${KVM_VIRT_TYPES.join(", ")}`);
    problems.push(...kvmBootProblems(args, args.docker ?? {}));
    return problems;
}

/** KVM guests under libvirt on this workstation, one per host, named `<stack>-<host>`, set up by cloud-init. */
export class KvmHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    /** The swarm's VXLAN port, opened by its firewalls. */
    public readonly dataPathPort?: number;
    /** The VMs' names (`<stem>-<host>`), in the order of the hosts. */
    public readonly vmNames: string[];

    constructor(name: string, args: KvmHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:kvm:Hosts", name, {}, opts);
        const common = resolveHostsArgs("KvmHosts", name, args, { adminCidr: "0.0.0.0/0", sshUser: "ubuntu" }, kvmArgsProblems(args), this);
        const settings = kvmSettings(args);
        const stem = args.nameStem ?? physicalStem(name);
        const vms = declareVmHosts(this, {
            prefix: name,
            stem,
            common,
            machineSpec: machineSpec({
                image: settings.image,
                vcpus: settings.vcpus,
                memoryMiB: settings.memoryMiB,
                diskGiB: settings.diskGiB,
                osVariant: settings.osVariant,
                network: settings.network,
                user: common.ssh.user,
                revision: common.machineRevision,
                docker: engineSpec(common.docker),
                // Only when set, so that the specs of VMs made before these settings existed stay as they were.
                ...(settings.virtType === "kvm" ? {} : { virtType: settings.virtType }),
                kernel: settings.kernel,
                initrd: settings.initrd,
                kernelArgs: settings.kernelArgs,
                ...(settings.imageHasDocker ? { imageHasDocker: true } : {}),
            }),
            imageHasDocker: settings.imageHasDocker,
            nodesCidr: settings.nodesCidr,
            scripts: (vm) => ({ create: renderKvmCreate({ name: vm, settings }), delete: renderKvmDelete({ name: vm, settings }) }),
            status: (vm) => kvmStatus(vm, settings.uri),
        });
        this.hosts = vms.hosts;
        this.firewall = vms.nodesCidr.apply((nodes) => localVmFirewall(nodes, common.adminCidr, common.publishedPorts, common.dataPathPort));
        this.dataPathPort = common.dataPathPort;
        this.vmNames = this.hosts.map((h) => vmName(stem, h.name));
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
