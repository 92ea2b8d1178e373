/**
 * The package as a library: what each entry loads, each target's args validation (bad args fail before anything is
 * declared, naming every problem), names that derive from the component's name (two clusters side by side), and
 * the ExistingHosts target's steps (a check, the firewall removed and the node out of the swarm on destroy).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { addOutputFaker, installMocks, resources, settle, swarmStepFaker, unwrap } from "./mocks";
import { withSeams } from "../../components/swarm/seams";
import { HostsArgsError } from "../../components/index";

const ROOT = join(__dirname, "../..");
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestKeyNotARealOne swarmkit@unit";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestHostKeyNotReal";
const PRIVATE_KEY = "-----BEGIN FAKE TEST KEY-----\nnot-a-real-key\n-----END FAKE TEST KEY-----";
const KEY = { publicKey: PUBLIC_KEY, privateKey: pulumi.secret(PRIVATE_KEY) };

/** The @pulumi packages a fresh Node process has loaded after importing `entry` (a module of components/). */
function sdksLoadedBy(entry: string): string[] {
    const script = [
        `require(${JSON.stringify(join(ROOT, "components", entry))});`,
        "const sdks = new Set(Object.keys(require.cache).map((f) => (/node_modules\\/(@pulumi\\/[^/]+)\\//.exec(f) || [])[1]).filter(Boolean));",
        "process.stdout.write(JSON.stringify([...sdks].sort()));",
    ].join("\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as string[];
}

describe("what each entry of the package loads", () => {
    it("the root loads neither @pulumi/aws nor @pulumi/digitalocean (nor @pulumi/tls)", () => {
        const loaded = sdksLoadedBy("index.ts");
        assert.ok(loaded.includes("@pulumi/pulumi") && loaded.includes("@pulumi/command"), `the check sees what is loaded: ${loaded}`);
        for (const sdk of ["@pulumi/aws", "@pulumi/digitalocean", "@pulumi/tls"]) assert.ok(!loaded.includes(sdk), `the root loads ${sdk}`);
    });

    it("each target's entry loads its own cloud SDK at most", () => {
        assert.ok(sdksLoadedBy("aws.ts").includes("@pulumi/aws"), "the check can fail: /aws loads @pulumi/aws");
        assert.ok(!sdksLoadedBy("aws.ts").includes("@pulumi/digitalocean"));
        assert.ok(!sdksLoadedBy("digitalocean.ts").includes("@pulumi/aws"));
        for (const entry of ["lab.ts", "hosts.ts", "multipass.ts", "kvm.ts"]) {
            const loaded = sdksLoadedBy(entry);
            assert.ok(!loaded.includes("@pulumi/aws") && !loaded.includes("@pulumi/digitalocean"), `${entry} loads ${loaded}`);
        }
    });
});

/** The problems a constructor reports, or a failure when it throws something else or nothing. */
function problemsOf(make: () => unknown): string[] {
    try {
        make();
    } catch (err) {
        assert.ok(err instanceof HostsArgsError, `not a HostsArgsError: ${err}`);
        assert.ok(err instanceof pulumi.RunError, "reported as the message alone");
        return err.problems;
    }
    assert.fail("no error");
}

describe("each target's args are checked before anything is declared", () => {
    let lib: {
        LabHosts: typeof import("../../components/lab").LabHosts;
        AwsHosts: typeof import("../../components/aws").AwsHosts;
        DigitalOceanHosts: typeof import("../../components/digitalocean").DigitalOceanHosts;
        MultipassHosts: typeof import("../../components/multipass").MultipassHosts;
        KvmHosts: typeof import("../../components/kvm").KvmHosts;
        ExistingHosts: typeof import("../../components/hosts").ExistingHosts;
        SwarmCluster: typeof import("../../components/index").SwarmCluster;
    };
    before(async () => {
        await installMocks();
        addOutputFaker(swarmStepFaker({ worker: "SWMTKN-worker", manager: "SWMTKN-manager", unlockKey: "SWMKEY-1" }));
        // A lab host's create step prints its identity.
        addOutputFaker((args) =>
            args.type === "command:local:Command" && String(args.inputs.create ?? "").includes("host.sh up")
                ? { stdout: JSON.stringify({ machineId: `machine-${args.name}`, hostKey: HOST_KEY }) }
                : undefined,
        );
        lib = {
            ...(await import("../../components/lab")),
            ...(await import("../../components/aws")),
            ...(await import("../../components/digitalocean")),
            ...(await import("../../components/multipass")),
            ...(await import("../../components/kvm")),
            ...(await import("../../components/hosts")),
            ...(await import("../../components/index")),
        };
    });

    const declared = (prefix: string) => resources.filter((r) => r.name.startsWith(prefix));

    it("LabHosts: managers, subnet, lab name, workers, images", () => {
        const problems = problemsOf(() => new lib.LabHosts("badlab", { managers: 2, workers: 71, subnet: "10.77.0.0/16", labName: "Lab-1", images: "rel/dir", sshKey: KEY }));
        assert.equal(problems.length, 5, problems.join("\n"));
        assert.match(problems.join("\n"), /managers = 2: use 1, 3, 5 or 7/);
        assert.match(problems.join("\n"), /subnet = "10.77.0.0\/16": the lab takes an IPv4 \/24/);
        assert.match(problems.join("\n"), /labName = "Lab-1"/);
        assert.match(problems.join("\n"), /workers = 71: at most 70/);
        assert.match(problems.join("\n"), /images = "rel\/dir": an absolute path/);
        assert.equal(declared("badlab").length, 0, "nothing declared");
    });

    it("AwsHosts: the admin range, the VPC range, zones, disk, published ports", () => {
        const problems = problemsOf(
            () => new lib.AwsHosts("badaws", { managers: 3, adminCidr: "10.0.0.1/8", vpcCidr: "10.42.0.0/12", availabilityZones: 2, rootVolumeGiB: 4, publishedPorts: [2377], sshKey: KEY }),
        );
        assert.match(problems.join("\n"), /adminCidr = "10.0.0.1\/8"/);
        assert.match(problems.join("\n"), /vpcCidr = "10.42.0.0\/12": an IPv4 range from \/16 to \/24/);
        assert.match(problems.join("\n"), /availabilityZones = 2/);
        assert.match(problems.join("\n"), /rootVolumeGiB = 4/);
        assert.match(problems.join("\n"), /publishedPorts: 2377/);
        assert.equal(declared("badaws").length, 0);
    });

    it("DigitalOceanHosts: region, VPC range (private, /16-/28), existing VPC with a range", () => {
        const problems = problemsOf(() => new lib.DigitalOceanHosts("baddo", { managers: 1, adminCidr: "0.0.0.0/0", region: "", vpcCidr: "8.8.0.0/16", existingVpcId: "x", sshKey: KEY }));
        assert.match(problems.join("\n"), /region is missing/);
        assert.match(problems.join("\n"), /vpcCidr = "8.8.0.0\/16": a private range/);
        assert.match(problems.join("\n"), /vpcCidr is not used with existingVpcId/);
    });

    it("MultipassHosts and KvmHosts: sizes, CPUs, the image, the nodes range", () => {
        const mp = problemsOf(() => new lib.MultipassHosts("badmp", { managers: 3, memory: "2GB", cpus: 0, nodesCidr: "10.1.2.3/24", sshKey: KEY }));
        assert.match(mp.join("\n"), /memory = "2GB"/);
        assert.match(mp.join("\n"), /cpus = 0/);
        assert.match(mp.join("\n"), /nodesCidr = "10.1.2.3\/24"/);
        const kvm = problemsOf(() => new lib.KvmHosts("badkvm", { managers: 0, image: "", memoryMiB: 100, sshKey: KEY }));
        assert.match(kvm.join("\n"), /managers = 0/);
        assert.match(kvm.join("\n"), /image is missing/);
        assert.match(kvm.join("\n"), /memoryMiB = 100/);
    });

    it("ExistingHosts: manager count, names, roles, host keys, CIDRs, private addresses as outputs", () => {
        const problems = problemsOf(
            () =>
                new lib.ExistingHosts("badown", {
                    hosts: [
                        { name: "a", role: "manager", sshAddress: "10.0.0.1", privateAddress: pulumi.output("10.0.0.1"), hostKey: "not a key" },
                        { name: "a", role: "manager", sshAddress: "10.0.0.2", privateAddress: "10.0.0.2", hostKey: HOST_KEY },
                        { name: "bad_name", role: "boss" as "manager", sshAddress: "10.0.0.3", privateAddress: "10.0.0.3", hostKey: HOST_KEY },
                    ],
                    sshPrivateKey: PRIVATE_KEY,
                    adminCidr: "office",
                    loadBalancerCidrs: ["10.0.0.0/33"],
                }),
        );
        const text = problems.join("\n");
        assert.match(text, /2 managers among the hosts/);
        assert.match(text, /host a: hostKey is not an OpenSSH public key line/);
        assert.match(text, /host name "bad_name"/);
        assert.match(text, /host bad_name: role "boss"/);
        assert.match(text, /host names must be unique: a/);
        assert.match(text, /adminCidr = "office"/);
        assert.match(text, /loadBalancerCidrs: "10.0.0.0\/33"/);
        assert.match(text, /nodesCidrs is missing/);
    });

    it("good args declare the hosts, with names from the component's name: two labs side by side do not collide", async () => {
        const blue = new lib.LabHosts("blue", { managers: 1, workers: 1, subnet: "10.91.0.0/24", sshKey: KEY });
        const green = new lib.LabHosts("green", { managers: 1, workers: 1, subnet: "10.92.0.0/24", sshKey: KEY });
        assert.equal(blue.labName, "blue");
        assert.equal(green.labName, "green");
        const long = new lib.LabHosts("production-east", { managers: 1, subnet: "10.93.0.0/24", sshKey: KEY });
        assert.match(long.labName, /^l[0-9a-f]{7}$/, "a name that does not fit is hashed");
        await settle();
        const creates = resources.filter((r) => r.type === "command:local:Command" && /^(blue|green)-/.test(r.name)).map((r) => String(r.inputs.create));
        assert.ok(creates.some((c) => c.includes("host.sh up blue manager-1 10.91.0.11/24")), creates.join("\n"));
        assert.ok(creates.some((c) => c.includes("host.sh up green manager-1 10.92.0.11/24")), creates.join("\n"));
        // Two clusters in one stack: every step's name starts with its cluster's name.
        const a = new lib.SwarmCluster("blue-swarm", withSeams({ hardware: blue }, { observation: undefined }));
        const b = new lib.SwarmCluster("green-swarm", withSeams({ hardware: green }, { observation: undefined }));
        await Promise.all([unwrap(a.nodes), unwrap(b.nodes)]);
        const names = resources.map((r) => r.name);
        assert.equal(new Set(names).size, names.length, "no two resources share a name");
        assert.ok(names.includes("blue-swarm-firewall-manager-1") && names.includes("green-swarm-firewall-manager-1"), "each cluster applies its hosts' firewall");
        const deployment = await unwrap(a.deployment);
        assert.equal(deployment.value.cluster, "blue-swarm");
        assert.deepEqual(deployment.value.nodes.map((n) => n.name), ["manager-1", "worker-1"]);
        assert.equal(deployment.value.unlockKey, "SWMKEY-1");
        assert.ok(deployment.secret, "the deployment record carries the tokens: secret");
        assert.ok(!(await unwrap(a.nodes)).secret, "the nodes stay readable");
        assert.ok((await unwrap(a.unlockKey)).secret, "the unlock key is secret on its own");
    });

    it("your own hosts: a check step each, and on destroy the node leaves the swarm and its firewall goes", async () => {
        addOutputFaker((args) => (args.name.startsWith("own-") && args.name.endsWith("-check") ? { stdout: "ready" } : undefined));
        const own = new lib.ExistingHosts("own", {
            hosts: [
                { name: "rack-w1", role: "worker", sshAddress: "10.0.0.21", privateAddress: "10.0.0.21", hostKey: HOST_KEY },
                { name: "rack-m1", role: "manager", sshAddress: "10.0.0.11", privateAddress: "10.0.0.11", hostKey: HOST_KEY, user: "admin" },
            ],
            sshPrivateKey: PRIVATE_KEY,
            adminCidr: "192.0.2.0/24",
            publishedPorts: [8080],
            loadBalancerCidrs: ["10.0.0.5/32"],
        });
        assert.deepEqual(own.hosts.map((h) => h.name), ["rack-m1", "rack-w1"], "managers first");
        assert.deepEqual(own.firewall, { nodes: ["10.0.0.11/32", "10.0.0.21/32"], admin: ["192.0.2.0/24"], loadBalancer: ["10.0.0.5/32"], publishedPorts: [8080] });
        const cluster = new lib.SwarmCluster("own-swarm", withSeams({ hardware: own }, { observation: undefined }));
        await unwrap(cluster.nodes);
        await settle();
        const named = (n: string) => resources.find((r) => r.name === n);
        assert.match(String(named("own-rack-m1-check")?.inputs.create), /name the host as its hostname/);
        for (const host of ["rack-m1", "rack-w1"]) {
            const leave = named(`own-swarm-leave-${host}`);
            assert.ok(leave, `no leave step for ${host}`);
            assert.equal(leave.inputs.create, "true", "nothing runs on create");
            assert.match(String(leave.inputs.delete), /docker swarm leave --force/);
            const firewall = named(`own-swarm-firewall-${host}`);
            assert.match(String(firewall?.inputs.delete), /iptables -w -X "\$chain"/);
            assert.match(String(firewall?.inputs.delete), /-P INPUT "\$\{policy:-ACCEPT\}"/);
            assert.match(String(firewall?.inputs.create), /input-policy-before/, "the policy before the kit is kept for the removal");
        }
        assert.equal(resources.filter((r) => r.name.startsWith("blue-swarm-leave")).length, 0, "machines the kit makes get no leave step");
        assert.ok(!String(named("blue-swarm-firewall-manager-1")?.inputs.delete ?? "").includes("iptables"), "nor a firewall removal");
    });
});

describe("a cluster's deployment record, read back by the next run", () => {
    it("finds the record of the named cluster among the stack's outputs, or the kit's own top-level outputs", async () => {
        const { findDeploymentRecord, parsePrevious } = await import("../../components/swarm/previous");
        const node = (name: string) => ({ name, role: "manager", privateAddress: "10.0.0.1", sshAddress: "10.0.0.1", sshUser: "root", hostKey: HOST_KEY, machineSpec: "{}" });
        const outputs = {
            blue: { cluster: "blue-swarm", nodes: [node("blue-1")], workerJoinToken: "W1", managerJoinToken: "M1", unlockKey: "K1" },
            green: { cluster: "green-swarm", nodes: [node("green-1")], workerJoinToken: "W2", managerJoinToken: "M2", unlockKey: "K2" },
        };
        assert.deepEqual(parsePrevious(findDeploymentRecord(outputs, "green-swarm"))?.nodes.map((n) => n.name), ["green-1"]);
        assert.equal(parsePrevious(findDeploymentRecord(outputs, "green-swarm"))?.tokens?.manager, "M2");
        assert.equal(parsePrevious(findDeploymentRecord(outputs, "red-swarm")), undefined, "another cluster's record is never taken");
        const kit = { nodes: [node("manager-1")], workerJoinToken: "W", managerJoinToken: "M", unlockKey: "K" };
        assert.equal(parsePrevious(findDeploymentRecord(kit, "swarm"))?.tokens?.worker, "W", "the kit's program exports the record's fields at the top");
    });
});

describe("stack config for your own hosts (provider hosts)", () => {
    it("reads the machines, counts managers and workers from them, and names every bad entry", async () => {
        const { parseConfig, ConfigError } = await import("../../components/config");
        const machine = (name: string, role: string) => ({ name, role, sshAddress: `203.0.113.${name.length}`, privateAddress: "10.0.0.5", hostKey: HOST_KEY });
        const base = { "swarmkit:provider": "hosts", "swarmkit:adminCidr": "198.51.100.0/24", "swarmkit:sshPrivateKey": PRIVATE_KEY };
        const config = parseConfig((k) => ({ ...base, "swarmkit:hosts": JSON.stringify([machine("a", "manager"), machine("bb", "worker")]) })[k]);
        assert.equal(config.managers, 1);
        assert.equal(config.workers, 1);
        assert.equal(config.drainManagers, true);
        assert.deepEqual(config.hosts?.machines.map((m) => m.name), ["a", "bb"]);
        const problems = (raw: Record<string, string>) => {
            try {
                parseConfig((k) => raw[k]);
            } catch (err) {
                assert.ok(err instanceof ConfigError);
                return err.problems.join("\n");
            }
            assert.fail("no error");
        };
        const bad = problems({
            "swarmkit:provider": "hosts",
            "swarmkit:managers": "3",
            "swarmkit:hosts": JSON.stringify([machine("a", "manager"), machine("b", "manager"), { ...machine("c", "boss") }, { name: "d" }, { ...machine("e", "worker"), hostKey: "x" }]),
        });
        assert.match(bad, /swarmkit:managers and swarmkit:workers are not used with provider hosts/);
        assert.match(bad, /swarmkit:hosts\[2\]\.role = "boss"/);
        assert.match(bad, /swarmkit:hosts\[3\] is missing role, sshAddress, privateAddress, hostKey/);
        assert.match(bad, /swarmkit:hosts\[4\]\.hostKey is not allowed/);
        assert.match(bad, /lists 2 managers: use 1, 3, 5 or 7/);
        assert.match(bad, /swarmkit:adminCidr is missing/);
        assert.match(bad, /swarmkit:sshPrivateKey is missing/);
    });
});
