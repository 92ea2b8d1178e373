/**
 * Swarm settings on lab hosts, for real (issue 16): node labels (the kit's own, zones from config, the user's by
 * role and host, kept after a node is replaced, removed when dropped from config), the overlay address pool and data
 * path port (and a change of them refused on the live swarm), unlock-key and CA rotation, and the engine version
 * check. Every test that breaks something puts it back in `finally`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { LabStack, e2eUnavailable, eventually, labLeftovers, secretLeaks, stackSecrets } from "./harness";

const unavailable = e2eUnavailable();
if (unavailable) console.log(`# e2e skipped: ${unavailable}`);

const LAB = "sett";
const SUBNET = "10.88.0.0/24";
const M1 = "10.88.0.11";
const M2 = "10.88.0.12";
const WORKERS = ["10.88.0.101", "10.88.0.102"];
const POOL = "10.201.0.0/16";
const DATA_PATH_PORT = 4790;

interface LabelledNode {
    Description: { Hostname: string };
    Spec: { Labels: Record<string, string> };
}

describe("swarm settings on lab hosts", { skip: unavailable, timeout: 30 * 60 * 1000 }, () => {
    const lab = new LabStack(`sett-${process.pid}`, { lab: LAB, subnet: SUBNET, managers: 3, workers: 2 });
    const secrets = new Set<string>();
    const collect = async () => (await stackSecrets(lab)).forEach((s) => secrets.add(s));
    const labels = async (): Promise<Record<string, Record<string, string>>> => {
        const ids = (await lab.ssh(M1, "docker node ls -q")).trim().split(/\s+/);
        const nodes = JSON.parse(await lab.ssh(M1, `docker node inspect ${ids.join(" ")}`)) as LabelledNode[];
        return Object.fromEntries(nodes.map((n) => [n.Description.Hostname, n.Spec.Labels ?? {}]));
    };
    const noChanges = async () => {
        const result = await lab.up();
        const changes = result.summary.resourceChanges ?? {};
        assert.deepEqual(Object.keys(changes).filter((k) => k !== "same"), [], `changes: ${JSON.stringify(changes)}`);
    };

    before(async () => {
        await new LabStack("sett-stale", lab.opts).teardown();
        await lab.create();
        await lab.set("labZones", JSON.stringify(["zone-a", "zone-b"]));
        await lab.set("nodeLabels", JSON.stringify({ worker: { tier: "web" }, "worker-2": { disk: "ssd" } }));
        await lab.set("defaultAddrPool", JSON.stringify([POOL]));
        await lab.set("defaultAddrPoolMaskLength", "26");
        await lab.set("dataPathPort", String(DATA_PATH_PORT));
        const r = await lab.up();
        assert.equal(r.summary.result, "succeeded");
        await collect();
    });

    after(async () => {
        await collect();
        const leaks = secretLeaks(lab, [...secrets]);
        const problems = await lab.teardown();
        if (problems.length) console.log(`# teardown: ${problems.join("; ")}`);
        assert.deepEqual(leaks, [], "no secret in plaintext in the state file or the engine's log");
        assert.deepEqual(labLeftovers(LAB), []);
    });

    it("labels every node with its role, its zone and the config's labels", async () => {
        const l = await labels();
        assert.deepEqual(Object.keys(l).sort(), ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]);
        for (const m of ["manager-1", "manager-2", "manager-3"]) assert.equal(l[m]["swarmkit.role"], "manager", m);
        assert.deepEqual([l["manager-1"]["swarmkit.zone"], l["manager-2"]["swarmkit.zone"], l["manager-3"]["swarmkit.zone"]], ["zone-a", "zone-b", "zone-a"]);
        assert.equal(l["worker-1"]["swarmkit.zone"], "zone-a");
        assert.equal(l["worker-2"]["swarmkit.zone"], "zone-b");
        assert.equal(l["worker-1"].tier, "web");
        assert.equal(l["worker-2"].tier, "web");
        assert.equal(l["worker-2"].disk, "ssd");
        assert.equal(l["worker-1"].disk, undefined);
        assert.equal(l["manager-1"].tier, undefined, "role labels stay on their role");
    });

    it("founds the swarm with the configured address pool and data path port, and opens that port between the nodes", async () => {
        const subnet = (await lab.ssh(M1, "docker network inspect ingress --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'")).trim();
        assert.match(subnet, /^10\.201\.\d+\.\d+\/26$/, `ingress subnet ${subnet} is a /26 of ${POOL}`);
        await lab.ssh(M1, "docker network create -d overlay settnet >/dev/null");
        const own = (await lab.ssh(M1, "docker network inspect settnet --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'")).trim();
        assert.match(own, /^10\.201\.\d+\.\d+\/26$/, `a new overlay network's subnet ${own} comes from the pool too`);
        const info = JSON.parse(await lab.ssh(M1, "docker info --format '{{json .Swarm.Cluster}}'")) as { DefaultAddrPool: string[]; SubnetSize: number; DataPathPort: number };
        assert.deepEqual([info.DefaultAddrPool, info.SubnetSize, info.DataPathPort], [[POOL], 26, DATA_PATH_PORT]);
        for (const address of [M1, ...WORKERS]) {
            const rules = await lab.ssh(address, "iptables -S SWARMKIT-NODES");
            assert.match(rules, new RegExp(`-p udp -m udp --dport ${DATA_PATH_PORT} .*vxlan`), `${address} opens ${DATA_PATH_PORT}/udp to the nodes`);
            assert.doesNotMatch(rules, /--dport 4789/, `${address} keeps 4789 closed`);
        }
    });

    it("refuses to change the address pool of the live swarm, and changes nothing", async () => {
        // Each resource and when it last changed (never its outputs: they hold secrets).
        const resources = async () => ((await lab.stack.exportStack()).deployment.resources as { urn: string; modified?: string }[]).map((r) => `${r.urn} ${r.modified}`).sort();
        const before = await resources();
        try {
            await lab.set("defaultAddrPool", JSON.stringify(["10.202.0.0/16"]));
            const r = lab.runUp();
            assert.notEqual(r.status, 0);
            assert.match(r.output, /network settings differ from the config: defaultAddrPool is 10\.201\.0\.0\/16, the config says 10\.202\.0\.0\/16/);
            assert.match(r.output, /cannot change them afterwards/);
            assert.deepEqual(await resources(), before, "no resource changed");
        } finally {
            await lab.set("defaultAddrPool", JSON.stringify([POOL]));
        }
        await noChanges();
    });

    it("a service with a zone spread preference lands on workers of both zones", async () => {
        lab.importBusybox(WORKERS);
        await lab.ssh(
            M1,
            "docker service create -d --name spread --replicas 4 --placement-pref spread=node.labels.swarmkit.zone " +
                "--constraint node.labels.tier==web lab/busybox:1 sleep 100000 >/dev/null",
        );
        const zonesOfTasks = async () => {
            const rows = (await lab.ssh(M1, "docker service ps spread --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'")).trim().split("\n");
            return rows.filter((r) => / Running /.test(r)).map((r) => r.split(" ")[0]);
        };
        assert.ok(await eventually(90, async () => (await zonesOfTasks()).length === 4), "4 tasks run");
        const perNode = (await zonesOfTasks()).reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});
        assert.deepEqual(perNode, { "worker-1": 2, "worker-2": 2 }, "2 tasks in zone-a (worker-1), 2 in zone-b (worker-2)");
        await lab.ssh(M1, "docker service rm spread >/dev/null");
    });

    it("removes a label dropped from the config, adds a new one, and leaves labels set by hand alone", async () => {
        await lab.ssh(M1, "docker node update --label-add by-hand=yes worker-1 >/dev/null");
        await lab.set("nodeLabels", JSON.stringify({ worker: { tier: "web" }, manager: { plane: "control" } }));
        await lab.up();
        const l = await labels();
        assert.equal(l["worker-2"].disk, undefined, "disk=ssd is gone from worker-2");
        assert.equal(l["worker-2"].tier, "web");
        for (const m of ["manager-1", "manager-2", "manager-3"]) assert.equal(l[m].plane, "control", m);
        assert.equal(l["worker-1"]["by-hand"], "yes", "a label set by hand stays");
        await noChanges();
    });

    it("labels a replaced node again: worker-2 gone with its disk comes back with its zone and labels", async () => {
        const oldId = (await lab.ssh(M1, "docker node inspect --format '{{.ID}}' worker-2")).trim();
        lab.host("down", "worker-2");
        const r = lab.runUp();
        assert.equal(r.status, 0, r.output);
        const newId = (await lab.ssh(M1, "docker node inspect --format '{{.ID}}' worker-2")).trim();
        assert.notEqual(newId, oldId, "a new node entry");
        const l = await labels();
        assert.equal(l["worker-2"]["swarmkit.zone"], "zone-b");
        assert.equal(l["worker-2"]["swarmkit.role"], "worker");
        assert.equal(l["worker-2"].tier, "web");
    });

    it("rotates the unlock key: a manager restarted afterwards opens with the new key only", async () => {
        const oldKey = (await lab.outputs()).unlockKey.value as string;
        await lab.set("unlockKeyRotation", "1");
        await lab.up();
        await collect();
        const newKey = (await lab.outputs()).unlockKey.value as string;
        assert.match(newKey, /^SWMKEY-1-/);
        assert.notEqual(newKey, oldKey, "the exported unlock key is the new one");
        assert.equal((await lab.ssh(M1, "docker swarm unlock-key -q")).trim(), newKey);
        try {
            lab.host("restart-docker", "manager-2");
            assert.ok(await eventually(60, async () => (await lab.ssh(M2, "docker info --format '{{.Swarm.LocalNodeState}}'")).trim() === "locked"));
            await assert.rejects(lab.ssh(M2, "docker swarm unlock", `${oldKey}\n`).then(() => undefined), "the old key no longer opens it");
            await lab.ssh(M2, "docker swarm unlock", `${newKey}\n`);
            assert.ok(await eventually(30, async () => (await lab.ssh(M2, "docker info --format '{{.Swarm.LocalNodeState}}'")).trim() === "active"));
        } finally {
            // Whatever happened, the kit puts manager-2 back (it unlocks it with the stack's key).
            lab.runUp();
        }
        await noChanges();
    });

    it("rotates the root CA: a new trust root, and every node Ready with a certificate of it", async () => {
        const trustRoot = async () => (await lab.ssh(M1, "docker info --format '{{.Swarm.Cluster.TLSInfo.TrustRoot}}'")).trim();
        const before = await trustRoot();
        await lab.set("caRotation", "1");
        const r = lab.runUp();
        assert.equal(r.status, 0, r.output);
        assert.notEqual(await trustRoot(), before, "the trust root changed");
        const rows = (await lab.ssh(M1, "docker node ls --format '{{.Hostname}} {{.Status}} {{.TLSStatus}}'")).trim().split("\n");
        assert.equal(rows.length, 5);
        for (const row of rows) assert.match(row, / Ready Ready$/, row);
        await noChanges();
    });

    it("reports a node that runs another engine version than the config's, and passes when they agree", async () => {
        const versions = (await lab.outputs()).engineVersions.value as Record<string, string>;
        assert.deepEqual(Object.keys(versions).sort(), ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]);
        const running = versions["manager-1"];
        assert.match(running, /^\d+\.\d+/);
        try {
            await lab.set("dockerVersion", "1.13");
            const wrong = lab.runUp();
            assert.equal(wrong.status, 2, wrong.output);
            for (const host of Object.keys(versions)) assert.match(wrong.output, new RegExp(`${host}: runs Docker ${running.replace(/[.+]/g, "\\$&")}, want 1\\.13`));
            assert.match(wrong.output, /warning: swarmkit: worker-1 runs Docker .*, the config says 1\.13/);
            await lab.set("dockerVersion", running.split(".").slice(0, 2).join("."));
            const right = lab.runUp();
            assert.equal(right.status, 0, right.output);
        } finally {
            await lab.stack.removeConfig("swarmkit:dockerVersion");
        }
    });
});
