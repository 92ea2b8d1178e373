/**
 * Hardware for `provider: digitalocean`: droplets in a VPC of their own, behind a cloud firewall and (with published
 * ports) a load balancer, each running the kit's cloud-init (Docker and the host firewall from the port table).
 *
 * The DigitalOcean SDK is imported here and only here; the package entry swarmkit/digitalocean re-exports it, and the kit's program loads that with
 * `await import("./digitalocean")` when the stack uses the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { DigitalOceanSettings, dropletNetwork } from "../settings";
import { Role, SshConnection, SwarmHost, hostNames, machineSpec } from "../../host";
import { SSH_PORT, portTable } from "../../ports";
import { DockerEngine, Hardware, HostsArgs, HostsCommon, engineSpec, machineDependsOn, physicalStem, resolveHostsArgs } from "../types";
import { cidrWithin, isValidCidr } from "../../net";
import { inboundRules, outboundRules } from "./firewallRules";
import { forwardingRules, healthcheck, wantsLoadBalancer } from "./loadBalancerRules";
import { clusterTagName, dropletName, roleTagName } from "./naming";
import { renderReadyCheck } from "../readiness";
import { createHostKey } from "../hostKey";
import { BOOTING_HOST, LIVE_HOST } from "../../ssh/dialPolicy";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { dropletFirewall, dropletUserData } from "./userData";

export interface DigitalOceanHostsArgs extends HostsArgs {
    /** Required: where SSH may come from. */
    adminCidr: string;
    /** Required: the region's slug, e.g. fra1. */
    region: string;
    /** Default s-1vcpu-2gb managers, s-2vcpu-4gb workers. */
    size?: { manager: string; worker: string };
    /** Default ubuntu-24-04-x64. */
    image?: string;
    /** The kit's own VPC's range (RFC 1918, /16 to /28). Default 10.43.0.0/20. */
    vpcCidr?: string;
    /** Put the droplets in this existing VPC instead of making one. */
    existingVpcId?: string;
    /** An SSH key already in the account (fingerprint or ID) instead of uploading the key. */
    existingSshKey?: string;
    /** A load balancer in front of the published ports. Default true. */
    loadBalancer?: boolean;
    /** A cloud firewall around the droplets (it drops ESP, see docs/digitalocean.md). Default true. */
    cloudFirewall?: boolean;
    /** Stem of the droplet names and of the tags the firewall and load balancer select by. Default `<stack>-<component name>`. */
    nameStem?: string;
}

/** The DigitalOcean settings of the args with their defaults. */
export function digitalOceanSettings(args: DigitalOceanHostsArgs): DigitalOceanSettings {
    return {
        region: args.region,
        size: args.size ?? { manager: "s-1vcpu-2gb", worker: "s-2vcpu-4gb" },
        image: args.image ?? "ubuntu-24-04-x64",
        vpcCidr: args.vpcCidr ?? "10.43.0.0/20",
        existingVpcId: args.existingVpcId,
        existingSshKey: args.existingSshKey,
        loadBalancer: args.loadBalancer ?? true,
        cloudFirewall: args.cloudFirewall ?? true,
    };
}

const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

export function digitalOceanArgsProblems(args: DigitalOceanHostsArgs): string[] {
    const problems: string[] = [];
    if (args.adminCidr === undefined) problems.push("adminCidr is missing: the range allowed to reach SSH on the nodes, e.g. 203.0.113.0/24");
    if (!args.region) problems.push("region is missing: the DigitalOcean region, e.g. fra1");
    const vpcCidr = args.vpcCidr ?? "10.43.0.0/20";
    const prefix = Number(vpcCidr.split("/")[1]);
    if (!isValidCidr(vpcCidr) || !RFC1918.some((r) => cidrWithin(vpcCidr, r)) || prefix < 16 || prefix > 28) {
        problems.push(`vpcCidr = ${JSON.stringify(vpcCidr)}: a private range (RFC 1918) from /16 to /28`);
    }
    if (args.existingVpcId !== undefined && args.vpcCidr !== undefined) problems.push("vpcCidr is not used with existingVpcId: the existing VPC's own range is");
    return problems;
}

/**
 * What makes a droplet: a change of any of these replaces it, one node at a time. The size is among them (in place,
 * a resize powers off every droplet of a role at once, and autolocked managers come back locked); user data is not
 * (it acts at first boot only, and the kit's firewall step applies new rules to running droplets).
 */
export function dropletMachineSpec(common: Pick<HostsCommon, "ssh" | "machineRevision"> & { docker?: DockerEngine }, settings: DigitalOceanSettings, role: Role): string {
    return machineSpec({
        image: settings.image,
        size: settings.size[role],
        // The region and the VPC: a change of them is refused on a live stack (components/networkChange.ts, in the kit's program).
        network: dropletNetwork(settings),
        user: common.ssh.user,
        revision: common.machineRevision,
        docker: engineSpec(common.docker),
    });
}


export class DigitalOceanHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    /** Absent with swarmkit:vpcId: the droplets go into that existing VPC. */
    public readonly vpc?: digitalocean.Vpc;
    public readonly vpcId: pulumi.Output<string>;
    public readonly droplets: digitalocean.Droplet[];
    /** Absent with swarmkit:cloudFirewall false. */
    public readonly cloudFirewall?: digitalocean.Firewall;
    /** The host firewall of every droplet. */
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    /** The swarm's VXLAN port, opened by its firewalls. */
    public readonly dataPathPort?: number;
    /** Absent without published ports or with swarmkit:loadBalancer false. */
    public readonly loadBalancer?: digitalocean.LoadBalancer;
    /** Empty without a load balancer. */
    public readonly loadBalancerIp: pulumi.Output<string>;
    /** The tag every droplet of the cluster carries. */
    public readonly dropletTag: pulumi.Output<string>;

    constructor(name: string, args: DigitalOceanHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:digitalocean:Hosts", name, {}, opts);
        const common = resolveHostsArgs("DigitalOceanHosts", name, args, { adminCidr: args.adminCidr, sshUser: "root" }, digitalOceanArgsProblems(args), this);
        const settings = digitalOceanSettings(args);
        const stem = args.nameStem ?? physicalStem(name);
        const layout = hostNames(common.managers, common.workers);

        // DigitalOcean makes the first VPC of a region the region's default, and a default VPC can never be
        // deleted: in a region without VPCs, `pulumi destroy` then leaves this one (see docs/digitalocean.md).
        let vpcRange: pulumi.Output<string>;
        if (settings.existingVpcId !== undefined) {
            this.vpcId = pulumi.output(settings.existingVpcId);
            vpcRange = digitalocean.getVpcOutput({ id: settings.existingVpcId }, { parent: this }).ipRange;
        } else {
            this.vpc = new digitalocean.Vpc(
                `${name}-vpc`,
                {
                    name: clusterTagName(stem),
                    region: settings.region,
                    ipRange: settings.vpcCidr,
                    description: `swarmkit ${stem}`,
                },
                { parent: this },
            );
            this.vpcId = this.vpc.id;
            vpcRange = pulumi.output(settings.vpcCidr);
        }

        // Tags are declared, not just named on the droplets, so the firewall and the load balancer that select by
        // them find them existing.
        const clusterTag = new digitalocean.Tag(`${name}-tag`, { name: clusterTagName(stem) }, { parent: this });
        const roles = [...new Set(layout.map((h) => h.role))];
        const roleTags = new Map<Role, digitalocean.Tag>(
            roles.map((role) => [role, new digitalocean.Tag(`${name}-tag-${role}`, { name: roleTagName(stem, role) }, { parent: this })]),
        );

        // A key the account already has is taken as it is: DigitalOcean refuses to upload the same key twice.
        const sshKeyRef: pulumi.Input<string> =
            settings.existingSshKey ??
            new digitalocean.SshKey(`${name}-ssh-key`, { name: clusterTagName(stem), publicKey: common.sshPublicKey }, { parent: this }).fingerprint;

        if (wantsLoadBalancer(settings, common.publishedPorts)) {
            this.loadBalancer = new digitalocean.LoadBalancer(
                `${name}-lb`,
                {
                    name: clusterTagName(stem),
                    region: settings.region,
                    vpcUuid: this.vpcId,
                    dropletTag: clusterTag.name,
                    forwardingRules: forwardingRules(common.publishedPorts),
                    healthcheck: healthcheck(common.publishedPorts),
                },
                { parent: this },
            );
        }

        if (settings.cloudFirewall) {
            this.cloudFirewall = new digitalocean.Firewall(
                `${name}-firewall`,
                {
                    name: clusterTagName(stem),
                    tags: [clusterTag.name],
                    inboundRules: inboundRules(portTable(common.publishedPorts, common.dataPathPort), {
                        adminCidr: common.adminCidr,
                        clusterTag: clusterTag.name,
                        loadBalancerUid: this.loadBalancer?.id,
                    }),
                    outboundRules: outboundRules(),
                },
                { parent: this },
            );
        }

        this.firewall = vpcRange.apply((range) => dropletFirewall(common, { ...settings, vpcCidr: range }));
        this.dataPathPort = common.dataPathPort;
        const privateKey = common.sshPrivateKey;
        this.droplets = [];
        this.hosts = layout.map(({ name: hostName, role }) => {
            const hostKey = createHostKey(`${name}-${hostName}-host-key`, this);
            const spec = dropletMachineSpec(common, settings, role);
            const droplet = new digitalocean.Droplet(
                `${name}-${hostName}`,
                {
                    name: dropletName(stem, hostName),
                    region: settings.region,
                    size: settings.size[role],
                    image: settings.image,
                    vpcUuid: this.vpcId,
                    sshKeys: [sshKeyRef],
                    tags: [clusterTag.name, (roleTags.get(role) as digitalocean.Tag).name],
                    monitoring: true,
                    // The host firewall is iptables (IPv4) only: no public IPv6 address to leave unfiltered.
                    ipv6: false,
                    // Secret: it carries the droplet's private host key.
                    userData: pulumi.secret(
                        pulumi
                            .all([common.sshPublicKey, hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, vpcRange])
                            .apply(([sshPublicKey, privateHostKey, publicHostKey, range]) =>
                                dropletUserData({
                                    hostname: hostName,
                                    common,
                                    settings: { ...settings, vpcCidr: range },
                                    sshPublicKey,
                                    hostKey: { privateKey: privateHostKey, publicKey: publicHostKey },
                                }),
                            ),
                    ),
                },
                {
                    parent: this,
                    // A changed spec (image, size, login user, machineRevision) replaces the droplet,
                    // in the roll's order: a new droplet joins before the old one leaves.
                    replacementTrigger: spec,
                    dependsOn: machineDependsOn(common.rollout, { name: hostName, role, machineSpec: spec }),
                    // User data acts at first boot only, and a change of it would replace every droplet at once: the
                    // host firewall step applies new rules to running droplets instead.
                    ignoreChanges: ["userData"],
                    additionalSecretOutputs: ["userData"],
                },
            );
            this.droplets.push(droplet);

            const connection: SshConnection = {
                host: droplet.ipv4Address,
                port: SSH_PORT,
                user: common.ssh.user,
                privateKey,
                hostKey: hostKey.publicKeyOpenssh.apply((k) => k.trim()),
                ...LIVE_HOST,
            };
            // Hands the droplet over only once cloud-init has installed Docker and the host firewall, and (when
            // there is one) the cloud firewall is in place.
            const ready = new command.remote.Command(
                `${name}-${hostName}-ready`,
                {
                    connection: { ...connection, ...BOOTING_HOST },
                    create: renderReadyCheck(hostName, { replaceUfw: true }),
                    triggers: [droplet.id],
                    addPreviousOutputInEnv: false,
                },
                { parent: this, dependsOn: this.cloudFirewall ? [this.cloudFirewall] : [] },
            );

            return {
                name: hostName,
                role,
                sshAddress: droplet.ipv4Address,
                privateAddress: droplet.ipv4AddressPrivate,
                connection,
                machineId: pulumi.all([droplet.id, ready.stdout]).apply(([id]) => id),
                machineSpec: spec,
                region: settings.region,
            };
        });

        const loadBalancerIp: pulumi.Output<string> = this.loadBalancer ? this.loadBalancer.ip : pulumi.output("");
        this.loadBalancerIp = loadBalancerIp;
        this.dropletTag = clusterTag.name;
        this.registerOutputs({
            hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, sshAddress: h.sshAddress, privateAddress: h.privateAddress })),
            vpcId: this.vpcId,
            loadBalancerIp,
        });
    }
}
