/** Swarm settings (issue 16), pure: labels, network settings, engine versions, the quorum and network refusals, config. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { engineMatches, labelsFor, nodeLabelsProblems, swarmNetworkDifferences, swarmNetworkProblems } from "../../components/swarm/settings";
import { PlannedHost, planSwarm } from "../../components/swarm/plan";
import { NodeEntry, SwarmObservation, parseRead } from "../../components/swarm/observe";
import { networkFlags, renderMembers, renderRotateCa, renderRotateUnlockKey } from "../../components/swarm/scripts";
import { renderBackup, renderReadNodeKey, renderRestore, restoreInput } from "../../components/swarm/backupScripts";
import { ConfigError, parseConfig } from "../../components/config";
import { portTable } from "../../components/ports";
import { firewallRules } from "../../components/firewall/hostFirewall";
import { compareSwarm } from "../../components/swarm/verify";
import { renderCloudInit } from "../../components/hardware/cloudInit";
import { engineSpec } from "../../components/hardware/types";
import { BACKUP_FORMAT, BackupHeader, backupHeader, newBackupKey, openBackup, sealBackup } from "../../components/swarm/backup";

const MANAGERS = ["manager-1", "manager-2", "manager-3"];
const hosts = (status: Record<string, PlannedHost["machineStatus"]> = {}): PlannedHost[] =>
    [...MANAGERS, "worker-1"].map((name) => ({ name, role: name.startsWith("manager") ? "manager" : "worker", machineStatus: status[name] ?? "running" }));
const entry = (name: string, managerStatus: string, status = "Ready"): NodeEntry => ({ id: `id-${name}`, hostname: name, status, availability: "Active", managerStatus });

describe("node labels", () => {
    it("the kit's own labels win over the role's, a host's own over its role's", () => {
        const labels = { worker: { tier: "web", disk: "hdd" }, hosts: { "worker-2": { disk: "ssd" } } };
        assert.deepEqual(labelsFor({ name: "worker-2", role: "worker", zone: "eu-west-1b", region: "eu-west-1" }, labels), {
            tier: "web",
            disk: "ssd",
            "swarmkit.role": "worker",
            "swarmkit.zone": "eu-west-1b",
            "swarmkit.region": "eu-west-1",
        });
        assert.deepEqual(labelsFor({ name: "manager-1", role: "manager" }, labels), { "swarmkit.role": "manager" }, "no zone label where the hardware knows none");
    });

    it("refuses the kit's own prefix, keys with spaces or commas, multi-line values and unknown hosts", () => {
        const problems = nodeLabelsProblems({ worker: { "swarmkit.zone": "x", "a b": "1", "a,b": "1", ok: "two\nlines" }, hosts: { "worker-9": { a: "1" } } }, ["worker-1"]);
        assert.equal(problems.length, 5, problems.join("\n"));
        assert.match(problems.join("\n"), /the kit's own/);
        assert.match(problems.join("\n"), /no host is named "worker-9"/);
        assert.deepEqual(nodeLabelsProblems({ worker: { "com.example.tier": "web" } }, ["worker-1"]), []);
    });

    it("the members step adds what is missing, removes only keys it set before, and records the keys it manages", () => {
        // What these lines do against a swarm is run in swarm-scripts.test.ts ("the members step", "labels").
        const script = renderMembers({ operator: "manager-1", autolock: true, nodes: [{ name: "worker-1", role: "worker", nodeId: "w1", availability: "active", labels: { tier: "web", "swarmkit.role": "worker" } }] });
        assert.match(script, /has_label 'w1' 'tier=web' \|\| set -- "\$@" --label-add 'tier=web'/);
        assert.match(script, /has_label 'w1' 'swarmkit.managed=swarmkit.role,tier' \|\| set -- "\$@" --label-add 'swarmkit.managed=swarmkit.role,tier'/);
        assert.match(script, /for k in \$\(managed_of 'w1'\)/, "the keys set before are read from the managed label");
        assert.match(script, /set -- "\$@" --label-rm "\$k"/);
        assert.match(script, /update_node 'w1' 'worker-1' "\$@"/);
        assert.equal(spawnSync("sh", ["-n"], { input: script }).status, 0, "valid POSIX shell");
    });
});

describe("the swarm's network settings", () => {
    it("init gets the pools, the mask length and the data path port, and nothing when unset", () => {
        assert.equal(networkFlags({}), "");
        assert.equal(networkFlags({ defaultAddrPool: ["10.201.0.0/16", "10.202.0.0/16"], defaultAddrPoolMaskLength: 26, dataPathPort: 4790 }), " --default-addr-pool '10.201.0.0/16' --default-addr-pool '10.202.0.0/16' --default-addr-pool-mask-length 26 --data-path-port 4790");
    });

    it("refuses a pool overlapping the nodes' range, overlapping pools, a mask wider than a pool, a reserved port", () => {
        assert.match(swarmNetworkProblems({ defaultAddrPool: ["10.0.0.0/8"] }, ["10.42.0.0/16"]).join(), /overlaps 10\.42\.0\.0\/16, where the nodes' own addresses lie/);
        assert.match(swarmNetworkProblems({ defaultAddrPool: ["10.200.0.0/16", "10.200.128.0/17"] }).join(), /overlap/);
        assert.match(swarmNetworkProblems({ defaultAddrPool: ["10.200.0.0/16"], defaultAddrPoolMaskLength: 12 }).join(), /from the pools' own \(16\) to 29/);
        assert.match(swarmNetworkProblems({ dataPathPort: 7946 }).join(), /dataPathPort = 7946/);
        assert.deepEqual(swarmNetworkProblems({ defaultAddrPool: ["10.200.0.0/16"], defaultAddrPoolMaskLength: 24, dataPathPort: 4790 }, ["10.42.0.0/16"]), []);
    });

    it("compares the live settings with the config, absent settings meaning Docker's defaults", () => {
        const live = { defaultAddrPool: ["10.0.0.0/8"], defaultAddrPoolMaskLength: 24, dataPathPort: 4789 };
        assert.deepEqual(swarmNetworkDifferences(live, {}), []);
        assert.deepEqual(swarmNetworkDifferences(live, { defaultAddrPool: ["10.201.0.0/16"] }), ["defaultAddrPool is 10.0.0.0/8, the config says 10.201.0.0/16"]);
    });

    it("one port table: the data path port replaces 4789 in every firewall rendered from it", () => {
        assert.equal(portTable([], 4790).find((r) => r.name === "vxlan")?.port, 4790);
        const rules = firewallRules({ nodes: ["10.0.0.0/16"], admin: ["0.0.0.0/0"], loadBalancer: [], publishedPorts: [], dataPathPort: 4790 }).join("\n");
        assert.match(rules, /--dport 4790 .*vxlan/);
        assert.doesNotMatch(rules, /--dport 4789/);
    });

    it("the read picks up the live network settings and docker's error", () => {
        const cluster = { ID: "c1", DefaultAddrPool: ["10.201.0.0/16"], SubnetSize: 26, DataPathPort: 4790, Spec: { EncryptionConfig: { AutoLockManagers: true } } };
        const { local } = parseRead(`SWARM ${JSON.stringify({ LocalNodeState: "active", ControlAvailable: true, Cluster: cluster, Error: "The swarm does not have a leader" })}`);
        assert.deepEqual(local.network, { defaultAddrPool: ["10.201.0.0/16"], defaultAddrPoolMaskLength: 26, dataPathPort: 4790 });
        assert.equal(local.error, "The swarm does not have a leader");
    });
});

describe("engine versions", () => {
    it("matches a prefix, Debian's and apt's versions, and nothing else", () => {
        assert.ok(engineMatches("20.10.24+dfsg1", "20.10"));
        assert.ok(engineMatches("20.10.24+dfsg1", "20.10.24+dfsg1-1+deb12u1"));
        assert.ok(engineMatches("26.1.5", "5:26.1.5-1~debian.12~bookworm"));
        assert.ok(engineMatches("26.1.5", "26.1.*"));
        assert.ok(!engineMatches("26.10.1", "26.1"), "26.1 is not a prefix of 26.10");
        assert.ok(!engineMatches("20.10.24", "1.13"));
    });

    it("the live check names a node that runs another version", () => {
        const nodes = [{ ...entry("manager-1", "Leader"), availability: "Active", engineVersion: "20.10.24" }];
        assert.deepEqual(compareSwarm({ hosts: [{ name: "manager-1", role: "manager" }], autolock: true, drainManagers: false, dockerVersion: "26.1" }, { operator: "manager-1", nodes, managerProblems: [] }), [
            "manager-1: runs Docker 20.10.24, want 26.1",
        ]);
    });
});

describe("refusals of the plan", () => {
    const observed = (nodes: NodeEntry[] | undefined, survivors: string[]): SwarmObservation => ({
        hosts: Object.fromEntries(survivors.map((n) => [n, { reachable: true, local: { state: "active" as const, controlAvailable: true, remoteManagers: [] } }])),
        nodes,
        privateAddresses: {},
    });
    const plan = (h: PlannedHost[], o: SwarmObservation, previousManagers?: string[], network = {}) => planSwarm({ hosts: h, autolock: true, drainManagers: true, previousManagers, network }, o);

    it("2 of 3 managers gone with their disks: refused, naming quorum, the survivor and both recovery commands", () => {
        const gone = hosts({ "manager-1": "new", "manager-2": "new" });
        const p = plan(gone, observed(undefined, ["manager-3", "worker-1"]), MANAGERS);
        assert.match(p.refusal ?? "", /the swarm has lost quorum: raft needs a majority of its 3 managers \(2\) to act, and only manager-3 still holds the swarm \(manager-1, manager-2: gone with their disks\)/);
        assert.match(p.refusal ?? "", /npm run restore -- STACK FILE/);
        assert.match(p.refusal ?? "", /npm run recover -- STACK/);
    });

    it("a leader that still answers after losing its peers does not hide the loss", () => {
        const nodes = [entry("manager-1", "Reachable"), entry("manager-2", "Reachable"), entry("manager-3", "Leader"), entry("worker-1", "")];
        const p = plan(hosts({ "manager-1": "new", "manager-2": "new" }), observed(nodes, ["manager-3"]), MANAGERS);
        assert.match(p.refusal ?? "", /lost quorum/);
    });

    it("one manager gone, a scale-up, and a swarm re-formed on one manager (after a restore) are not refused", () => {
        const all = [entry("manager-1", "Leader"), entry("manager-2", "Reachable"), entry("manager-3", "Reachable"), entry("worker-1", "")];
        assert.equal(plan(hosts({ "manager-3": "new" }), observed(all, ["manager-1", "manager-2"]), MANAGERS).refusal, undefined);
        const one = [entry("manager-1", "Leader")];
        assert.equal(plan(hosts({ "manager-2": "new", "manager-3": "new" }), observed(one, ["manager-1"]), ["manager-1"]).refusal, undefined, "1 → 3 managers");
        const restored = [entry("manager-3", "Leader"), entry("worker-1", "")];
        assert.equal(plan(hosts({ "manager-1": "new", "manager-2": "new" }), observed(restored, ["manager-3"]), MANAGERS).refusal, undefined);
    });

    it("managers that are cut off but keep their disks are not a lost quorum: the run goes on and names them", () => {
        const cut = [entry("manager-1", "Leader"), entry("manager-2", "Unreachable"), entry("manager-3", "Unreachable"), entry("worker-1", "")];
        assert.equal(plan(hosts(), observed(cut, MANAGERS), MANAGERS).refusal, undefined);
        assert.equal(plan(hosts(), observed(undefined, MANAGERS), MANAGERS).refusal, undefined, "no leader answers, but no disk is lost");
    });

    it("refuses a change of the network settings on a live swarm, explaining that swarm fixes them at init", () => {
        const o = observed([entry("manager-1", "Leader"), entry("manager-2", "Reachable"), entry("manager-3", "Reachable")], MANAGERS);
        for (const m of MANAGERS) (o.hosts[m].local as { network?: unknown }).network = { defaultAddrPool: ["10.0.0.0/8"], defaultAddrPoolMaskLength: 24, dataPathPort: 4789 };
        assert.match(plan(hosts(), o, MANAGERS, { dataPathPort: 4790 }).refusal ?? "", /dataPathPort is 4789, the config says 4790.*cannot change them afterwards/);
        assert.equal(plan(hosts(), o, MANAGERS, {}).refusal, undefined);
    });

    it("a node whose ID changed since the last deployment joins again, so that its step records it", () => {
        const o = observed([entry("manager-1", "Leader")], ["manager-1"]);
        (o.hosts["manager-1"].local as { nodeId?: string }).nodeId = "new-id";
        const p = planSwarm({ hosts: [{ name: "manager-1", role: "manager", machineStatus: "running" }], autolock: true, drainManagers: false, recordedNodeIds: { "manager-1": "old-id" } }, o);
        assert.match(p.nodeRepairs["manager-1"] ?? "", /its node ID changed \(old-id → new-id\)/);
    });
});

describe("rotation, backup and restore scripts", () => {
    it("are valid POSIX shell, and take secrets on stdin only", () => {
        for (const script of [renderRotateUnlockKey({ host: "manager-1" }), renderRotateCa({ host: "manager-1" }), renderBackup("manager-2"), renderRestore("manager-2"), renderReadNodeKey("manager-2")]) {
            assert.equal(spawnSync("sh", ["-n"], { input: script }).status, 0, script);
            assert.doesNotMatch(script, /SWMKEY-/);
        }
        assert.match(renderBackup("manager-2"), /it is the leader: a backup is taken from a follower/);
        assert.match(renderBackup("manager-2"), /would cost the swarm its quorum/);
        assert.match(renderRestore("manager-2"), /docker swarm init --force-new-cluster \$flags/);
        assert.match(renderRestore("manager-2"), /swarm\.before-restore\./, "the state it replaces is kept");
        assert.equal(restoreInput({ advertiseAddress: "10.0.0.12", autolock: true, nodeKey: "K" }).split("\n")[3], "-", "a recovery sends no archive");
    });
});

describe("config of the swarm settings", () => {
    const base: Record<string, string> = { "swarmkit:sshPublicKey": "ssh-ed25519 AAAA", "swarmkit:sshPrivateKey": "k", "swarmkit:workers": "2" };
    const parse = (extra: Record<string, string>) => parseConfig((k) => ({ ...base, ...extra })[k]);
    const problems = (extra: Record<string, string>) => {
        try {
            parse(extra);
            return [];
        } catch (err) {
            return (err as ConfigError).problems;
        }
    };

    it("reads labels, lab zones, pools, mask length, data path port, rotations and the engine", () => {
        const c = parse({
            "swarmkit:nodeLabels": JSON.stringify({ worker: { tier: "web" }, "worker-2": { disk: "ssd" } }),
            "swarmkit:labZones": JSON.stringify(["a", "b"]),
            "swarmkit:defaultAddrPool": JSON.stringify(["10.201.0.0/16"]),
            "swarmkit:defaultAddrPoolMaskLength": "26",
            "swarmkit:dataPathPort": "4790",
            "swarmkit:unlockKeyRotation": "1",
            "swarmkit:caRotation": "2",
            "swarmkit:dockerVersion": "26.1.*",
            "swarmkit:dockerPackage": "docker-ce",
        });
        assert.deepEqual(c.nodeLabels, { hosts: { "worker-2": { disk: "ssd" } }, worker: { tier: "web" } });
        assert.deepEqual(c.lab?.zones, ["a", "b"]);
        assert.deepEqual(c.network, { defaultAddrPool: ["10.201.0.0/16"], defaultAddrPoolMaskLength: 26, dataPathPort: 4790 });
        assert.deepEqual([c.unlockKeyRotation, c.caRotation], [1, 2]);
        assert.deepEqual(c.docker, { package: "docker-ce", version: "26.1.*" });
    });

    it("names every bad key before anything is made", () => {
        const p = problems({
            "swarmkit:defaultAddrPool": JSON.stringify(["10.77.0.0/16"]),
            "swarmkit:dataPathPort": "80",
            "swarmkit:nodeLabels": JSON.stringify({ "worker-7": { a: "b" } }),
            "swarmkit:autolock": "false",
            "swarmkit:unlockKeyRotation": "1",
        }).join("\n");
        assert.match(p, /defaultAddrPool: 10\.77\.0\.0\/16 overlaps 10\.77\.0\.0\/24/);
        assert.match(p, /swarmkit:dataPathPort = "80" is not allowed/);
        assert.match(p, /no host is named "worker-7"/);
        assert.match(p, /unlockKeyRotation is not allowed with swarmkit:autolock = "false"/);
    });
});

describe("sealed backups", () => {
    const header: BackupHeader = { format: BACKUP_FORMAT, host: "manager-2", address: "10.0.0.12", nodeId: "n2", clusterId: "c1", createdAt: "2026-12-02T00:00:00.000Z" };
    const payload = { unlockKey: "SWMKEY-1-test", nodeKey: "-----BEGIN ENCRYPTED PRIVATE KEY-----", archive: Buffer.from("archive bytes") };

    it("open with the key they were sealed with, and show only the header in the clear", () => {
        const key = newBackupKey();
        const file = sealBackup(header, payload, key);
        assert.ok(!file.includes(Buffer.from("SWMKEY")) && !file.includes(Buffer.from("archive bytes")));
        assert.deepEqual(backupHeader(file), header);
        const opened = openBackup(file, key);
        assert.equal(opened.payload.unlockKey, payload.unlockKey);
        assert.equal(opened.payload.archive.toString(), "archive bytes");
    });

    it("refuse another key, and a header changed after sealing", () => {
        const key = newBackupKey();
        const file = sealBackup(header, payload, key);
        assert.throws(() => openBackup(file, newBackupKey()), /does not open with this key/);
        const forged = Buffer.from(file.toString("latin1").replace('"host":"manager-2"', '"host":"manager-9"'), "latin1");
        assert.throws(() => openBackup(forged, key), /does not open with this key, or it was changed/);
    });
});

describe("engine pinning on VM targets", () => {
    it("cloud-init installs the configured package at the configured version, and the machine spec carries it", () => {
        const firewall = { nodes: ["10.0.0.0/16"], admin: ["0.0.0.0/0"], loadBalancer: [], publishedPorts: [] };
        const pinned = renderCloudInit({ hostname: "worker-1", user: "ubuntu", firewall, docker: { package: "docker-ce", version: "5:26.1.5-1~ubuntu.24.04~noble" } });
        assert.match(pinned, /^packages: \["iptables",\["docker-ce","5:26\.1\.5-1~ubuntu\.24\.04~noble"\]\]$/m);
        assert.match(renderCloudInit({ hostname: "worker-1", user: "ubuntu", firewall }), /^packages: \["iptables","docker\.io"\]$/m);
        assert.equal(engineSpec(undefined), undefined, "the default leaves older machine specs as they were");
        assert.equal(engineSpec({ version: "26.1.*" }), "docker.io=26.1.*");
    });
});
