/**
 * The EC2 key pair and one instance per host, turned into the kit's SwarmHost shape once cloud-init has finished
 * on it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { AwsSettings, awsNetwork } from "../settings";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { SshConnection, SwarmHost, machineSpec } from "../../host";
import { BOOTING_HOST, LIVE_HOST } from "../../ssh/dialPolicy";
import { renderCloudInit } from "../cloudInit";
import { createHostKey } from "../hostKey";
import { UBUNTU_IMAGE_USER, machineImage } from "./ami";
import { Network } from "./network";
import { Placement } from "./placement";
import { renderReadyCheck } from "../readiness";
import { DockerEngine, HostsCommon, engineSpec, machineDependsOn } from "../types";
import { Tagger } from "./tags";

/**
 * The host firewall of an AWS node: the security group already admits SSH from adminCidr only, so the host does not
 * pin SSH to a range as well (a new admin address then needs one `pulumi up`, not a way in); swarm ports from the
 * VPC; published ports from the VPC, where the NLB sends from (client IP preservation off).
 */
export function awsHostFirewall(vpcCidr: string, publishedPorts: readonly number[], dataPathPort?: number): HostFirewallArgs {
    return { nodes: [vpcCidr], admin: ["0.0.0.0/0"], loadBalancer: [vpcCidr], publishedPorts, ...(dataPathPort === undefined ? {} : { dataPathPort }) };
}

export interface InstancesArgs {
    common: HostsCommon;
    settings: AwsSettings;
    tags: Tagger;
    network: Network;
    securityGroupId: pulumi.Input<string>;
    placements: Placement[];
}

/**
 * What makes an instance: a change of any of these replaces it, one node at a time. The instance type is among them
 * (in place, AWS would stop and start every instance of a role at once, and autolocked managers come back locked);
 * the looked-up image is not (a newer Ubuntu image applies to new instances only; set swarmkit:amiId to roll to one).
 * The network is recorded too, though a change of it is refused on a live stack (components/networkChange.ts, in the kit's program).
 */
export function awsMachineSpec(common: Pick<HostsCommon, "ssh" | "machineRevision"> & { docker?: DockerEngine }, settings: AwsSettings, placement: Placement): string {
    return machineSpec({
        ami: settings.amiId ?? "newest Ubuntu 24.04 at creation",
        instanceType: settings.instanceType[placement.role],
        zone: placement.zone,
        network: awsNetwork(settings),
        user: common.ssh.user,
        revision: common.machineRevision,
        docker: engineSpec(common.docker),
    });
}


export interface Machine {
    placement: Placement;
    instance: aws.ec2.Instance;
    /** Passes once cloud-init has installed Docker and the host firewall. */
    ready: command.remote.Command;
    zone: pulumi.Output<string>;
    host: SwarmHost;
}

export function createInstances(name: string, args: InstancesArgs, parent: pulumi.Resource): { keyPair: aws.ec2.KeyPair; nodes: Machine[] } {
    const { common, settings, network } = args;
    const ami = machineImage(settings, parent);
    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: common.sshPublicKey, tags: args.tags("key") }, { parent });
    const privateKey = common.sshPrivateKey;

    const nodes = args.placements.map((placement): Machine => {
        const hostKey = createHostKey(`${name}-${placement.name}-host-key`, parent);
        // Secret: it carries the machine's private host key.
        const userData = pulumi.secret(
            pulumi
                .all([network.vpcCidr, common.sshPublicKey, hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh])
                .apply(([vpcCidr, publicKey, privateHostKey, publicHostKey]) =>
                    renderCloudInit({
                        hostname: placement.name,
                        user: common.ssh.user,
                        // Canonical's images give the key pair to "ubuntu"; any other login user is created by cloud-init.
                        sshAuthorizedKeys: common.ssh.user === UBUNTU_IMAGE_USER ? undefined : [publicKey],
                        firewall: awsHostFirewall(vpcCidr, common.publishedPorts, common.dataPathPort),
                        docker: common.docker,
                        hostKey: { privateKey: privateHostKey, publicKey: publicHostKey },
                    }),
                ),
        );
        const tags = args.tags(placement.name, placement.role);
        const spec = awsMachineSpec(common, settings, placement);
        const instance = new aws.ec2.Instance(
            `${name}-${placement.name}`,
            {
                ami,
                instanceType: settings.instanceType[placement.role],
                subnetId: network.subnetIds[placement.zone],
                vpcSecurityGroupIds: [args.securityGroupId],
                associatePublicIpAddress: true,
                keyName: keyPair.keyName,
                userData,
                userDataReplaceOnChange: false,
                rootBlockDevice: { volumeType: "gp3", volumeSize: settings.rootVolumeGiB, encrypted: true, deleteOnTermination: true },
                // IMDSv2 only, and one hop: containers (one hop further) cannot read the instance's metadata.
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                tags,
                volumeTags: tags,
            },
            {
                parent,
                dependsOn: machineDependsOn(common.rollout, { name: placement.name, role: placement.role, machineSpec: spec }, network.ready),
                additionalSecretOutputs: ["userData"],
                // A changed spec (instance type, a set amiId, zone, login user, machineRevision) replaces the
                // instance, in the roll's order: a new instance joins before the old one leaves.
                replacementTrigger: spec,
                // User data acts at first boot only: the kit's firewall step applies new rules to running nodes, and
                // anything else that changes it is in the spec. A looked-up image is kept until the spec changes.
                ignoreChanges: settings.amiId === undefined ? ["ami", "userData"] : ["userData"],
            },
        );
        const connection: SshConnection = {
            host: instance.publicIp,
            user: common.ssh.user,
            privateKey,
            hostKey: hostKey.publicKeyOpenssh.apply((k) => k.trim()),
            ...LIVE_HOST,
        };
        // The first SSH after boot waits for sshd and cloud-init; the swarm's steps after it expect an answer.
        const ready = new command.remote.Command(
            `${name}-${placement.name}-ready`,
            {
                connection: { ...connection, ...BOOTING_HOST },
                create: renderReadyCheck(placement.name),
                triggers: [instance.id],
                addPreviousOutputInEnv: false,
            },
            { parent },
        );
        const host: SwarmHost = {
            name: placement.name,
            role: placement.role,
            sshAddress: instance.publicIp,
            privateAddress: instance.privateIp,
            connection,
            // Known only once the instance passed the check: the swarm bootstrap starts with a usable machine.
            machineId: pulumi.all([instance.id, ready.stdout]).apply(([id]) => id),
            machineSpec: spec,
            zone: network.zones[placement.zone],
            ...(aws.config.region ? { region: aws.config.region } : {}),
        };
        return { placement, instance, ready, zone: network.zones[placement.zone], host };
    });
    return { keyPair, nodes };
}
