/**
 * Hardware for `provider: digitalocean`: droplets in a VPC of their own, behind a cloud firewall and (with published
 * ports) a load balancer, each running the kit's cloud-init (Docker and the host firewall from the port table).
 *
 * The DigitalOcean SDK is imported here and only here; components/hardware/index.ts loads this module with
 * `await import("./digitalocean")` when the stack uses the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { DigitalOceanSettings, SwarmkitConfig } from "../../config";
import { Role, SshConnection, SwarmHost, hostNames, machineSpec } from "../../host";
import { SSH_PORT, portTable } from "../../ports";
import { Hardware, HardwareArgs, machineDependsOn } from "../types";
import { machineNetwork } from "../network";
import { inboundRules, outboundRules } from "./firewallRules";
import { forwardingRules, healthcheck, wantsLoadBalancer } from "./loadBalancerRules";
import { clusterTagName, dropletName, roleTagName } from "./naming";
import { renderReadyCheck } from "../readiness";
import { createHostKey } from "../hostKey";
import { BOOTING_HOST, LIVE_HOST } from "../../ssh/dialPolicy";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { dropletFirewall, dropletUserData } from "./userData";

export interface DigitalOceanHostsArgs extends HardwareArgs {}

/**
 * What makes a droplet: a change of any of these replaces it, one node at a time. The size is among them (in place,
 * a resize powers off every droplet of a role at once, and autolocked managers come back locked); user data is not
 * (it acts at first boot only, and the kit's firewall step applies new rules to running droplets).
 */
export function dropletMachineSpec(config: SwarmkitConfig, settings: DigitalOceanSettings, role: Role): string {
    return machineSpec({
        image: settings.image,
        size: settings.size[role],
        // The region and the VPC: a change of them is refused on a live stack (components/hardware/network.ts).
        network: machineNetwork(config),
        user: config.ssh.user,
        revision: config.machineRevision,
    });
}

export class DigitalOceanHosts extends pulumi.ComponentResource implements Hardware {
    public readonly hosts: SwarmHost[];
    public readonly extraOutputs: Record<string, pulumi.Output<unknown>>;
    /** Absent with swarmkit:vpcId: the droplets go into that existing VPC. */
    public readonly vpc?: digitalocean.Vpc;
    public readonly vpcId: pulumi.Output<string>;
    public readonly droplets: digitalocean.Droplet[];
    /** Absent with swarmkit:cloudFirewall false. */
    public readonly cloudFirewall?: digitalocean.Firewall;
    /** The host firewall of every droplet. */
    public readonly firewall: pulumi.Output<HostFirewallArgs>;
    /** Absent without published ports or with swarmkit:loadBalancer false. */
    public readonly loadBalancer?: digitalocean.LoadBalancer;

    constructor(name: string, args: DigitalOceanHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:digitalocean:Hosts", name, {}, opts);
        const config: SwarmkitConfig = args.config;
        const settings: DigitalOceanSettings | undefined = config.digitalocean;
        if (!settings) throw new Error("DigitalOceanHosts needs the digitalocean settings (provider digitalocean)");
        const stack = pulumi.getStack();
        const layout = hostNames(config.managers, config.workers);

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
                    name: clusterTagName(stack),
                    region: settings.region,
                    ipRange: settings.vpcCidr,
                    description: `swarmkit stack ${stack}`,
                },
                { parent: this },
            );
            this.vpcId = this.vpc.id;
            vpcRange = pulumi.output(settings.vpcCidr);
        }

        // Tags are declared, not just named on the droplets, so the firewall and the load balancer that select by
        // them find them existing.
        const clusterTag = new digitalocean.Tag(`${name}-tag`, { name: clusterTagName(stack) }, { parent: this });
        const roles = [...new Set(layout.map((h) => h.role))];
        const roleTags = new Map<Role, digitalocean.Tag>(
            roles.map((role) => [role, new digitalocean.Tag(`${name}-tag-${role}`, { name: roleTagName(stack, role) }, { parent: this })]),
        );

        // A key the account already has is taken as it is: DigitalOcean refuses to upload the same key twice.
        const sshKeyRef: pulumi.Input<string> =
            settings.existingSshKey ??
            new digitalocean.SshKey(`${name}-ssh-key`, { name: clusterTagName(stack), publicKey: args.sshPublicKey }, { parent: this }).fingerprint;

        if (wantsLoadBalancer(settings, config.publishedPorts)) {
            this.loadBalancer = new digitalocean.LoadBalancer(
                `${name}-lb`,
                {
                    name: clusterTagName(stack),
                    region: settings.region,
                    vpcUuid: this.vpcId,
                    dropletTag: clusterTag.name,
                    forwardingRules: forwardingRules(config.publishedPorts),
                    healthcheck: healthcheck(config.publishedPorts),
                },
                { parent: this },
            );
        }

        if (settings.cloudFirewall) {
            this.cloudFirewall = new digitalocean.Firewall(
                `${name}-firewall`,
                {
                    name: clusterTagName(stack),
                    tags: [clusterTag.name],
                    inboundRules: inboundRules(portTable(config.publishedPorts), {
                        adminCidr: config.adminCidr,
                        clusterTag: clusterTag.name,
                        loadBalancerUid: this.loadBalancer?.id,
                    }),
                    outboundRules: outboundRules(),
                },
                { parent: this },
            );
        }

        this.firewall = vpcRange.apply((range) => dropletFirewall(config, { ...settings, vpcCidr: range }));
        const privateKey = pulumi.secret(args.sshPrivateKey);
        this.droplets = [];
        this.hosts = layout.map(({ name: hostName, role }) => {
            const hostKey = createHostKey(`${name}-${hostName}-host-key`, this);
            const spec = dropletMachineSpec(config, settings, role);
            const droplet = new digitalocean.Droplet(
                `${name}-${hostName}`,
                {
                    name: dropletName(stack, hostName),
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
                            .all([args.sshPublicKey, hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, vpcRange])
                            .apply(([sshPublicKey, privateHostKey, publicHostKey, range]) =>
                                dropletUserData({
                                    hostname: hostName,
                                    config,
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
                    dependsOn: machineDependsOn(args.rollout, { name: hostName, role, machineSpec: spec }),
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
                user: config.ssh.user,
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
            };
        });

        const loadBalancerIp: pulumi.Output<string> = this.loadBalancer ? this.loadBalancer.ip : pulumi.output("");
        this.extraOutputs = { loadBalancerIp, dropletTag: clusterTag.name };
        this.registerOutputs({
            hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, sshAddress: h.sshAddress, privateAddress: h.privateAddress })),
            vpcId: this.vpcId,
            loadBalancerIp,
        });
    }
}
