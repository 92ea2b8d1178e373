/**
 * AwsHosts under Pulumi mocks: the network, every security group rule, the placement over zones, the instances,
 * the load balancer and the SwarmHost shape handed to SwarmCluster. The expected rules are spelled out here on
 * purpose (not derived from the port table), so a row or a mapping that changes makes these tests fail.
 */
import { withSeams } from "../../components/swarm/seams";
import { awsArgs } from "../../components/stackHardware";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig, parseConfig } from "../../components/config";
import { renderCloudInit } from "../../components/hardware/cloudInit";
import type { AwsHosts } from "../../components/hardware/aws";
import {
    RecordedResource,
    addCallFaker,
    addOutputFaker,
    dependencies,
    installMocks,
    recordDependencies,
    resources,
    settle,
    unwrap,
    fakeKeyPair,
    childOptions,
    resolvedDependencies,
    reveal,
} from "./mocks";
import { PREVIOUS_TOKENS, previousDeployment, replacementChain, rollSwarm } from "./roll";
import type { Rollout } from "../../components/swarm/rollout";
import type { SwarmCluster } from "../../components/swarm/cluster";
import type { SwarmObservation } from "../../components/swarm/observe";
import { retryWaitSeconds } from "../../components/ssh/dialPolicy";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForSwarmkitUnitTestsOnly swarmkit-unit";
const PRIVATE_KEY = "-----BEGIN FAKE TEST KEY-----\nfake-key-for-unit-tests\n-----END FAKE TEST KEY-----\n";
const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const AMI = "ami-0123456789abcdef0";
const EXISTING_VPC = "vpc-0existing";
const EXISTING_VPC_CIDR = "172.31.0.0/16";
const EXISTING_SUBNETS: Record<string, string> = { "subnet-0a": "eu-west-1a", "subnet-0b": "eu-west-1b", "subnet-0c": "eu-west-1c" };

const T = {
    component: "swarmkit:aws:Hosts",
    vpc: "aws:ec2/vpc:Vpc",
    igw: "aws:ec2/internetGateway:InternetGateway",
    routeTable: "aws:ec2/routeTable:RouteTable",
    association: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    subnet: "aws:ec2/subnet:Subnet",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    oldRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    keyPair: "aws:ec2/keyPair:KeyPair",
    instance: "aws:ec2/instance:Instance",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    attachment: "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    command: "command:remote:Command",
};

const calls: pulumi.runtime.MockCallArgs[] = [];
const fakeIps = new Map<string, { publicIp: string; privateIp: string }>();
let hostCounter = 0;

function installFakers(): void {
    addCallFaker((args) => {
        switch (args.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                calls.push(args);
                return { id: "eu-west-1", names: ZONES, zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"], groupNames: ["eu-west-1"], state: "available" };
            case "aws:ec2/getAmi:getAmi":
                calls.push(args);
                return { id: AMI, imageId: AMI, name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101", architecture: "x86_64" };
            case "aws:ec2/getVpc:getVpc":
                calls.push(args);
                return { id: args.inputs.id, cidrBlock: EXISTING_VPC_CIDR };
            case "aws:ec2/getSubnet:getSubnet":
                calls.push(args);
                return { id: args.inputs.id, vpcId: EXISTING_VPC, availabilityZone: EXISTING_SUBNETS[args.inputs.id] };
        }
        return undefined;
    });
    addOutputFaker((args) => {
        switch (args.type) {
            case T.instance: {
                const n = ++hostCounter;
                const ips = { publicIp: `198.51.100.${n}`, privateIp: `10.42.${n}.10` };
                fakeIps.set(args.name, ips);
                return ips;
            }
            case T.keyPair:
                return { keyName: `${args.name}-fake` };
            case T.lb:
                return { arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/${args.name}/0f`, dnsName: `${args.name}-0f.elb.eu-west-1.amazonaws.com` };
            case T.targetGroup:
                return { arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${args.name}/0f` };
            case T.command: {
                if (args.name.endsWith("-init-manager-1")) return { stdout: JSON.stringify({ nodeId: "node-manager-1", clusterId: "cluster-1" }) };
                if (args.name.endsWith("-tokens")) return { stdout: JSON.stringify({ worker: "SWMTKN-w", manager: "SWMTKN-m", unlockKey: "SWMKEY-1" }) };
                const join = /-join-(.+)$/.exec(args.name);
                if (join) return { stdout: `node-${join[1]}\n` };
                return { stdout: "" };
            }
        }
        return undefined;
    });
}

function rawConfig(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
    return {
        "swarmkit:provider": "aws",
        "aws:region": "eu-west-1",
        "swarmkit:managers": "3",
        "swarmkit:workers": "2",
        "swarmkit:adminCidr": "203.0.113.0/24",
        "swarmkit:publishedPorts": "[80, 443]",
        "swarmkit:sshPublicKey": PUBLIC_KEY,
        "swarmkit:sshPrivateKey": PRIVATE_KEY,
        ...overrides,
    };
}

interface Built {
    prefix: string;
    config: SwarmkitConfig;
    hw: AwsHosts;
    of(type: string): RecordedResource[];
    named(name: string, type?: string): RecordedResource;
    byId(id: string): RecordedResource;
}

/** Waits until the mocks stop registering resources (attachments wait for instance ids and target group arns). */
async function quiet(): Promise<void> {
    let count = -1;
    while (count !== resources.length) {
        count = resources.length;
        await settle();
    }
}

async function build(prefix: string, overrides: Record<string, string | undefined> = {}, plainPrivateKey = false): Promise<Built> {
    const raw = rawConfig(overrides);
    const config = parseConfig((k) => raw[k]);
    const { AwsHosts } = await import("../../components/hardware/aws");
    const hw = new AwsHosts(
        prefix,
        awsArgs(config, { publicKey: PUBLIC_KEY, privateKey: plainPrivateKey ? PRIVATE_KEY : pulumi.secret(PRIVATE_KEY) }),
        { transformations: [recordDependencies] },
    );
    await Promise.all(hw.hosts.map((h) => unwrap(h.machineId)));
    await unwrap(hw.loadBalancerDnsName);
    await quiet();
    const mine = resources.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
    return {
        prefix,
        config,
        hw,
        of: (type) => mine.filter((r) => r.type === type),
        named(name, type) {
            const found = mine.filter((r) => r.name === `${prefix}-${name}` && (type === undefined || r.type === type));
            assert.equal(found.length, 1, `one resource named ${prefix}-${name}${type ? ` of type ${type}` : ""}`);
            return found[0];
        },
        byId(id) {
            const found = mine.find((r) => r.id === id);
            assert.ok(found, `a resource with id ${id}`);
            return found;
        },
    };
}

// ---- rules, spelled the way the expectations below read ------------------------------------------------------

interface Rule {
    type: "ingress" | "egress";
    group: string;
    text: string;
    inputs: Record<string, any>;
}

function rulesOf(b: Built): Rule[] {
    const groupName = (id: string) => b.byId(id).name.slice(b.prefix.length + 1);
    const all = [...b.of(T.ingress).map((r) => ["ingress", r] as const), ...b.of(T.egress).map((r) => ["egress", r] as const)];
    return all.map(([type, r]) => {
        const i = r.inputs;
        const peers = [i.cidrIpv4 !== undefined, i.referencedSecurityGroupId !== undefined, i.prefixListId !== undefined, i.cidrIpv6 !== undefined];
        assert.equal(peers.filter(Boolean).length, 1, `${r.name} has exactly one source or destination: ${JSON.stringify(i)}`);
        const peer =
            i.cidrIpv4 !== undefined ? i.cidrIpv4 : i.referencedSecurityGroupId === i.securityGroupId ? "self" : `sg:${groupName(i.referencedSecurityGroupId)}`;
        const ports = i.fromPort === undefined && i.toPort === undefined ? "" : ` ${i.fromPort}-${i.toPort}`;
        const direction = type === "ingress" ? "from" : "to";
        // Spelled as the rule's match reads: protocol, ports, and the one range it admits (for the checks below).
        const inputs = { ...i, protocol: i.ipProtocol, cidrBlocks: i.cidrIpv4 !== undefined ? [i.cidrIpv4] : undefined };
        return { type, group: groupName(i.securityGroupId), text: `${i.ipProtocol}${ports} ${direction} ${peer}`, inputs };
    });
}

const texts = (rules: Rule[], group: string, type: "ingress" | "egress") =>
    rules
        .filter((r) => r.group === group && r.type === type)
        .map((r) => r.text)
        .sort();

const SWARM_RULES = ["tcp 2377-2377 from self", "tcp 7946-7946 from self", "udp 7946-7946 from self", "udp 4789-4789 from self", "50 from self"];

/** Whether an ingress rule lets `port` in (any protocol other than tcp/udp/icmp opens every port on AWS). */
function opens(rule: Rule, port: number): boolean {
    const { protocol, fromPort, toPort } = rule.inputs;
    if (["-1", "all", "6", "17"].includes(String(protocol))) return true;
    if (protocol === "tcp" || protocol === "udp") return fromPort <= port && port <= toPort;
    return false;
}

function assertNoDockerApi(b: Built): void {
    for (const rule of rulesOf(b).filter((r) => r.type === "ingress")) {
        for (const port of [2375, 2376]) assert.ok(!opens(rule, port), `${rule.group}: ${rule.text} opens ${port}`);
    }
    for (const r of [...b.of(T.listener), ...b.of(T.targetGroup), ...b.of(T.attachment)]) {
        assert.ok(![2375, 2376].includes(r.inputs.port), `${r.name} uses ${r.inputs.port}`);
    }
    for (const instance of b.of(T.instance)) {
        assert.doesNotMatch(userDataOf(instance), /\b237[56]\b/, `${instance.name} user data mentions a Docker API port`);
    }
}

/** Secret inputs reach the mocks wrapped in Pulumi's secret signature. */
const SECRET_SIG = pulumi.runtime.specialSecretSig;
const SIG_KEY = pulumi.runtime.specialSigKey;
function isSecretValue(value: any): boolean {
    return typeof value === "object" && value !== null && value[SIG_KEY] === SECRET_SIG;
}
function revealed(value: any): any {
    return isSecretValue(value) ? value.value : value;
}

/** An instance's user data: secret (it carries the instance's private host key), here revealed. */
function userDataOf(instance: RecordedResource): string {
    assert.ok(isSecretValue(instance.inputs.userData), `${instance.name} user data is not secret`);
    return revealed(instance.inputs.userData);
}

/** One rule of the rendered host firewall matches. */
function assertFirewallLine(userData: string, pattern: RegExp): void {
    assert.ok(
        userData.split("\n").some((line) => line.includes("-A SWARMKIT-") && pattern.test(line)),
        `no host firewall rule matches ${pattern}`,
    );
}

function zoneOf(b: Built, instance: RecordedResource): string {
    const subnetId: string = instance.inputs.subnetId;
    if (b.config.aws?.existingVpc) return EXISTING_SUBNETS[subnetId];
    return b.byId(subnetId).inputs.availabilityZone;
}

function assertQuorumSurvivesAnyZone(b: Built, expectedZones: string[]): void {
    const managers = b.hw.hosts.filter((h) => h.role === "manager").map((h) => b.named(h.name, T.instance));
    const zones = managers.map((m) => zoneOf(b, m));
    assert.deepEqual(zones, expectedZones);
    const majority = Math.floor(managers.length / 2) + 1;
    for (const zone of new Set(zones)) {
        const inZone = zones.filter((z) => z === zone).length;
        assert.ok(inZone < majority, `${zone} holds ${inZone} of ${managers.length} managers, a majority`);
        assert.ok(managers.length - inZone >= majority, `losing ${zone} leaves ${managers.length - inZone} managers, below quorum ${majority}`);
    }
}

before(async () => {
    await installMocks({ "aws:region": "eu-west-1" });
    installFakers();
});

describe("AwsHosts, 3 managers + 2 workers, ports 80 and 443", () => {
    let b: Built;
    before(async () => {
        b = await build("c3");
    });

    it("is a swarmkit:aws:Hosts component and parents every child", () => {
        assert.equal(b.of(T.component).length, 1);
        assert.equal(b.of(T.component)[0].name, "c3");
        const children = resources.filter((r) => r.name.startsWith("c3-"));
        assert.ok(children.length > 20);
        // The transformation given to the component reaches exactly the resources parented (transitively) by it.
        for (const child of children) assert.ok(dependencies.has(child.name), `${child.name} (${child.type}) is not a child of the component`);
    });

    it("returns the hosts managers first, in hostNames order, with their roles", () => {
        assert.deepEqual(
            b.hw.hosts.map((h) => `${h.name}:${h.role}`),
            ["manager-1:manager", "manager-2:manager", "manager-3:manager", "worker-1:worker", "worker-2:worker"],
        );
    });

    it("builds its own VPC with an internet gateway, a public route table and a subnet in each of 3 zones", async () => {
        const [vpc] = b.of(T.vpc);
        assert.equal(b.of(T.vpc).length, 1);
        assert.equal(vpc.inputs.cidrBlock, "10.42.0.0/16");
        const [igw] = b.of(T.igw);
        assert.equal(igw.inputs.vpcId, vpc.id);
        const [table] = b.of(T.routeTable);
        assert.equal(table.inputs.vpcId, vpc.id);
        assert.deepEqual(
            table.inputs.routes.map((r: any) => [r.cidrBlock, r.gatewayId]),
            [["0.0.0.0/0", igw.id]],
        );
        const subnets = b.of(T.subnet);
        assert.deepEqual(
            subnets.map((s) => [s.inputs.availabilityZone, s.inputs.cidrBlock, s.inputs.vpcId]),
            [
                ["eu-west-1a", "10.42.0.0/20", vpc.id],
                ["eu-west-1b", "10.42.16.0/20", vpc.id],
                ["eu-west-1c", "10.42.32.0/20", vpc.id],
            ],
        );
        const associations = b.of(T.association);
        assert.deepEqual(associations.map((a) => a.inputs.subnetId).sort(), subnets.map((s) => s.id).sort());
        for (const a of associations) assert.equal(a.inputs.routeTableId, table.id);
        const zoneCall = calls.find((c) => c.token === "aws:index/getAvailabilityZones:getAvailabilityZones");
        assert.equal(zoneCall?.inputs.state, "available");
        assert.equal((await unwrap(b.hw.vpcId)).value, vpc.id);
    });

    it("starts instances only after their subnets route to the internet gateway", () => {
        const associations = b.of(T.association).map((a) => a.name);
        for (const instance of b.of(T.instance)) {
            const deps = dependencies.get(instance.name) ?? [];
            for (const a of associations) assert.ok(deps.includes(a), `${instance.name} does not wait for ${a}`);
        }
    });

    it("spreads managers over the zones so that losing any one keeps quorum, and workers round-robin", () => {
        assertQuorumSurvivesAnyZone(b, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert.deepEqual(
            ["worker-1", "worker-2"].map((w) => zoneOf(b, b.named(w, T.instance))),
            ["eu-west-1a", "eu-west-1b"],
        );
    });

    it("node group: swarm ports only from itself, SSH only from adminCidr, published ports only from the LB group", () => {
        const rules = rulesOf(b);
        assert.deepEqual(
            texts(rules, "nodes", "ingress"),
            [...SWARM_RULES, "tcp 22-22 from 203.0.113.0/24", "tcp 80-80 from sg:lb", "tcp 443-443 from sg:lb"].sort(),
        );
        assert.deepEqual(texts(rules, "nodes", "egress"), ["-1 to 0.0.0.0/0"]);
        const nodesGroup = b.named("nodes", T.sg);
        assert.equal(nodesGroup.inputs.vpcId, b.of(T.vpc)[0].id);
        // No inline rules: they would fight the separate rule resources.
        assert.equal(nodesGroup.inputs.ingress, undefined);
        assert.equal(nodesGroup.inputs.egress, undefined);
    });

    it("LB group: the listeners' ports from anywhere, out only to the nodes on those ports", () => {
        const rules = rulesOf(b);
        assert.deepEqual(texts(rules, "lb", "ingress"), ["tcp 443-443 from 0.0.0.0/0", "tcp 80-80 from 0.0.0.0/0"]);
        assert.deepEqual(texts(rules, "lb", "egress"), ["tcp 443-443 to sg:nodes", "tcp 80-80 to sg:nodes"]);
        assert.deepEqual(b.of(T.sg).map((g) => g.name).sort(), ["c3-lb", "c3-nodes"]);
    });

    it("opens nothing to 0.0.0.0/0 but the LB listeners, and never 2375/2376", () => {
        for (const rule of rulesOf(b).filter((r) => r.type === "ingress")) {
            const cidrs: string[] = rule.inputs.cidrBlocks ?? [];
            if (cidrs.includes("0.0.0.0/0")) {
                assert.equal(rule.group, "lb", `${rule.group}: ${rule.text}`);
                assert.ok([80, 443].includes(rule.inputs.fromPort), rule.text);
            }
            assert.notEqual(rule.inputs.protocol, "-1", `${rule.group}: ${rule.text} opens every protocol`);
        }
        assertNoDockerApi(b);
    });

    it("one NLB across the public subnets, behind the LB group", async () => {
        const lbs = b.of(T.lb);
        assert.equal(lbs.length, 1);
        const lb = lbs[0].inputs;
        assert.equal(lb.loadBalancerType, "network");
        assert.equal(lb.internal, false);
        assert.deepEqual(lb.securityGroups, [b.named("lb", T.sg).id]);
        assert.deepEqual([...lb.subnets].sort(), b.of(T.subnet).map((s) => s.id).sort());
        assert.equal((await unwrap(b.hw.loadBalancerDnsName)).value, "c3-nlb-0f.elb.eu-west-1.amazonaws.com");
    });

    it("per published port: a TCP target group with its health check, a listener, and every node attached", () => {
        const instanceIds = b.of(T.instance).map((i) => i.id).sort();
        assert.equal(instanceIds.length, 5);
        const lbArn = `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/c3-nlb/0f`;
        assert.equal(b.of(T.targetGroup).length, 2);
        assert.equal(b.of(T.listener).length, 2);
        for (const port of [80, 443]) {
            const tg = b.named(`tg-published-${port}`, T.targetGroup).inputs;
            assert.equal(tg.port, port);
            assert.equal(tg.protocol, "TCP");
            assert.equal(tg.targetType, "instance");
            assert.equal(tg.vpcId, b.of(T.vpc)[0].id);
            // The host firewall accepts published ports from the VPC only: the NLB must send from its own address.
            assert.equal(tg.preserveClientIp, "false");
            assert.equal(tg.healthCheck.enabled, true);
            assert.equal(tg.healthCheck.protocol, "TCP");
            assert.equal(tg.healthCheck.port, String(port));
            const tgArn = `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/c3-tg-published-${port}/0f`;
            const listener = b.named(`listener-published-${port}`, T.listener).inputs;
            assert.equal(listener.loadBalancerArn, lbArn);
            assert.equal(listener.port, port);
            assert.equal(listener.protocol, "TCP");
            assert.deepEqual(
                listener.defaultActions.map((a: any) => [a.type, a.targetGroupArn]),
                [["forward", tgArn]],
            );
            const attachments = b.of(T.attachment).filter((a) => a.inputs.targetGroupArn === tgArn);
            assert.deepEqual(attachments.map((a) => a.inputs.targetId).sort(), instanceIds);
            for (const a of attachments) assert.equal(a.inputs.port, port);
        }
        assert.equal(b.of(T.attachment).length, 10);
    });

    it("instances: image, sizes, key pair, public address, IMDSv2, encrypted gp3 root, tags", async () => {
        const keyPairs = b.of(T.keyPair);
        assert.equal(keyPairs.length, 1);
        assert.equal(keyPairs[0].inputs.publicKey, PUBLIC_KEY);
        const amiCall = calls.find((c) => c.token === "aws:ec2/getAmi:getAmi");
        assert.ok(amiCall, "the image is looked up");
        assert.deepEqual(amiCall.inputs.owners, ["099720109477"]);
        assert.equal(amiCall.inputs.mostRecent, true);
        const nameFilter = amiCall.inputs.filters.find((f: any) => f.name === "name");
        assert.deepEqual(nameFilter.values, ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]);
        const nodesGroup = b.named("nodes", T.sg);
        for (const host of b.hw.hosts) {
            const i = b.named(host.name, T.instance).inputs;
            assert.equal(i.ami, AMI);
            assert.equal(i.instanceType, host.role === "manager" ? "t3.small" : "t3.medium");
            assert.equal(i.keyName, "c3-key-fake");
            assert.deepEqual(i.vpcSecurityGroupIds, [nodesGroup.id]);
            assert.equal(i.associatePublicIpAddress, true);
            assert.equal(i.metadataOptions.httpTokens, "required");
            assert.equal(i.metadataOptions.httpEndpoint, "enabled");
            assert.equal(i.rootBlockDevice.encrypted, true);
            assert.equal(i.rootBlockDevice.volumeType, "gp3");
            assert.equal(i.rootBlockDevice.volumeSize, 20);
            assert.equal(i.userDataReplaceOnChange, false);
            assert.deepEqual(i.tags, { Name: `swarmkit-unit-${host.name}`, "swarmkit:stack": "unit", "swarmkit:role": host.role });
            assert.deepEqual(i.volumeTags, i.tags);
        }
    });

    it("user data: the host name, its own host key, and the host firewall with the VPC as nodes and load balancer range", () => {
        for (const host of b.hw.hosts) {
            const userData = userDataOf(b.named(host.name, T.instance));
            const key = fakeKeyPair(`c3-${host.name}-host-key`);
            // Exactly the kit's cloud-init with these arguments (the key pair authorises "ubuntu": no second copy)...
            assert.equal(
                userData,
                renderCloudInit({
                    hostname: host.name,
                    user: "ubuntu",
                    firewall: { nodes: ["10.42.0.0/16"], admin: ["0.0.0.0/0"], loadBalancer: ["10.42.0.0/16"], publishedPorts: [80, 443] },
                    hostKey: { privateKey: key.privateKeyOpenssh, publicKey: key.publicKeyOpenssh },
                }),
            );
            // ...which reads, line by line, as follows. SSH is the security group's to restrict: a new adminCidr
            // then needs one pulumi up, and the host firewall never pins SSH to an old range.
            assert.ok(userData.includes(`hostname: "${host.name}"`), `${host.name} hostname`);
            assertFirewallLine(userData, /-A SWARMKIT-INPUT -s 0\.0\.0\.0\/0 -j SWARMKIT-ADMIN/);
            assertFirewallLine(userData, /-A SWARMKIT-INPUT -s 10\.42\.0\.0\/16 -j SWARMKIT-NODES/);
            assertFirewallLine(userData, /-A SWARMKIT-NODES -p tcp -m tcp --dport 2377 .*ACCEPT/);
            assertFirewallLine(userData, /-A SWARMKIT-NODES -p esp .*ACCEPT/);
            for (const port of [80, 443]) assertFirewallLine(userData, new RegExp(`--ctorigdstport ${port} -s 10\\.42\\.0\\.0/16 .*RETURN`));
            assert.ok(!userData.includes("ssh_authorized_keys"));
            assert.ok(userData.includes(`ed25519_public: ${JSON.stringify(key.publicKeyOpenssh.trim())}`));
        }
    });

    it("the host firewall step gets the same rules as the boot-time copy", async () => {
        assert.deepEqual((await unwrap(b.hw.firewall)).value, { nodes: ["10.42.0.0/16"], admin: ["0.0.0.0/0"], loadBalancer: ["10.42.0.0/16"], publishedPorts: [80, 443] });
    });

    it("SwarmHost: SSH to the public address, swarm on the private one, the key secret, the instance as identity", async () => {
        for (const host of b.hw.hosts) {
            const instance = b.named(host.name, T.instance);
            const ips = fakeIps.get(instance.name);
            assert.ok(ips);
            assert.equal((await unwrap(host.sshAddress)).value, ips.publicIp);
            assert.equal((await unwrap(host.privateAddress)).value, ips.privateIp);
            assert.notEqual(ips.publicIp, ips.privateIp);
            assert.equal((await unwrap(host.connection.host)).value, ips.publicIp);
            assert.equal((await unwrap(host.connection.user)).value, "ubuntu");
            const key = await unwrap(host.connection.privateKey);
            assert.equal(key.value, PRIVATE_KEY);
            assert.equal(key.secret, true, `${host.name} private key is not secret`);
            // Once the instance passed its readiness check it must answer: a refusal fails within seconds.
            const limit = (await unwrap(host.connection.dialErrorLimit ?? 0)).value;
            assert.ok(limit >= 0 && retryWaitSeconds(limit) < 10, `dialErrorLimit ${limit} keeps a step waiting on a host that is down`);
            assert.ok(((await unwrap(host.connection.perDialTimeout ?? 0)).value ?? 0) > 0);
            assert.equal((await unwrap(host.connection.hostKey)).value, fakeKeyPair(`c3-${host.name}-host-key`).publicKeyOpenssh.trim(), "the kit's own host key is pinned");
            assert.equal((await unwrap(host.machineId)).value, instance.id);
        }
    });

    it("hands a host over only after its readiness check (cloud-init done, host firewall on, Docker installed)", async () => {
        for (const host of b.hw.hosts) {
            const instance = b.named(host.name, T.instance);
            const ready = b.named(`${host.name}-ready`, T.command).inputs;
            assert.equal(isSecretValue(ready.connection), true);
            assert.equal(revealed(ready.connection).host, fakeIps.get(instance.name)?.publicIp);
            assert.deepEqual(ready.triggers, [instance.id]);
            // The first SSH after boot waits for sshd, on the upstream provider's retry schedule.
            const bootWait = retryWaitSeconds(revealed(ready.connection).dialErrorLimit);
            assert.ok(bootWait >= 120 && bootWait <= 300, `the readiness check waits ${bootWait} s for sshd`);
            assert.ok(ready.create.includes("cloud-init status --wait"));
            assert.ok(ready.create.includes(`swarmkit_host='${host.name}'`));
            assert.ok(ready.create.includes("iptables -w -C INPUT -j SWARMKIT-INPUT"));
            assert.ok(ready.create.includes("command -v docker"));
            // machineId is what SwarmCluster's first step waits for: it has to carry the check as a dependency.
            const deps: Set<pulumi.Resource> = await (host.machineId as any).allResources();
            const urns = await Promise.all([...deps].map((r) => unwrap(r.urn).then((u) => u.value)));
            assert.ok(urns.some((u) => u.endsWith(`::c3-${host.name}-ready`)), `${host.name} machineId does not wait for the check: ${urns.join(", ")}`);
        }
    });

    it("SwarmCluster gets the managers first: init on manager-1 over its public IP, every node advertising its private IP", async () => {
        const { SwarmCluster } = await import("../../components/swarm/cluster");
        const cluster = new SwarmCluster("c3-swarm", withSeams({ hardware: { hosts: b.hw.hosts }, autolock: true, drainManagers: true }, { observation: undefined }));
        await unwrap(cluster.ready);
        await quiet();
        const ipsOf = (name: string) => fakeIps.get(`c3-${name}`) as { publicIp: string; privateIp: string };
        const init = resources.find((r) => r.type === T.command && r.name === "c3-swarm-init-manager-1");
        assert.ok(init, "the swarm is initialised on manager-1");
        // The connection carries the private key, so the engine gets it as a secret.
        assert.equal(isSecretValue(init.inputs.connection), true);
        assert.equal(revealed(init.inputs.connection).host, ipsOf("manager-1").publicIp);
        assert.equal(revealed(init.inputs.connection).privateKey, PRIVATE_KEY);
        assert.ok(init.inputs.create.includes(`--advertise-addr '${ipsOf("manager-1").privateIp}'`));
        for (const name of ["manager-2", "manager-3", "worker-1", "worker-2"]) {
            const join = resources.find((r) => r.type === T.command && r.name === `c3-swarm-join-${name}`);
            assert.ok(join, `${name} joins`);
            assert.equal(revealed(join.inputs.connection).host, ipsOf(name).publicIp);
            assert.ok(join.inputs.create.includes(`--advertise-addr '${ipsOf(name).privateIp}'`), `${name} advertises its private address`);
            const stdin: string = revealed(join.inputs.stdin);
            assert.ok(stdin.endsWith(`\n${["manager-1", "manager-2", "manager-3"].map((m) => ipsOf(m).privateIp).join(" ")}\n`), `${name} joins through the managers' private addresses`);
            assert.ok(!join.inputs.create.includes(ipsOf(name).publicIp) && !stdin.includes(ipsOf(name).publicIp), `${name}'s public address leaks into the swarm`);
        }
        const members = resources.find((r) => r.type === T.command && r.name === "c3-swarm-members");
        assert.ok(members && members.inputs.create.includes("docker node promote"), "the members step promotes the managers");
        assert.equal((await unwrap(cluster.dockerHost)).value, `ssh://ubuntu@${ipsOf("manager-1").publicIp}`);
    });
});

describe("AwsHosts, 5 managers + 3 workers", () => {
    let b: Built;
    before(async () => {
        b = await build("c5", { "swarmkit:managers": "5", "swarmkit:workers": "3" });
    });

    it("returns 5 managers then 3 workers", () => {
        assert.deepEqual(
            b.hw.hosts.map((h) => `${h.name}:${h.role}`),
            [1, 2, 3, 4, 5].map((i) => `manager-${i}:manager`).concat([1, 2, 3].map((i) => `worker-${i}:worker`)),
        );
    });

    it("puts at most 2 of the 5 managers in one zone (losing any zone leaves 3, a quorum)", () => {
        assertQuorumSurvivesAnyZone(b, ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a", "eu-west-1b"]);
        assert.deepEqual(
            ["worker-1", "worker-2", "worker-3"].map((w) => zoneOf(b, b.named(w, T.instance))),
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        );
    });

    it("attaches all 8 nodes to each target group", () => {
        const ids = b.of(T.instance).map((i) => i.id).sort();
        assert.equal(ids.length, 8);
        for (const tg of b.of(T.targetGroup)) {
            const arn = `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${tg.name}/0f`;
            assert.deepEqual(
                b.of(T.attachment).filter((a) => a.inputs.targetGroupArn === arn).map((a) => a.inputs.targetId).sort(),
                ids,
            );
        }
        assert.equal(b.of(T.attachment).length, 16);
    });

    it("keeps the same rules", () => {
        assert.deepEqual(
            texts(rulesOf(b), "nodes", "ingress"),
            [...SWARM_RULES, "tcp 22-22 from 203.0.113.0/24", "tcp 80-80 from sg:lb", "tcp 443-443 from sg:lb"].sort(),
        );
        assertNoDockerApi(b);
    });
});

describe("AwsHosts without published ports", () => {
    let b: Built;
    before(async () => {
        b = await build("nolb", { "swarmkit:publishedPorts": undefined, "swarmkit:managers": "1", "swarmkit:workers": "0" });
    });

    it("makes no load balancer, no LB group, and exports an empty DNS name", async () => {
        for (const type of [T.lb, T.targetGroup, T.listener, T.attachment]) assert.equal(b.of(type).length, 0, type);
        assert.deepEqual(b.of(T.sg).map((g) => g.name), ["nolb-nodes"]);
        assert.equal((await unwrap(b.hw.loadBalancerDnsName)).value, "");
    });

    it("opens only the swarm ports and SSH on the nodes", () => {
        assert.deepEqual(texts(rulesOf(b), "nodes", "ingress"), [...SWARM_RULES, "tcp 22-22 from 203.0.113.0/24"].sort());
        assertNoDockerApi(b);
    });
});

describe("AwsHosts with adminCidr 0.0.0.0/0", () => {
    let b: Built;
    before(async () => {
        b = await build("open", { "swarmkit:adminCidr": "0.0.0.0/0" });
    });

    it("opens SSH to the world and nothing else on the nodes", () => {
        const open = rulesOf(b).filter((r) => r.type === "ingress" && (r.inputs.cidrBlocks ?? []).includes("0.0.0.0/0"));
        assert.deepEqual(open.filter((r) => r.group === "nodes").map((r) => r.text), ["tcp 22-22 from 0.0.0.0/0"]);
        assert.deepEqual(open.filter((r) => r.group !== "nodes").map((r) => r.text).sort(), ["tcp 443-443 from 0.0.0.0/0", "tcp 80-80 from 0.0.0.0/0"]);
        assert.deepEqual(texts(rulesOf(b), "nodes", "ingress").filter((t) => t.includes(" from self")), [...SWARM_RULES].sort());
    });
});

describe("AwsHosts in an existing VPC", () => {
    let b: Built;
    let imageLookups = 0;
    before(async () => {
        const lookups = () => calls.filter((c) => c.token === "aws:ec2/getAmi:getAmi").length;
        const before = lookups();
        b = await build("byo", {
            "swarmkit:vpcId": EXISTING_VPC,
            "swarmkit:subnetIds": JSON.stringify(Object.keys(EXISTING_SUBNETS)),
            "swarmkit:amiId": "ami-0fixed",
            "swarmkit:managerSize": "m7i.large",
        });
        imageLookups = lookups() - before;
    });

    it("creates no network of its own", () => {
        for (const type of [T.vpc, T.subnet, T.igw, T.routeTable, T.association]) assert.equal(b.of(type).length, 0, type);
        for (const g of b.of(T.sg)) assert.equal(g.inputs.vpcId, EXISTING_VPC);
        for (const tg of b.of(T.targetGroup)) assert.equal(tg.inputs.vpcId, EXISTING_VPC);
        assert.deepEqual(b.of(T.lb)[0].inputs.subnets, Object.keys(EXISTING_SUBNETS));
    });

    it("places the managers round-robin over the given subnets", () => {
        assertQuorumSurvivesAnyZone(b, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert.deepEqual(
            b.hw.hosts.map((h) => b.named(h.name, T.instance).inputs.subnetId),
            ["subnet-0a", "subnet-0b", "subnet-0c", "subnet-0a", "subnet-0b"],
        );
    });

    it("uses the fixed image and sizes, and the VPC's own range in the host firewall", () => {
        assert.equal(imageLookups, 0, "swarmkit:amiId is used as is, without a lookup");
        for (const host of b.hw.hosts) {
            const i = b.named(host.name, T.instance).inputs;
            assert.equal(i.ami, "ami-0fixed");
            assert.equal(i.instanceType, host.role === "manager" ? "m7i.large" : "t3.medium");
            const userData = userDataOf(b.named(host.name, T.instance));
            assertFirewallLine(userData, /-A SWARMKIT-INPUT -s 172\.31\.0\.0\/16 -j SWARMKIT-NODES/);
            assertFirewallLine(userData, /--ctorigdstport 443 -s 172\.31\.0\.0\/16 .*RETURN/);
        }
    });
});

describe("AwsHosts with another login user, given a private key that is not marked secret", () => {
    let b: Built;
    before(async () => {
        b = await build("admin", { "swarmkit:sshUser": "admin", "swarmkit:publishedPorts": undefined, "swarmkit:managers": "1", "swarmkit:workers": "0" }, true);
    });

    it("has cloud-init authorise the key for that user", async () => {
        const userData = userDataOf(b.named("manager-1", T.instance));
        assert.ok(userData.includes(`- name: "admin"`));
        assert.ok(userData.includes(JSON.stringify(PUBLIC_KEY)));
        assert.equal((await unwrap(b.hw.hosts[0].connection.user)).value, "admin");
    });

    it("marks the private key secret itself", async () => {
        const key = await unwrap(b.hw.hosts[0].connection.privateKey);
        assert.equal(key.value, PRIVATE_KEY);
        assert.equal(key.secret, true);
    });
});

describe("AwsHosts: an instance deleted outside Pulumi", () => {
    it("is made again by `pulumi up --refresh`, and the new machine joins the swarm again with no old entry left", async () => {
        // The refresh found worker-1's instance gone and dropped it from the state: this run creates a new one
        // (a new id), and the observation reads a fresh machine there (not in the swarm) while the managers still
        // list the old one, Down.
        const b = await build("gone", { "swarmkit:managers": "3", "swarmkit:workers": "2" });
        const { SwarmCluster } = await import("../../components/swarm/cluster");
        const names = b.hw.hosts.map((h) => h.name);
        const observation: SwarmObservation = {
            hosts: Object.fromEntries(
                names.map((n) => [n, { reachable: true, local: { state: "active" as const, controlAvailable: n.startsWith("manager"), remoteManagers: [] } }]),
            ),
            operator: "manager-1",
            nodes: names.map((n) => ({ id: `old-${n}`, hostname: n, status: n === "worker-1" ? "Down" : "Ready", availability: n.startsWith("manager") ? "Drain" : "Active", managerStatus: n === "manager-1" ? "Leader" : n.startsWith("manager") ? "Reachable" : "" })),
            privateAddresses: {},
        };
        observation.hosts["worker-1"] = { reachable: true, local: { state: "inactive" } };
        const cluster = new SwarmCluster("gone-swarm", withSeams({ hardware: { hosts: b.hw.hosts }, autolock: true, drainManagers: true }, { observation: observation }), { transformations: [recordDependencies] });
        await unwrap(cluster.ready);
        await quiet();
        const join = resources.find((r) => r.name === "gone-swarm-join-worker-1");
        assert.ok(join);
        assert.equal(join.inputs.triggers[0], b.named("worker-1", T.instance).id, "the join step follows the instance: a new instance joins anew");
        assert.match(join.inputs.triggers[2], /^repair: not in the swarm/);
        assert.deepEqual(childOptions.get("gone-swarm-join-worker-1")?.ignoreChanges, [], "a fresh token, not the stored one");
        assert.deepEqual(childOptions.get("gone-swarm-join-worker-2")?.ignoreChanges, ["stdin", "triggers[2]"], "the others stay as they are");
        // The members step runs after the new machine joined and removes every entry no configured node owns.
        assert.deepEqual(dependencies.get("gone-swarm-members")?.includes("gone-swarm-join-worker-1"), true);
        assert.match(resources.find((r) => r.name === "gone-swarm-members")!.inputs.create, /case "\$wanted" in \*" \$id "\*\) continue ;; esac/);
    });
});

describe("AWS: a change of instance type rolls the swarm one node at a time", () => {
    const swarm = "awsroll-swarm";
    let built: { hw: AwsHosts; config: SwarmkitConfig; rollout: Rollout; cluster: SwarmCluster };
    let chain: string[];
    before(async () => {
        const { AwsHosts: Hosts } = await import("../../components/hardware/aws");
        const { awsMachineSpec } = await import("../../components/hardware/aws/instances");
        const { placeHosts } = await import("../../components/hardware/aws/placement");
        const { Rollout: RolloutClass } = await import("../../components/swarm/rollout");
        const before = parseConfig((k) => rawConfig({})[k]);
        const after = parseConfig((k) => rawConfig({ "swarmkit:managerSize": "t3.large", "swarmkit:workerSize": "t3.xlarge" })[k]);
        const placements = placeHosts(3, 2, 3);
        const rollout = new RolloutClass(previousDeployment(placements.map((p) => ({ name: p.name, role: p.role, machineSpec: awsMachineSpec(before, before.aws!, p) }))));
        const hw = new Hosts("awsroll", awsArgs(after, { publicKey: PUBLIC_KEY, privateKey: pulumi.secret(PRIVATE_KEY) }, rollout), { transformations: [recordDependencies] });
        const rolled = await rollSwarm(swarm, "awsroll", hw.hosts, rollout, quiet);
        built = { hw, config: after, rollout, cluster: rolled.cluster };
        chain = rolled.chain;
    });

    it("replaces the instances in one chain: the other managers, the first manager, then the workers", () => {
        assert.deepEqual(chain, ["manager-2", "manager-3", "manager-1", "worker-1", "worker-2"]);
    });

    it("makes each instance replace (not stop and start) through its spec, and keeps the network and load balancer", () => {
        for (const host of built.hw.hosts) {
            const trigger = childOptions.get(`awsroll-${host.name}`)?.replacementTrigger;
            assert.equal(trigger, host.machineSpec);
            assert.notEqual(trigger, built.rollout.previousNode(host.name)?.machineSpec, `${host.name}: a new spec`);
            assert.match(String(trigger), host.role === "manager" ? /t3\.large/ : /t3\.xlarge/);
        }
    });

    it("settles each node before the next machine: a manager on itself, a worker through the first manager", async () => {
        for (const [i, host] of chain.entries()) {
            const settle = resources.find((r) => r.name === `${swarm}-settle-${host}`);
            assert.ok(settle, host);
            assert.deepEqual(await resolvedDependencies(`${swarm}-settle-${host}`), [`${swarm}-join-${host}`], `${host} settles right after its join (${i})`);
            const on = reveal(settle.inputs.connection).host;
            const self = fakeIps.get(`awsroll-${host}`)?.publicIp;
            const first = fakeIps.get("awsroll-manager-1")?.publicIp;
            assert.equal(on, host.startsWith("manager") ? self : first, `${host} settles on ${on}`);
        }
    });

    it("joins a rolling node with the last deployment's token (a manager with the manager token), never a new swarm", async () => {
        for (const host of chain) {
            const join = resources.find((r) => r.name === `${swarm}-join-${host}`);
            assert.ok(join, host);
            const stdin = String(reveal(join.inputs.stdin));
            assert.equal(stdin.split("\n")[0], host.startsWith("manager") ? PREVIOUS_TOKENS.manager : PREVIOUS_TOKENS.worker, host);
            assert.equal(stdin.split("\n")[2], "stay");
        }
        const init = childOptions.get(`${swarm}-init-manager-1`);
        assert.deepEqual(init?.ignoreChanges, ["create", "connection", "triggers[0]"], "the founding step is left as it is");
        assert.equal((await built.cluster.plan).refound, undefined);
    });

    it("reads the tokens and fixes the member list only once the roll is done", async () => {
        assert.ok((await resolvedDependencies(`${swarm}-tokens`)).includes(`${swarm}-settle-worker-2`));
        assert.ok((await resolvedDependencies(`${swarm}-members`)).includes(`${swarm}-settle-worker-2`));
    });
});

describe("AWS: an unchanged spec, or a new stack, rolls nothing", () => {
    it("gives no machine a wait on another node, and makes them before the swarm is declared", async () => {
        const { AwsHosts: Hosts } = await import("../../components/hardware/aws");
        const { awsMachineSpec } = await import("../../components/hardware/aws/instances");
        const { placeHosts } = await import("../../components/hardware/aws/placement");
        const { SwarmCluster: Cluster } = await import("../../components/swarm/cluster");
        const { Rollout: RolloutClass } = await import("../../components/swarm/rollout");
        const config = parseConfig((k) => rawConfig({ "swarmkit:adminCidr": "198.51.100.0/24" })[k]);
        const placements = placeHosts(3, 2, 3);
        for (const [prefix, previous] of [
            ["awssame", previousDeployment(placements.map((p) => ({ name: p.name, role: p.role, machineSpec: awsMachineSpec(config, config.aws!, p) })))],
            ["awsnew", undefined],
        ] as const) {
            const rollout = new RolloutClass(previous);
            const hw = new Hosts(prefix, awsArgs(config, { publicKey: PUBLIC_KEY, privateKey: pulumi.secret(PRIVATE_KEY) }, rollout), { transformations: [recordDependencies] });
            // The program reads the machines before it declares the swarm: a machine that does not roll is there then.
            const early = await Promise.race([
                Promise.all(hw.hosts.map((h) => unwrap(h.machineId))).then(() => "made"),
                new Promise((resolve) => setTimeout(() => resolve("still waiting"), 3000)),
            ]);
            assert.equal(early, "made", `${prefix}: the machines wait for a swarm that is not declared yet`);
            const cluster = new Cluster(`${prefix}-swarm`, withSeams({ hardware: { hosts: hw.hosts }, autolock: true, drainManagers: true, rollout }, { observation: undefined }), { transformations: [recordDependencies] });
            await unwrap(cluster.nodes);
            await quiet();
            for (const p of placements) {
                const deps = await resolvedDependencies(`${prefix}-${p.name}`);
                assert.ok(!deps.some((d) => d.includes("-settle-")), `${prefix}-${p.name} waits for ${deps.join(", ")}`);
            }
            assert.deepEqual(await replacementChain(`${prefix}-swarm`, Object.fromEntries(placements.map((p) => [p.name, `${prefix}-${p.name}`]))), []);
        }
    });
});
