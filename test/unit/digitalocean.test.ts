import { before, describe, it } from "node:test";
import { withSeams } from "../../components/swarm/seams";
import { digitalOceanArgs } from "../../components/stackHardware";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
    RecordedResource,
    addOutputFaker,
    childOptions,
    dependencies,
    installMocks,
    isSecretValue,
    recordDependencies,
    resources,
    reveal,
    settle,
    unwrap,
    fakeKeyPair,
    addCallFaker,
} from "./mocks";
import { previousDeployment, rollSwarm } from "./roll";
import { cidrsOverlap } from "../../components/net";
import { retryWaitSeconds } from "../../components/ssh/dialPolicy";
import type { SwarmObservation } from "../../components/swarm/observe";
import { ConfigError, SwarmkitConfig, parseConfig } from "../../components/config";
import { hostNames } from "../../components/host";
import { renderHostFirewall } from "../../components/firewall/hostFirewall";
import type { DigitalOceanHosts as DigitalOceanHostsType } from "../../components/hardware/digitalocean";

const ROOT = path.join(__dirname, "..", "..");
const ADMIN = "198.51.100.0/24";
const VPC = "10.43.0.0/20";
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestKeyNotARealOne swarmkit@unit";
const PRIVATE_KEY = "-----BEGIN FAKE TEST KEY-----\nnot-a-real-key\n-----END FAKE TEST KEY-----";
const LB_IP = "192.0.2.250";
const TAG = "swarmkit-unit"; // the mocks run stack "unit"

const T = {
    vpc: "digitalocean:index/vpc:Vpc",
    tag: "digitalocean:index/tag:Tag",
    sshKey: "digitalocean:index/sshKey:SshKey",
    droplet: "digitalocean:index/droplet:Droplet",
    firewall: "digitalocean:index/firewall:Firewall",
    lb: "digitalocean:index/loadBalancer:LoadBalancer",
    command: "command:remote:Command",
};

// Droplets get a public and a private address from different ranges, like on DigitalOcean.
let dropletCount = 0;
addOutputFaker((args) => {
    if (args.type === T.droplet) {
        dropletCount++;
        return { ipv4Address: `192.0.2.${dropletCount}`, ipv4AddressPrivate: `10.43.0.${dropletCount + 1}` };
    }
    if (args.type === T.lb) return { ip: LB_IP };
    if (args.type === T.sshKey) return { fingerprint: "aa:bb:cc:dd" };
    if (args.type === T.command && String(args.inputs.create ?? "").includes("step ready")) return { stdout: "ready\n" };
    return undefined;
});

const EXISTING_VPC_RANGE = "10.110.0.0/20";
addCallFaker((args) => (args.token === "digitalocean:index/getVpc:getVpc" ? { id: args.inputs.id, ipRange: EXISTING_VPC_RANGE, name: "default-fra1" } : undefined));

/** The stack file's config, as `pulumi config` hands it over (flat "namespace:key: value" lines under config:). */
function stackConfig(stack: string): Record<string, string> {
    const text = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8");
    const values: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const match = /^ {2}([a-z]+:[A-Za-z]+): (.*)$/.exec(line);
        if (!match) continue;
        const raw = match[2].trim();
        values[match[1]] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    }
    return values;
}

function configOf(values: Record<string, string>): SwarmkitConfig {
    const all: Record<string, string> = {
        "swarmkit:provider": "digitalocean",
        "swarmkit:region": "fra1",
        "swarmkit:adminCidr": ADMIN,
        "swarmkit:sshPublicKey": PUBLIC_KEY,
        "swarmkit:sshPrivateKey": PRIVATE_KEY,
        "swarmkit:publishedPorts": "[80, 443]",
        ...values,
    };
    return parseConfig((key) => all[key]);
}

let DigitalOceanHosts: typeof DigitalOceanHostsType;
before(async () => {
    await installMocks();
    ({ DigitalOceanHosts } = await import("../../components/hardware/digitalocean"));
});

interface Built {
    name: string;
    component: DigitalOceanHostsType;
    config: SwarmkitConfig;
    of(type: string): RecordedResource[];
    one(type: string): RecordedResource;
}

async function build(name: string, values: Record<string, string>): Promise<Built> {
    const config = configOf(values);
    const component = new DigitalOceanHosts(
        name,
        digitalOceanArgs(config, { publicKey: config.ssh.publicKey as string, privateKey: config.ssh.privateKey as pulumi.Output<string> }),
        { transformations: [recordDependencies] },
    );
    for (const host of component.hosts) await unwrap(host.machineId);
    await unwrap(component.loadBalancerIp);
    await settle();
    const of = (type: string) => resources.filter((r) => r.type === type && r.name.startsWith(`${name}-`));
    const one = (type: string) => {
        const found = of(type);
        assert.equal(found.length, 1, `${name}: expected one ${type}, found ${found.length}`);
        return found[0];
    };
    return { name, component, config, of, one };
}

type Rule = Record<string, any>;
const sourceKinds = (rule: Rule) =>
    ["sourceAddresses", "sourceTags", "sourceLoadBalancerUids", "sourceDropletIds", "sourceKubernetesIds"].filter(
        (k) => Array.isArray(rule[k]) && rule[k].length > 0,
    );
function covers(portRange: string | undefined, port: number): boolean {
    if (portRange === undefined) return false;
    const [low, high] = portRange.split("-").map(Number);
    return port >= low && port <= (high ?? low);
}

for (const stack of ["do-3", "do-5"] as const) {
    describe(`DigitalOceanHosts from stacks/Pulumi.${stack}.yaml`, () => {
        const expected = stack === "do-3" ? { managers: 3, workers: 2 } : { managers: 5, workers: 3 };
        // Apart, so that both stacks fit in one account: DigitalOcean refuses overlapping VPC ranges.
        const stackVpc = stack === "do-3" ? "10.43.0.0/20" : "10.43.16.0/20";
        let b: Built;
        before(async () => {
            b = await build(stack.replace("-", ""), stackConfig(stack));
        });

        it("reads the stack file: digitalocean in fra1, the placeholder admin range, ports 80 and 443", () => {
            const values = stackConfig(stack);
            assert.equal(values["swarmkit:provider"], "digitalocean");
            assert.equal(values["swarmkit:region"], "fra1");
            assert.equal(values["swarmkit:adminCidr"], "203.0.113.0/24");
            assert.equal(b.config.managers, expected.managers);
            assert.equal(b.config.workers, expected.workers);
            assert.deepEqual(b.config.publishedPorts, [80, 443]);
            assert.equal(b.config.ssh.user, "root");
        });

        it(`declares ${expected.managers} manager and ${expected.workers} worker droplets, hosts in hostNames order`, () => {
            const droplets = b.of(T.droplet);
            assert.equal(droplets.length, expected.managers + expected.workers);
            const order = hostNames(expected.managers, expected.workers);
            assert.deepEqual(
                b.component.hosts.map((h) => [h.name, h.role]),
                order.map((h) => [h.name, h.role]),
            );
            assert.deepEqual(
                droplets.map((d) => d.name),
                order.map((h) => `${b.name}-${h.name}`),
            );
            assert.equal(droplets.filter((d) => d.inputs.tags.includes(`${TAG}-manager`)).length, expected.managers);
            assert.equal(droplets.filter((d) => d.inputs.tags.includes(`${TAG}-worker`)).length, expected.workers);
        });

        it("puts every droplet in the stack's stackVpc, in the region, with the image, size per role, monitoring and tags", () => {
            const vpc = b.one(T.vpc);
            assert.equal(vpc.inputs.region, "fra1");
            assert.equal(vpc.inputs.ipRange, stackVpc);
            const key = b.one(T.sshKey);
            assert.equal(key.inputs.publicKey, PUBLIC_KEY);
            for (const d of b.of(T.droplet)) {
                const role = d.name.includes("-manager-") ? "manager" : "worker";
                assert.equal(d.inputs.vpcUuid, vpc.id, `${d.name} is not in the stackVpc`);
                assert.equal(d.inputs.region, "fra1");
                assert.equal(d.inputs.image, "ubuntu-24-04-x64");
                assert.equal(d.inputs.size, role === "manager" ? "s-1vcpu-2gb" : "s-2vcpu-4gb");
                assert.equal(d.inputs.monitoring, true);
                assert.equal(d.inputs.ipv6, false);
                assert.deepEqual(d.inputs.sshKeys, ["aa:bb:cc:dd"]);
                assert.deepEqual(d.inputs.tags, [TAG, `${TAG}-${role}`]);
            }
            assert.deepEqual(b.of(T.tag).map((t) => t.inputs.name).sort(), [TAG, `${TAG}-manager`, `${TAG}-worker`]);
        });

        it("splits addresses: SSH to the public address, swarm on the private one, machineId is the droplet id", async () => {
            const droplets = b.of(T.droplet);
            for (const [i, host] of b.component.hosts.entries()) {
                const d = droplets[i];
                const ssh = (await unwrap(host.sshAddress)).value;
                const priv = (await unwrap(host.privateAddress)).value;
                assert.match(ssh, /^192\.0\.2\./);
                assert.match(priv, /^10\.43\./);
                assert.notEqual(ssh, priv);
                assert.equal((await unwrap(host.connection.host)).value, ssh, `${host.name} is dialled on its private address`);
                assert.equal((await unwrap(host.machineId)).value, d.id);
            }
        });

        it("connects as root with the stack's private key, kept secret, pins the droplet's host key, waits only while droplets boot", async () => {
            for (const host of b.component.hosts) {
                const key = await unwrap(host.connection.privateKey);
                assert.equal(key.value, PRIVATE_KEY);
                assert.equal(key.secret, true, `${host.name}: the private key is not secret`);
                assert.equal((await unwrap(host.connection.user)).value, "root");
                assert.equal((await unwrap(host.connection.hostKey)).value, fakeKeyPair(`${b.name}-${host.name}-host-key`).publicKeyOpenssh.trim());
                // After the readiness check a droplet must answer: a refusal fails within seconds, on any provider.
                const limit = (await unwrap(host.connection.dialErrorLimit as pulumi.Input<number>)).value;
                assert.ok(limit >= 0 && retryWaitSeconds(limit) < 10, `dialErrorLimit ${limit} keeps a step waiting on a gone droplet`);
                assert.ok(((await unwrap(host.connection.perDialTimeout as pulumi.Input<number>)).value ?? 0) > 0);
                const ready = b.of(T.command).find((c) => c.name === `${b.name}-${host.name}-ready`)!;
                const bootWait = retryWaitSeconds(reveal(ready.inputs.connection).dialErrorLimit);
                assert.ok(bootWait >= 120, `the readiness check waits only ${bootWait} s for a booting droplet`);
            }
        });

        it("applies the cloud firewall to the cluster tag, every swarm port open to the tag only", () => {
            const fw = b.one(T.firewall);
            assert.deepEqual(fw.inputs.tags, [TAG]);
            const rules: Rule[] = fw.inputs.inboundRules;
            for (const [protocol, port] of [["tcp", "2377"], ["tcp", "7946"], ["udp", "7946"], ["udp", "4789"]]) {
                const matching = rules.filter((r) => r.protocol === protocol && r.portRange === port);
                assert.equal(matching.length, 1, `${port}/${protocol}: expected one rule`);
                assert.deepEqual(sourceKinds(matching[0]), ["sourceTags"], `${port}/${protocol} is open to more than the tag`);
                assert.deepEqual(matching[0].sourceTags, [TAG]);
            }
        });

        it("opens SSH to the admin range only", () => {
            const rules: Rule[] = b.one(T.firewall).inputs.inboundRules;
            const ssh = rules.filter((r) => covers(r.portRange, 22));
            assert.equal(ssh.length, 1);
            assert.equal(ssh[0].protocol, "tcp");
            assert.deepEqual(sourceKinds(ssh[0]), ["sourceAddresses"]);
            assert.deepEqual(ssh[0].sourceAddresses, [b.config.adminCidr]);
        });

        it("opens the published ports to the load balancer only", () => {
            const lb = b.one(T.lb);
            const rules: Rule[] = b.one(T.firewall).inputs.inboundRules;
            for (const port of [80, 443]) {
                const matching = rules.filter((r) => covers(r.portRange, port));
                assert.equal(matching.length, 1, `port ${port}: expected one rule`);
                assert.equal(matching[0].protocol, "tcp");
                assert.deepEqual(sourceKinds(matching[0]), ["sourceLoadBalancerUids"], `port ${port} is open to more than the LB`);
                assert.deepEqual(matching[0].sourceLoadBalancerUids, [lb.id]);
            }
        });

        it("has exactly the port table's rules: no Docker API port, no ESP, nothing from anywhere", () => {
            const rules: Rule[] = b.one(T.firewall).inputs.inboundRules;
            assert.deepEqual(
                rules.map((r) => `${r.protocol}/${r.portRange}`).sort(),
                ["tcp/22", "tcp/2377", "tcp/7946", "udp/7946", "udp/4789", "tcp/80", "tcp/443"].sort(),
            );
            for (const rule of rules) {
                assert.ok(["tcp", "udp", "icmp"].includes(rule.protocol), `protocol ${rule.protocol} cannot be a cloud firewall rule`);
                assert.notEqual(rule.protocol, "esp");
                for (const port of [2375, 2376]) assert.ok(!covers(rule.portRange, port), `${rule.protocol}/${rule.portRange} opens ${port}`);
                for (const source of rule.sourceAddresses ?? []) assert.ok(!["0.0.0.0/0", "::/0"].includes(source), "a rule is open to anywhere");
            }
        });

        it("lets all outbound traffic out", () => {
            const out: Rule[] = b.one(T.firewall).inputs.outboundRules;
            assert.deepEqual(
                out.map((r) => [r.protocol, r.portRange ?? "", [...r.destinationAddresses].sort()]),
                [
                    ["tcp", "1-65535", ["0.0.0.0/0", "::/0"]],
                    ["udp", "1-65535", ["0.0.0.0/0", "::/0"]],
                    ["icmp", "", ["0.0.0.0/0", "::/0"]],
                ],
            );
        });

        it("balances every published port over tcp to the tagged droplets in the stackVpc, health-checked on the first", async () => {
            const lb = b.one(T.lb);
            assert.equal(lb.inputs.region, "fra1");
            assert.equal(lb.inputs.vpcUuid, b.one(T.vpc).id);
            assert.equal(lb.inputs.dropletTag, TAG);
            assert.equal(lb.inputs.dropletIds, undefined);
            assert.deepEqual(lb.inputs.forwardingRules, [
                { entryProtocol: "tcp", entryPort: 80, targetProtocol: "tcp", targetPort: 80 },
                { entryProtocol: "tcp", entryPort: 443, targetProtocol: "tcp", targetPort: 443 },
            ]);
            assert.deepEqual(lb.inputs.healthcheck, { protocol: "tcp", port: 80 });
            assert.equal((await unwrap(b.component.loadBalancerIp)).value, LB_IP);
        });

        it("boots every droplet with the kit's cloud-init: its hostname, docker.io, the host firewall incl. ESP from the stackVpc", () => {
            for (const d of b.of(T.droplet)) {
                const hostName = d.name.slice(b.name.length + 1);
                const userData: string = reveal(d.inputs.userData);
                assert.match(userData, /^#cloud-config\n/);
                assert.ok(userData.includes(`hostname: "${hostName}"`), `${d.name}: hostname`);
                assert.ok(/packages: \[[^\]]*"docker\.io"/.test(userData), `${d.name}: docker.io is not installed`);
                assert.ok(userData.includes(`-A SWARMKIT-INPUT -s ${stackVpc} -j SWARMKIT-NODES`), `${d.name}: nodes are the stackVpc`);
                assert.ok(userData.includes(`-A SWARMKIT-NODES -p esp -m comment --comment "esp" -j ACCEPT`), `${d.name}: no ESP host rule`);
                // Behind the cloud firewall (which admits SSH from adminCidr only) the host does not pin SSH too.
                assert.ok(userData.includes("-A SWARMKIT-INPUT -s 0.0.0.0/0 -j SWARMKIT-ADMIN"), `${d.name}: SSH host rule`);
                assert.ok(userData.includes(`-A SWARMKIT-NODES -p udp -m udp --dport 4789 `), `${d.name}: VXLAN host rule`);
                assert.ok(
                    userData.split("\n").some((l) => /--ctorigdstport 80 /.test(l) && l.includes(`-s ${stackVpc} `) && l.endsWith("-j RETURN")),
                    `${d.name}: published port 80 is not limited to the stackVpc`,
                );
                assert.ok(isSecretValue(d.inputs.userData), `${d.name}: user data carrying the host key is not secret`);
                assert.ok(userData.includes(`ed25519_public: ${JSON.stringify(fakeKeyPair(`${d.name}-host-key`).publicKeyOpenssh.trim())}`));
                // The very host firewall the kit renders from the port table, line for line.
                const hostFirewall = renderHostFirewall({ nodes: [stackVpc], admin: ["0.0.0.0/0"], loadBalancer: [stackVpc], publishedPorts: b.config.publishedPorts });
                for (const line of hostFirewall.trimEnd().split("\n")) {
                    assert.ok(userData.includes(`\n      ${line}\n`), `${d.name}: host firewall line missing: ${line}`);
                }
                assert.ok(!/2375|2376|tcp:\/\//.test(userData), `${d.name}: Docker's remote API appears in the user data`);
                // DigitalOcean injects the key for root: no second users entry.
                assert.ok(!userData.includes("ssh_authorized_keys"));
            }
        });

        it("hands a droplet over only after the readiness check, run after the cloud firewall exists", () => {
            const fw = b.one(T.firewall);
            const checks = b.of(T.command).filter((c) => c.name.endsWith("-ready"));
            assert.equal(checks.length, expected.managers + expected.workers);
            for (const c of checks) {
                assert.deepEqual(dependencies.get(c.name), [fw.name], `${c.name} does not wait for the firewall`);
                assert.ok(String(c.inputs.create).includes("cloud-init status --wait"));
                assert.match(String(reveal(c.inputs.connection).host), /^192\.0\.2\./);
            }
        });

        it("parents every child on the component", () => {
            const children = resources.filter((r) => r.name.startsWith(`${b.name}-`));
            assert.ok(children.length >= expected.managers + expected.workers + 6);
            for (const child of children) assert.equal(childOptions.get(child.name)?.parent, b.component, `${child.name} has another parent`);
        });
    });
}

describe("DigitalOceanHosts variants", () => {
    it("declares no load balancer without published ports; the IP output is empty and no published rule exists", async () => {
        const b = await build("noports", { "swarmkit:publishedPorts": "[]", "swarmkit:managers": "1" });
        assert.equal(b.of(T.lb).length, 0);
        assert.equal((await unwrap(b.component.loadBalancerIp)).value, "");
        const rules: Rule[] = b.one(T.firewall).inputs.inboundRules;
        assert.ok(rules.every((r) => !r.sourceLoadBalancerUids));
        assert.deepEqual(rules.map((r) => `${r.protocol}/${r.portRange}`).sort(), ["tcp/22", "tcp/2377", "tcp/7946", "udp/4789", "udp/7946"]);
    });

    it("declares no load balancer with swarmkit:loadBalancer false, and leaves published ports closed at the cloud firewall", async () => {
        const b = await build("nolb", { "swarmkit:loadBalancer": "false", "swarmkit:managers": "1" });
        assert.equal(b.of(T.lb).length, 0);
        assert.equal((await unwrap(b.component.loadBalancerIp)).value, "");
        const rules: Rule[] = b.one(T.firewall).inputs.inboundRules;
        assert.ok(rules.every((r) => !covers(r.portRange, 80) && !covers(r.portRange, 443)));
    });

    it("declares no cloud firewall with swarmkit:cloudFirewall false; the host firewall still takes ESP from the VPC only", async () => {
        const b = await build("nofw", { "swarmkit:cloudFirewall": "false", "swarmkit:managers": "1", "swarmkit:workers": "1" });
        assert.equal(b.of(T.firewall).length, 0);
        assert.equal(b.of(T.lb).length, 1);
        for (const d of b.of(T.droplet)) {
            const userData: string = reveal(d.inputs.userData);
            assert.ok(userData.includes(`-A SWARMKIT-INPUT -s ${VPC} -j SWARMKIT-NODES`));
            assert.ok(userData.includes("iptables -w -P INPUT DROP"));
            // The host firewall is the only filter here: it pins SSH to adminCidr.
            assert.ok(userData.includes(`-A SWARMKIT-INPUT -s ${b.config.adminCidr} -j SWARMKIT-ADMIN`));
        }
        assert.deepEqual((await unwrap(b.component.firewall)).value.admin, [b.config.adminCidr]);
        for (const c of b.of(T.command)) assert.deepEqual(dependencies.get(c.name), []);
    });

    it("skips the Docker install on DigitalOcean's docker images", async () => {
        const b = await build("dockerimg", { "swarmkit:image": "docker-20-04", "swarmkit:managers": "1" });
        const userData: string = reveal(b.one(T.droplet).inputs.userData);
        assert.ok(userData.includes('packages: ["iptables"]'));
        assert.ok(!userData.includes("docker.io"));
    });

    it("creates a non-root login user with the stack's key when swarmkit:sshUser is set", async () => {
        const b = await build("ubuntuuser", { "swarmkit:sshUser": "ops", "swarmkit:managers": "1" });
        const userData: string = reveal(b.one(T.droplet).inputs.userData);
        assert.ok(userData.includes('name: "ops"'));
        assert.ok(userData.includes(JSON.stringify(PUBLIC_KEY)));
        assert.equal((await unwrap(b.component.hosts[0].connection.user)).value, "ops");
    });

    it("follows the configured VPC range, sizes and region everywhere", async () => {
        const b = await build("custom", {
            "swarmkit:region": "ams3",
            "swarmkit:vpcCidr": "10.99.16.0/20",
            "swarmkit:managerSize": "s-2vcpu-2gb",
            "swarmkit:workerSize": "s-4vcpu-8gb",
            "swarmkit:managers": "1",
            "swarmkit:workers": "1",
        });
        assert.equal(b.one(T.vpc).inputs.ipRange, "10.99.16.0/20");
        assert.equal(b.one(T.lb).inputs.region, "ams3");
        assert.deepEqual(b.of(T.droplet).map((d) => [d.inputs.region, d.inputs.size]), [["ams3", "s-2vcpu-2gb"], ["ams3", "s-4vcpu-8gb"]]);
        assert.ok(reveal(b.of(T.droplet)[0].inputs.userData).includes("-A SWARMKIT-INPUT -s 10.99.16.0/20 -j SWARMKIT-NODES"));
    });

    it("keeps the private key secret in every connection even when it is handed over as a plain string", async () => {
        const config = configOf({ "swarmkit:managers": "1" });
        const component = new DigitalOceanHosts(
            "plainkey",
            digitalOceanArgs(config, { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY }),
            { transformations: [recordDependencies] },
        );
        const key = await unwrap(component.hosts[0].connection.privateKey);
        assert.deepEqual(key, { value: PRIVATE_KEY, secret: true });
        await unwrap(component.hosts[0].machineId);
        await settle();
        const ready = resources.find((r) => r.name === "plainkey-manager-1-ready");
        assert.ok(ready, "no readiness check");
        assert.ok(isSecretValue(ready.inputs.connection) || isSecretValue(ready.inputs.connection?.privateKey), "the readiness check gets the key in clear");
    });

    it("names the key, the value and what is allowed for a bad swarmkit:cloudFirewall", () => {
        assert.throws(
            () => configOf({ "swarmkit:cloudFirewall": "maybe" }),
            (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p === 'swarmkit:cloudFirewall = "maybe" is not allowed: true or false'),
        );
        assert.equal(configOf({}).digitalocean?.cloudFirewall, true);
        assert.equal(configOf({}).digitalocean?.loadBalancer, true);
    });
});

describe("DigitalOceanHosts on day 2", () => {
    // The swarm steps answer as the scripts would.
    addOutputFaker((args) => {
        if (args.type !== "command:remote:Command" || !args.name.startsWith("gone-swarm-")) return undefined;
        if (args.name.includes("-init-")) return { stdout: JSON.stringify({ nodeId: "m1", clusterId: "c1" }) };
        if (args.name.endsWith("-tokens")) return { stdout: JSON.stringify({ worker: "SWMTKN-1-w", manager: "SWMTKN-1-m", unlockKey: "" }) };
        return { stdout: `id-${args.name}` };
    });

    it("never replaces a droplet for a user data change: the host firewall step applies new rules instead", async () => {
        const b = await build("day2", { "swarmkit:managers": "1", "swarmkit:workers": "1" });
        for (const d of b.of(T.droplet)) {
            assert.deepEqual(childOptions.get(d.name)?.ignoreChanges, ["userData"], d.name);
            assert.deepEqual(childOptions.get(d.name)?.additionalSecretOutputs, ["userData"], d.name);
        }
    });

    it("a droplet deleted outside Pulumi is made again by `pulumi up --refresh`, and the new one joins the swarm again", async () => {
        const b = await build("gone", { "swarmkit:managers": "1", "swarmkit:workers": "2" });
        const { SwarmCluster } = await import("../../components/swarm/cluster");
        const observation: SwarmObservation = {
            hosts: {
                "manager-1": { reachable: true, local: { state: "active", controlAvailable: true, remoteManagers: [] } },
                "worker-1": { reachable: true, local: { state: "inactive" } },
                "worker-2": { reachable: true, local: { state: "active", remoteManagers: [] } },
            },
            operator: "manager-1",
            nodes: [
                { id: "m1", hostname: "manager-1", status: "Ready", availability: "Drain", managerStatus: "Leader" },
                { id: "old-w1", hostname: "worker-1", status: "Down", availability: "Active", managerStatus: "" },
                { id: "w2", hostname: "worker-2", status: "Ready", availability: "Active", managerStatus: "" },
            ],
            privateAddresses: {},
        };
        const cluster = new SwarmCluster("gone-swarm", withSeams({ hardware: { hosts: b.component.hosts }, autolock: true, drainManagers: true }, { observation: observation }), { transformations: [recordDependencies] });
        await unwrap(cluster.ready);
        await settle();
        const join = resources.find((r) => r.name === "gone-swarm-join-worker-1")!;
        assert.equal(join.inputs.triggers[0], b.of(T.droplet).find((d) => d.name === "gone-worker-1")!.id, "the join step follows the droplet");
        assert.match(join.inputs.triggers[2], /^repair: not in the swarm/);
        assert.deepEqual(childOptions.get("gone-swarm-join-worker-1")?.ignoreChanges, []);
        assert.deepEqual(childOptions.get("gone-swarm-join-worker-2")?.ignoreChanges, ["stdin", "triggers[2]"]);
    });
});

describe("DigitalOcean: a change of droplet size rolls the swarm one node at a time", () => {
    const swarm = "doroll-swarm";
    // The swarm's steps answer like the real scripts would.
    addOutputFaker((args) => {
        if (args.type !== T.command || !args.name.startsWith(`${swarm}-`)) return undefined;
        if (args.name.endsWith("-init-manager-1")) return { stdout: JSON.stringify({ nodeId: "node-manager-1", clusterId: "cluster-1" }) };
        if (args.name.endsWith("-tokens")) return { stdout: JSON.stringify({ worker: "SWMTKN-w", manager: "SWMTKN-m", unlockKey: "SWMKEY-1" }) };
        const join = /-join-(.+)$/.exec(args.name);
        return { stdout: join ? `node-${join[1]}\n` : "" };
    });
    let hosts: DigitalOceanHostsType["hosts"];
    let chain: string[];
    before(async () => {
        const { dropletMachineSpec } = await import("../../components/hardware/digitalocean");
        const { Rollout } = await import("../../components/swarm/rollout");
        const old = configOf({ "swarmkit:workers": "2" });
        const next = configOf({ "swarmkit:workers": "2", "swarmkit:managerSize": "s-2vcpu-4gb", "swarmkit:workerSize": "s-4vcpu-8gb" });
        const layout = hostNames(3, 2);
        const rollout = new Rollout(
            previousDeployment(layout.map((h) => ({ name: h.name, role: h.role, machineSpec: dropletMachineSpec(old, old.digitalocean!, h.role) }))),
        );
        const component = new DigitalOceanHosts(
            "doroll",
            digitalOceanArgs(next, { publicKey: PUBLIC_KEY, privateKey: pulumi.secret(PRIVATE_KEY) }, rollout),
            { transformations: [recordDependencies] },
        );
        hosts = component.hosts;
        ({ chain } = await rollSwarm(swarm, "doroll", hosts, rollout, settle));
    });

    it("replaces the droplets in one chain: the other managers, the first manager, then the workers", () => {
        assert.deepEqual(chain, ["manager-2", "manager-3", "manager-1", "worker-1", "worker-2"]);
    });

    it("replaces a resized droplet instead of powering it off, and leaves the founding step alone", () => {
        for (const h of hosts) {
            const options = childOptions.get(`doroll-${h.name}`);
            assert.equal(options?.replacementTrigger, h.machineSpec);
            assert.match(String(h.machineSpec), h.role === "manager" ? /s-2vcpu-4gb/ : /s-4vcpu-8gb/);
            assert.deepEqual(options?.ignoreChanges, ["userData"], "user data changes never replace a droplet");
        }
        assert.deepEqual(childOptions.get(`${swarm}-init-manager-1`)?.ignoreChanges, ["create", "connection", "triggers[0]"]);
    });
});

describe("DigitalOcean VPC ranges and existing resources", () => {
    it("gives do-3 and do-5 ranges that do not overlap, so both fit in one account", () => {
        const ranges = ["do-3", "do-5"].map((s) => configOf(stackConfig(s)).digitalocean!.vpcCidr);
        assert.ok(!cidrsOverlap(ranges[0], ranges[1]), ranges.join(" and "));
    });

    it("refuses a VPC range that is public, too large or too small, before anything is made", () => {
        for (const bad of ["100.64.0.0/16", "8.8.0.0/16", "10.0.0.0/8", "10.42.0.0/15", "10.43.0.0/29", "192.168.0.0/30"]) {
            assert.throws(() => configOf({ "swarmkit:vpcCidr": bad }), (err: Error) => err instanceof ConfigError && /swarmkit:vpcCidr .*RFC 1918.*\/16 to \/28/.test(err.message), bad);
        }
        for (const ok of ["10.43.0.0/20", "172.16.0.0/16", "192.168.10.0/28"]) assert.equal(configOf({ "swarmkit:vpcCidr": ok }).digitalocean?.vpcCidr, ok);
    });

    it("puts the droplets into an existing VPC and takes an existing SSH key, making neither", async () => {
        const vpcId = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        const b = await build("exist", { "swarmkit:vpcId": vpcId, "swarmkit:sshKeyFingerprint": "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa", "swarmkit:managers": "1", "swarmkit:workers": "1" });
        assert.equal(b.of(T.vpc).length, 0);
        assert.equal(b.of(T.sshKey).length, 0);
        for (const d of b.of(T.droplet)) {
            assert.equal(d.inputs.vpcUuid, vpcId);
            assert.deepEqual(d.inputs.sshKeys, ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]);
            assert.ok(reveal(d.inputs.userData).includes(`-A SWARMKIT-INPUT -s ${EXISTING_VPC_RANGE} -j SWARMKIT-NODES`), "nodes are the existing VPC's range");
        }
        assert.deepEqual((await unwrap(b.component.firewall)).value.nodes, [EXISTING_VPC_RANGE]);
    });

    it("refuses a malformed VPC ID or key fingerprint, and a vpcCidr beside a vpcId", () => {
        const rejects = (values: Record<string, string>, pattern: RegExp) =>
            assert.throws(() => configOf(values), (err: Error) => err instanceof ConfigError && pattern.test(err.message));
        rejects({ "swarmkit:vpcId": "default" }, /swarmkit:vpcId = "default" is not allowed: a DigitalOcean VPC ID/);
        rejects({ "swarmkit:sshKeyFingerprint": "aa:bb" }, /swarmkit:sshKeyFingerprint = "aa:bb" is not allowed/);
        rejects({ "swarmkit:vpcId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "swarmkit:vpcCidr": "10.43.0.0/20" }, /swarmkit:vpcCidr is not allowed with swarmkit:vpcId/);
    });
});
