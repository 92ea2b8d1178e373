/**
 * The kit's program's hardware: the stack config mapped onto the args of the target it names, through the package's
 * public entries (each loaded only when the stack uses it, so a stack loads one cloud SDK at most), with the
 * target's outputs the stack exports.
 */
import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "./config";
import type { Hardware, HostsArgs, Rollout } from "./index";
import type { AwsHostsArgs } from "./aws";
import type { DigitalOceanHostsArgs } from "./digitalocean";
import type { ExistingHostsArgs } from "./hosts";
import type { KvmHostsArgs } from "./kvm";
import type { LabHostsArgs } from "./lab";
import type { MultipassHostsArgs } from "./multipass";
import { SshKeyPair, resolveSshKey } from "./hardware/sshKey";

export interface StackHardware {
    hardware: Hardware;
    sshKey: SshKeyPair;
    /** What the stack exports besides the swarm's, e.g. the load balancer's DNS name. */
    outputs: Record<string, pulumi.Input<unknown>>;
}

/** The args every target shares, from config. The stack's key is made once, at the root, as `ssh-key`. */
export function commonArgs(config: SwarmkitConfig, sshKey: { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> }, rollout?: Rollout): HostsArgs {
    return {
        managers: config.managers,
        workers: config.workers,
        adminCidr: config.adminCidr,
        publishedPorts: config.publishedPorts,
        sshUser: config.ssh.user,
        sshKey,
        machineRevision: config.machineRevision,
        dataPathPort: config.network.dataPathPort,
        docker: config.docker,
        rollout,
    };
}

type Key = { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> };

// Physical names keep the stack's name alone as their stem, as before the kit was a library.
const nameStem = () => pulumi.getStack();

export function labArgs(config: SwarmkitConfig, sshKey: Key, rollout?: Rollout): LabHostsArgs {
    const lab = config.lab!;
    return { ...commonArgs(config, sshKey, rollout), subnet: lab.subnet, labName: lab.name, images: lab.images, zones: lab.zones };
}

export function awsArgs(config: SwarmkitConfig, sshKey: Key, rollout?: Rollout): AwsHostsArgs {
    const s = config.aws!;
    return {
        ...commonArgs(config, sshKey, rollout),
        adminCidr: config.adminCidr,
        instanceType: s.instanceType,
        amiId: s.amiId,
        vpcCidr: s.vpcCidr,
        availabilityZones: s.availabilityZones,
        existingVpc: s.existingVpc,
        rootVolumeGiB: s.rootVolumeGiB,
        nameStem: nameStem(),
    };
}

export function digitalOceanArgs(config: SwarmkitConfig, sshKey: Key, rollout?: Rollout): DigitalOceanHostsArgs {
    const s = config.digitalocean!;
    return {
        ...commonArgs(config, sshKey, rollout),
        adminCidr: config.adminCidr,
        region: s.region,
        size: s.size,
        image: s.image,
        vpcCidr: s.existingVpcId === undefined ? s.vpcCidr : undefined,
        existingVpcId: s.existingVpcId,
        existingSshKey: s.existingSshKey,
        loadBalancer: s.loadBalancer,
        cloudFirewall: s.cloudFirewall,
        nameStem: nameStem(),
    };
}

export function multipassArgs(config: SwarmkitConfig, sshKey: Key, rollout?: Rollout): MultipassHostsArgs {
    return { ...commonArgs(config, sshKey, rollout), ...config.multipass!, nameStem: nameStem() };
}

export function kvmArgs(config: SwarmkitConfig, sshKey: Key, rollout?: Rollout): KvmHostsArgs {
    return { ...commonArgs(config, sshKey, rollout), ...config.kvm!, nameStem: nameStem() };
}

export function existingHostsArgs(config: SwarmkitConfig, sshKey: Key): ExistingHostsArgs {
    const h = config.hosts!;
    return {
        hosts: h.machines,
        sshPrivateKey: sshKey.privateKey,
        sshUser: config.ssh.user,
        adminCidr: config.adminCidr,
        nodesCidrs: h.nodesCidrs,
        loadBalancerCidrs: h.loadBalancerCidrs,
        publishedPorts: config.publishedPorts,
        dataPathPort: config.network.dataPathPort,
    };
}

export async function stackHardware(config: SwarmkitConfig, rollout?: Rollout, opts?: pulumi.ComponentResourceOptions): Promise<StackHardware> {
    // Your own hosts already authorise the key: config gives its private half, nothing is generated.
    const sshKey: SshKeyPair =
        config.provider === "hosts"
            ? { publicKey: pulumi.output(config.ssh.publicKey ?? ""), privateKey: pulumi.secret(config.ssh.privateKey as pulumi.Output<string>) }
            : await resolveSshKey(config);
    switch (config.provider) {
        case "netns": {
            const hw = new (await import("./lab")).LabHosts("lab", labArgs(config, sshKey, rollout), opts);
            return { hardware: hw, sshKey, outputs: { labSubnet: hw.subnet, labName: hw.labName } };
        }
        case "aws": {
            const hw = new (await import("./aws")).AwsHosts("aws", awsArgs(config, sshKey, rollout), opts);
            return { hardware: hw, sshKey, outputs: { loadBalancerDnsName: hw.loadBalancerDnsName, vpcId: hw.vpcId } };
        }
        case "digitalocean": {
            const hw = new (await import("./digitalocean")).DigitalOceanHosts("do", digitalOceanArgs(config, sshKey, rollout), opts);
            return { hardware: hw, sshKey, outputs: { loadBalancerIp: hw.loadBalancerIp, dropletTag: hw.dropletTag } };
        }
        case "multipass": {
            const hw = new (await import("./multipass")).MultipassHosts("multipass", multipassArgs(config, sshKey, rollout), opts);
            return { hardware: hw, sshKey, outputs: { vmNames: hw.vmNames } };
        }
        case "kvm": {
            const hw = new (await import("./kvm")).KvmHosts("kvm", kvmArgs(config, sshKey, rollout), opts);
            return { hardware: hw, sshKey, outputs: { vmNames: hw.vmNames } };
        }
        case "hosts": {
            const hw = new (await import("./hosts")).ExistingHosts("hosts", existingHostsArgs(config, sshKey), opts);
            return { hardware: hw, sshKey, outputs: {} };
        }
    }
}
