/**
 * The network the nodes live in: the kit's own VPC (internet gateway, one public route table, one public subnet
 * per availability zone), or an existing VPC and public subnets named in config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsSettings } from "../settings";
import { formatIpv4, parseIpv4 } from "../../net";
import { Tagger } from "./tags";

/** The whole IPv4 internet: the default route, all-egress, and the load balancer's listeners. */
export const ANYWHERE_IPV4 = "0.0.0.0/0";

/** Each public subnet is the VPC range four bits longer: up to 16 zones' worth, e.g. /20s in a /16. */
const SUBNET_EXTRA_BITS = 4;

export interface Network {
    vpcId: pulumi.Output<string>;
    /** Range of the VPC: the nodes' private addresses and the addresses the load balancer sends from. */
    vpcCidr: pulumi.Output<string>;
    /** Public subnets, one per zone, in zone order (index i is zone i of the placement). */
    subnetIds: pulumi.Output<string>[];
    /** Availability zone of each subnet, same order. */
    zones: pulumi.Output<string>[];
    /** What instances wait for: the route to the internet, which cloud-init needs at first boot. */
    ready: pulumi.Resource[];
}

/** The first `count` subnets of `vpcCidr`, each SUBNET_EXTRA_BITS longer. */
export function subnetCidrs(vpcCidr: string, count: number): string[] {
    const [base, prefixText] = vpcCidr.split("/");
    const address = parseIpv4(base);
    const prefix = Number(prefixText);
    const subnetPrefix = prefix + SUBNET_EXTRA_BITS;
    if (address === undefined || count > 2 ** SUBNET_EXTRA_BITS || subnetPrefix > 28) {
        throw new Error(`cannot cut ${count} subnets of /${subnetPrefix} out of ${vpcCidr}`);
    }
    const size = 2 ** (32 - subnetPrefix);
    return Array.from({ length: count }, (_, i) => `${formatIpv4(address + i * size)}/${subnetPrefix}`);
}

export interface ExistingSubnet {
    id: string;
    vpcId: string;
    availabilityZone: string;
}

/** An existing VPC's subnets must belong to it and sit in distinct zones, or one zone could hold a majority of managers. */
export function checkExistingSubnets(vpcId: string, subnets: readonly ExistingSubnet[]): void {
    const problems: string[] = [];
    const byZone = new Map<string, string[]>();
    for (const s of subnets) {
        if (s.vpcId !== vpcId) problems.push(`subnet ${s.id} is in ${s.vpcId}, not in the VPC ${vpcId} (existingVpc.vpcId, swarmkit:vpcId)`);
        byZone.set(s.availabilityZone, [...(byZone.get(s.availabilityZone) ?? []), s.id]);
    }
    for (const [zone, ids] of byZone) {
        if (ids.length > 1) problems.push(`subnets ${ids.join(", ")} share the zone ${zone}; the subnets (existingVpc.subnetIds, swarmkit:subnetIds) take one per zone`);
    }
    if (problems.length > 0) throw new Error(`the existing subnets are not allowed: ${problems.join("; ")}`);
}

export function createNetwork(name: string, settings: AwsSettings, tags: Tagger, parent: pulumi.Resource): Network {
    return settings.existingVpc ? existingNetwork(settings.existingVpc, parent) : ownNetwork(name, settings, tags, parent);
}

function ownNetwork(name: string, settings: AwsSettings, tags: Tagger, parent: pulumi.Resource): Network {
    const count = settings.availabilityZones;
    const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        { cidrBlock: settings.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: tags("vpc") },
        { parent },
    );
    const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("igw") }, { parent });
    const routeTable = new aws.ec2.RouteTable(
        `${name}-public`,
        { vpcId: vpc.id, routes: [{ cidrBlock: ANYWHERE_IPV4, gatewayId: gateway.id }], tags: tags("public") },
        { parent },
    );
    // Regular zones only: Local Zones and Wavelength Zones are opt-in and lack most instance types.
    const available = aws.getAvailabilityZonesOutput(
        { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
        { parent },
    );
    const zoneNames = available.names.apply((names) => {
        if (names.length < count) {
            throw new Error(
                `availabilityZones (swarmkit:availabilityZones) = "${count}" is not allowed: the region has ${names.length} available zones (${names.join(", ")})`,
            );
        }
        return names.slice(0, count);
    });
    const zones = Array.from({ length: count }, (_, i) => zoneNames.apply((names) => names[i]));
    const subnets = subnetCidrs(settings.vpcCidr, count).map(
        (cidrBlock, i) =>
            new aws.ec2.Subnet(
                `${name}-public-${i + 1}`,
                {
                    vpcId: vpc.id,
                    cidrBlock,
                    availabilityZone: zones[i],
                    // Instances ask for their public address themselves (associatePublicIpAddress).
                    mapPublicIpOnLaunch: false,
                    tags: tags(`public-${i + 1}`),
                },
                { parent },
            ),
    );
    const associations = subnets.map(
        (subnet, i) =>
            new aws.ec2.RouteTableAssociation(`${name}-public-${i + 1}-routes`, { subnetId: subnet.id, routeTableId: routeTable.id }, { parent }),
    );
    return {
        vpcId: vpc.id,
        vpcCidr: vpc.cidrBlock,
        subnetIds: subnets.map((s) => s.id),
        zones,
        ready: [gateway, routeTable, ...associations],
    };
}

function existingNetwork(existing: { vpcId: string; subnetIds: string[] }, parent: pulumi.Resource): Network {
    const vpc = aws.ec2.getVpcOutput({ id: existing.vpcId }, { parent });
    const checked = pulumi
        .all(
            existing.subnetIds.map((id) => {
                const s = aws.ec2.getSubnetOutput({ id }, { parent });
                return pulumi.all([s.vpcId, s.availabilityZone]).apply(([vpcId, availabilityZone]) => ({ id, vpcId, availabilityZone }));
            }),
        )
        .apply((subnets) => {
            checkExistingSubnets(existing.vpcId, subnets);
            return subnets;
        });
    return {
        vpcId: pulumi.output(existing.vpcId),
        vpcCidr: vpc.cidrBlock,
        // Through the check, so nothing is placed in subnets that failed it.
        subnetIds: existing.subnetIds.map((_, i) => checked.apply((s) => s[i].id)),
        zones: existing.subnetIds.map((_, i) => checked.apply((s) => s[i].availabilityZone)),
        ready: [],
    };
}
