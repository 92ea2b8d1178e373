/**
 * Each target's own settings, as plain typed objects: what the target's hosts component takes besides the settings
 * every target shares (components/hardware/types.ts). The stack config module fills them from config; a library user
 * passes them as args.
 */

export const MANAGER_COUNTS = [1, 3, 5, 7] as const;

/**
 * Lab workers take .101-.170 of the lab's /24, and their replacements in a rolling change .171-.240 (a lab host and
 * the one that replaces it run side by side for a moment, like two VMs).
 */
export const LAB_MAX_WORKERS = 70;

export interface AwsSettings {
    region: string;
    instanceType: { manager: string; worker: string };
    /** Fixed AMI; when absent the newest Canonical Ubuntu LTS image is looked up at deploy time. */
    amiId?: string;
    vpcCidr: string;
    /** Zones the kit spreads the nodes over (3 or more, so that losing one zone keeps a majority of managers). */
    availabilityZones: number;
    /** Use an existing VPC and its public subnets (one per zone, at least 3) instead of creating one. */
    existingVpc?: { vpcId: string; subnetIds: string[] };
    /** Size of each node's encrypted gp3 root volume. */
    rootVolumeGiB: number;
}

export interface DigitalOceanSettings {
    region: string;
    size: { manager: string; worker: string };
    image: string;
    /** The VPC's range (RFC 1918, /16 to /28); with existingVpcId, read from that VPC instead. */
    vpcCidr: string;
    /** Put the droplets in this existing VPC (e.g. the region's default one) instead of making one. */
    existingVpcId?: string;
    /** An SSH key already in the account (its fingerprint or ID) to give the droplets instead of uploading one. */
    existingSshKey?: string;
    loadBalancer: boolean;
    /**
     * Put the droplets behind a DigitalOcean cloud firewall (the default). Cloud firewalls only pass tcp, udp and
     * icmp, on the VPC as well, so ESP and with it encrypted overlay networks cannot cross between droplets behind
     * one; false leaves the host firewall alone in charge (see docs/digitalocean.md).
     */
    cloudFirewall: boolean;
}

export interface MultipassSettings {
    image: string;
    cpus: number;
    memory: string;
    disk: string;
    /** The VMs' network (a /24); absent: read from multipass's Linux bridge (mpqemubr0) at launch. */
    nodesCidr?: string;
}

export interface KvmSettings {
    /** Path of a cloud image (qcow2) on the libvirt host. */
    image: string;
    network: string;
    vcpus: number;
    memoryMiB: number;
    diskGiB: number;
    osVariant: string;
    /** The libvirt network's range (a /24); absent: read from `virsh net-dumpxml` at launch. */
    nodesCidr?: string;
    /** libvirt connection, e.g. qemu:///system. */
    uri: string;
    /** Where each VM's overlay disk (backed by the image) is created. */
    diskDir: string;
    /**
     * libvirt's domain type: "kvm" (hardware virtualisation), "qemu" (software emulation, TCG: several times slower,
     * for machines without VT-x/AMD-V, such as many cloud VMs), or "auto" (kvm when libvirt can start it, else qemu
     * with a warning).
     */
    virtType: KvmVirtType;
    /**
     * Direct kernel boot, for an image without a boot loader (such as `npm run vm-image` builds): the kernel, its
     * initrd and its command line, as paths on the libvirt host. Absent: the image boots by itself.
     */
    kernel?: string;
    initrd?: string;
    kernelArgs?: string;
    /** The image already has Docker and iptables: cloud-init installs nothing and needs no package mirror. */
    imageHasDocker: boolean;
}

export const KVM_VIRT_TYPES = ["kvm", "qemu", "auto"] as const;
export type KvmVirtType = (typeof KVM_VIRT_TYPES)[number];

export interface LabSettings {
    /** Prefix of every namespace, bridge and state directory of this lab; several labs can live side by side. */
    name: string;
    /** Private /24 used only inside the lab's own namespaces. */
    subnet: string;
    /**
     * A directory of image tarballs (`docker save`) loaded into every lab host when it is made, as a VM image carries
     * images: lab hosts have no registry, and a host made by a rolling replacement starts with none.
     */
    images?: string;
    /** Zones the hosts are labelled with (`swarmkit.zone`), each role spread over them in turn. */
    zones?: string[];
}

/** An AWS network's identity in a machine spec: the kit's VPC range, or the existing VPC and its subnets. */
export function awsNetwork(settings: Pick<AwsSettings, "vpcCidr" | "existingVpc">): string {
    return settings.existingVpc ? `${settings.existingVpc.vpcId} ${settings.existingVpc.subnetIds.join(",")}` : settings.vpcCidr;
}

/** A DigitalOcean network's identity: a VPC lives in one region, so another region is another network. */
export function dropletNetwork(settings: Pick<DigitalOceanSettings, "region" | "existingVpcId" | "vpcCidr">): string {
    return `${settings.region} ${settings.existingVpcId ?? settings.vpcCidr}`;
}
