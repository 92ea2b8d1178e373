/**
 * The main job for real: `pulumi up` of a lab swarm of 3 managers and 2 workers through the Automation API,
 * checked on the live swarm, then a no-op up, a change to 5 managers, and `pulumi destroy` leaving nothing behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { LabStack, ROOT, e2eUnavailable, eventually, labLeftovers } from "./harness";
import { unlockStack } from "../../scripts/unlock";

const unavailable = e2eUnavailable();
if (unavailable) console.log(`# e2e skipped: ${unavailable}`);

const LAB = "e2e";
const SUBNET = "10.79.0.0/24";
const MANAGER_1 = "10.79.0.11";
const WORKERS = ["10.79.0.101", "10.79.0.102"];
const PORT = 8080;

interface NodeRow {
    Hostname: string;
    Status: string;
    Availability: string;
    ManagerStatus: string;
}

/** Kernel features the routing mesh and encrypted overlays need, which this kind of machine may lack. */
function kernelFeatures() {
    const crypto = existsSync("/proc/crypto") ? readFileSync("/proc/crypto", "utf8") : "";
    return {
        ipvs: existsSync("/proc/net/ip_vs"),
        esp: existsSync("/sys/module/esp4") && /gcm\(aes\)/.test(crypto),
    };
}

/** Asks a TCP port for its greeting, from this (root) namespace, which stands in for the load balancer. */
function greet(address: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = createConnection({ host: address, port, timeout: 3000 });
        let data = "";
        socket.on("data", (d) => (data += d));
        socket.on("end", () => resolve(data.trim()));
        socket.on("timeout", () => socket.destroy(new Error("timeout")));
        socket.on("error", reject);
    });
}

describe("lab swarm end to end", { skip: unavailable, timeout: 25 * 60 * 1000 }, () => {
    const lab = new LabStack(`e2e-${process.pid}`, { lab: LAB, subnet: SUBNET, managers: 3, workers: 2, publishedPorts: [PORT] });
    /** Acts on a lab host from outside, as a failing machine would (scripts/lab/host.sh). */
    const host = (action: string, name: string) => spawnSync("bash", [join(ROOT, "scripts/lab/host.sh"), action, LAB, name], { encoding: "utf8" });
    /** Every secret the run has seen, for the final audit of state, log and project files. */
    const seenSecrets = new Set<string>();
    const nodes = async (): Promise<NodeRow[]> =>
        (await lab.ssh(MANAGER_1, "docker node ls --format '{{json .}}'"))
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as NodeRow);

    before(async () => {
        // A previous run killed half-way must not leave this one a stale lab.
        await new LabStack("e2e-stale", lab.opts).teardown();
        await lab.create();
    });

    after(async () => {
        const problems = await lab.teardown();
        if (problems.length) console.log(`# teardown: ${problems.join("; ")}`);
    });

    it("pulumi up brings up 3 managers and 2 workers", async () => {
        const result = await lab.up();
        assert.equal(result.summary.result, "succeeded");
        const rows = await nodes();
        assert.equal(rows.length, 5);
        const managers = rows.filter((r) => r.Hostname.startsWith("manager-"));
        assert.deepEqual(managers.map((m) => m.ManagerStatus).sort(), ["Leader", "Reachable", "Reachable"]);
        assert.ok(managers.every((m) => m.Availability === "Drain"), "every manager is drained");
        const workers = rows.filter((r) => r.Hostname.startsWith("worker-"));
        assert.ok(workers.every((w) => w.Availability === "Active" && w.ManagerStatus === "" && w.Status === "Ready"));
    });

    it("exports the tokens and unlock key as secrets, absent in plaintext from state and log", async () => {
        const out = await lab.outputs();
        for (const key of ["workerJoinToken", "managerJoinToken", "unlockKey"]) {
            assert.equal(out[key].secret, true, `${key} is secret`);
        }
        assert.match(out.workerJoinToken.value, /^SWMTKN-1-/);
        assert.match(out.managerJoinToken.value, /^SWMTKN-1-/);
        assert.match(out.unlockKey.value, /^SWMKEY-1-/);
        const shown = spawnSync("pulumi", ["stack", "output", "--show-secrets", "--json", "--stack", lab.name], { cwd: ROOT, encoding: "utf8" });
        assert.equal(JSON.parse(shown.stdout).unlockKey, out.unlockKey.value, "readable with --show-secrets");
        const state = lab.stateFile();
        const log = lab.log.join("");
        const privateKey = readFileSync(lab.keyPath, "utf8").split("\n")[1];
        for (const secret of [out.workerJoinToken.value, out.managerJoinToken.value, out.unlockKey.value, privateKey]) {
            seenSecrets.add(secret);
            assert.ok(!state.includes(secret), "no secret in plaintext in the state file");
            assert.ok(!log.includes(secret), "no secret in Pulumi's output");
        }
        assert.equal(out.dockerHost.value, `ssh://root@${MANAGER_1}`);
    });

    it("autolock: a restarted manager comes back locked; the kit's unlock command opens it without printing the key", async () => {
        const out = await lab.outputs();
        const r = spawnSync("bash", [join(ROOT, "scripts/lab/host.sh"), "restart-docker", LAB, "manager-2"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal((await lab.ssh("10.79.0.12", "docker info --format '{{.Swarm.LocalNodeState}}'")).trim(), "locked");
        const printed: string[] = [];
        const result = await unlockStack(lab.name, (line) => printed.push(line));
        assert.deepEqual(result, { "manager-1": "active", "manager-2": "unlocked", "manager-3": "active" });
        assert.ok(!printed.join("\n").includes(out.unlockKey.value), "the unlock key is not printed");
        assert.ok(await eventually(60, async () => (await nodes()).filter((n) => n.ManagerStatus === "Reachable").length === 2));
    });

    it("runs a service from an imported busybox image on the workers, over an overlay and a published port", async () => {
        const rootfs = spawnSync("sh", ["-c", `d=$(mktemp -d) && mkdir -p $d/bin && cp $(command -v busybox) $d/bin/ && for a in sh nc hostname sleep cat echo ip; do ln -s busybox $d/bin/$a; done && tar -C $d -c . && rm -rf $d`], { maxBuffer: 64 << 20 });
        assert.equal(rootfs.status, 0);
        for (const worker of WORKERS) {
            spawnSync("ssh", ["-i", lab.keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", `root@${worker}`, `docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - lab/busybox:1 >/dev/null`], { input: rootfs.stdout });
        }
        await lab.ssh(MANAGER_1, "docker network create -d overlay --attachable appnet >/dev/null");
        // No IPVS here: DNS round robin instead of a VIP, and the port published on each node itself.
        await lab.ssh(
            MANAGER_1,
            `docker service create -d --name web --mode global --constraint node.role==worker --network appnet --endpoint-mode dnsrr ` +
                `--publish mode=host,target=${PORT},published=${PORT} lab/busybox:1 sh -c 'while true; do echo "hello from $(hostname)" | nc -l -p ${PORT}; done' >/dev/null`,
        );
        for (const worker of WORKERS) {
            assert.ok(await eventually(90, async () => /^hello from /.test(await greet(worker, PORT))), `published port on ${worker}`);
        }
        // Published ports answer the load balancer (here: this namespace) only, not another host of the lab.
        const fromManager = await lab.ssh(MANAGER_1, `timeout 3 bash -c 'exec 3<>/dev/tcp/${WORKERS[0]}/${PORT} && cat <&3'; echo "rc=$?"`).catch((e) => String(e));
        assert.ok(!fromManager.includes("hello from"), `a published port answered a non-LB source: ${fromManager}`);
        const containers = await Promise.all(WORKERS.map(async (w) => (await lab.ssh(w, "docker ps -q --filter label=com.docker.swarm.service.name=web")).trim()));
        const ip = (await lab.ssh(WORKERS[1], `docker inspect -f '{{(index .NetworkSettings.Networks "appnet").IPAddress}}' ${containers[1]}`)).trim();
        const ok = await eventually(60, async () =>
            /^hello from /.test(await lab.ssh(WORKERS[0], `docker exec ${containers[0]} sh -c 'nc ${ip} ${PORT} </dev/null'`)),
        );
        assert.ok(ok, "a task on worker-1 reaches a task on worker-2 over the overlay");
        const managersTasks = await lab.ssh(MANAGER_1, "docker service ps web --format '{{.Node}}' --filter desired-state=running");
        assert.ok(!/manager-/.test(managersTasks), "no task on a drained manager");
    });

    it("routing mesh on every node and an encrypted overlay, where the kernel has them", async (t) => {
        const features = kernelFeatures();
        if (!features.ipvs) t.diagnostic("routing mesh skipped: the kernel has no IPVS (/proc/net/ip_vs), so ingress cannot work here");
        if (!features.esp) t.diagnostic("encrypted overlay skipped: the kernel has no ESP/GCM (esp4, gcm(aes)), so IPsec overlays cannot work here");
        if (features.ipvs) {
            await lab.ssh(MANAGER_1, `docker service create -d --name mesh --replicas 1 --constraint node.role==worker --publish published=8081,target=${PORT} lab/busybox:1 sh -c 'while true; do echo mesh | nc -l -p ${PORT}; done' >/dev/null`);
            for (const address of ["10.79.0.11", "10.79.0.12", "10.79.0.13", ...WORKERS]) {
                assert.ok(await eventually(90, async () => (await greet(address, 8081)) === "mesh"), `routing mesh answers on ${address}`);
            }
        }
        if (features.esp) {
            await lab.ssh(MANAGER_1, "docker network create -d overlay --opt encrypted --attachable secnet >/dev/null");
            await lab.ssh(MANAGER_1, `docker service create -d --name sec --mode global --constraint node.role==worker --network secnet --endpoint-mode dnsrr lab/busybox:1 sh -c 'while true; do echo sec | nc -l -p ${PORT}; done' >/dev/null`);
            const containers = await Promise.all(WORKERS.map(async (w) => (await lab.ssh(w, "docker ps -q --filter label=com.docker.swarm.service.name=sec")).trim()));
            const ip = (await lab.ssh(WORKERS[1], `docker inspect -f '{{(index .NetworkSettings.Networks "secnet").IPAddress}}' ${containers[1]}`)).trim();
            assert.ok(await eventually(60, async () => (await lab.ssh(WORKERS[0], `docker exec ${containers[0]} sh -c 'nc ${ip} ${PORT} </dev/null'`)).trim() === "sec"));
        }
    });

    it("a second pulumi up changes nothing", async () => {
        const result = await lab.up();
        const changes = result.summary.resourceChanges ?? {};
        assert.deepEqual(Object.keys(changes).filter((k) => k !== "same"), [], `changes: ${JSON.stringify(changes)}`);
    });

    it("grows from 3 to 5 managers", async () => {
        await lab.set("managers", "5");
        await lab.up();
        const managers = (await nodes()).filter((r) => r.Hostname.startsWith("manager-"));
        assert.equal(managers.length, 5);
        assert.deepEqual(managers.map((m) => m.ManagerStatus).sort(), ["Leader", "Reachable", "Reachable", "Reachable", "Reachable"]);
        assert.ok(managers.every((m) => m.Availability === "Drain"));
    });

    it("shrinks to 3 managers and 1 worker, demoting before removing, with no Down entry left", async () => {
        await lab.set("managers", "3");
        await lab.set("workers", "1");
        await lab.up();
        const rows = await nodes();
        assert.deepEqual(rows.map((r) => r.Hostname).sort(), ["manager-1", "manager-2", "manager-3", "worker-1"]);
        assert.ok(rows.every((r) => r.Status === "Ready"), `no Down entries: ${JSON.stringify(rows)}`);
        assert.deepEqual(rows.filter((r) => r.ManagerStatus !== "").map((r) => r.ManagerStatus).sort(), ["Leader", "Reachable", "Reachable"]);
    });

    it("a refused join names the host and the step; after the fix a re-run converges with no duplicate node", async () => {
        const managers = ["10.79.0.11", "10.79.0.12", "10.79.0.13"];
        const block = "iptables -w -I SWARMKIT-INPUT 1 -p tcp --dport 2377 -j REJECT --reject-with tcp-reset";
        try {
            for (const m of managers) await lab.ssh(m, block);
            await lab.set("workers", "2");
            await assert.rejects(lab.up(), (err: Error) => {
                assert.match(err.message, /swarm-join-worker-2/);
                assert.match(err.message, /swarmkit: host worker-2: step join: every manager refused the join/);
                return true;
            });
        } finally {
            for (const m of managers) await lab.ssh(m, block.replace("-I SWARMKIT-INPUT 1", "-D SWARMKIT-INPUT"));
        }
        const result = await lab.up();
        assert.equal(result.summary.result, "succeeded");
        const rows = await nodes();
        const names = rows.map((r) => r.Hostname).sort();
        assert.deepEqual(names, ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"], "no duplicate or ghost entries");
        let last: NodeRow[] = rows;
        const ready = await eventually(30, async () => (last = await nodes()).every((r) => r.Status === "Ready"));
        assert.ok(ready, `every node Ready: ${JSON.stringify(last)}`);
    });

    it("a lost leader: with manager-1's dockerd stopped, the next up works through a surviving manager, and then unlocks it", async () => {
        assert.equal(host("stop-docker", "manager-1").status, 0);
        try {
            await lab.set("workers", "3");
            const result = await lab.up();
            assert.equal(result.summary.result, "succeeded");
            assert.match(result.stdout, /swarmkit: manager-1 cannot act for the swarm now: the kit operates through manager-[23]/);
            const out = await lab.outputs();
            assert.ok(["10.79.0.12", "10.79.0.13"].includes(out.leaderAddress.value), `operates through a surviving manager now: ${out.leaderAddress.value}`);
            const viaSurvivor = (await lab.ssh(out.leaderAddress.value, "docker node ls --format '{{.Hostname}} {{.Status}}'")).trim().split("\n");
            assert.ok(viaSurvivor.includes("worker-3 Ready"), viaSurvivor.join(", "));
        } finally {
            assert.equal(host("start-docker", "manager-1").status, 0);
        }
        // manager-1 comes back locked (autolock): the next up sees it and unlocks it with the stack's key.
        const repaired = await lab.up();
        assert.match(repaired.stdout, /swarmkit: manager-1: locked \(autolock\): unlocking it with the stack's unlock key/);
        assert.ok(await eventually(60, async () => (await nodes()).every((n) => n.Status === "Ready")));
        await lab.up();
        assert.equal((await lab.outputs()).leaderAddress.value, MANAGER_1, "back to the first manager once it is healthy");
    });

    it("rotates both join tokens on request and exports the new ones", async () => {
        const before = await lab.outputs();
        await lab.set("tokenRotation", "1");
        await lab.up();
        const after = await lab.outputs();
        assert.notEqual(after.workerJoinToken.value, before.workerJoinToken.value);
        assert.notEqual(after.managerJoinToken.value, before.managerJoinToken.value);
        assert.equal(after.workerJoinToken.secret, true);
        const live = (await lab.ssh(MANAGER_1, "docker swarm join-token -q worker")).trim();
        assert.equal(after.workerJoinToken.value, live, "the exported token is the swarm's current one");
        for (const t of [after.workerJoinToken.value, after.managerJoinToken.value]) seenSecrets.add(t);
        assert.ok((await nodes()).every((n) => n.Status === "Ready"), "rotation leaves joined nodes alone");
    });

    it("a host unreachable over SSH: the run names it and its address, the step on it fails fast; once SSH is back a re-run converges", async () => {
        assert.equal(host("stop-sshd", "worker-1").status, 0);
        try {
            // A change that needs a step on worker-1: its firewall gets another published port.
            await lab.set("publishedPorts", JSON.stringify([PORT, 8082]));
            const start = Date.now();
            await assert.rejects(lab.up(), (err: Error) => {
                assert.match(err.message, /swarm-firewall-worker-1/);
                return true;
            });
            const log = lab.log.join("");
            assert.match(log, /swarmkit: worker-1: unreachable over SSH \([^)]*\); steps on it fail until it answers/);
            assert.ok((Date.now() - start) / 1000 < 60, "a refused host fails its step within seconds, not minutes");
        } finally {
            assert.equal(host("start-sshd", "worker-1").status, 0);
        }
        const result = await lab.up();
        assert.equal(result.summary.result, "succeeded");
        const rows = await nodes();
        assert.equal(rows.filter((r) => r.Hostname === "worker-1").length, 1);
        assert.ok(rows.every((r) => r.Status === "Ready"));
        const out = await lab.outputs();
        for (const t of [out.workerJoinToken.value, out.managerJoinToken.value]) seenSecrets.add(t);
    });

    it("a replaced host (new machine, same name) rejoins and its old node entry goes", async () => {
        const oldId = (await lab.ssh(MANAGER_1, "docker node ls -q --filter name=worker-1")).trim();
        const urn = (await lab.stack.exportStack()).deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::lab-worker-1")).urn;
        await lab.stack.up({ replace: [urn], color: "never", onOutput: (o) => lab.log.push(o) });
        const rows = await nodes();
        assert.equal(rows.filter((r) => r.Hostname === "worker-1").length, 1, "one worker-1 entry");
        const newId = (await lab.ssh(MANAGER_1, "docker node ls -q --filter name=worker-1")).trim();
        assert.notEqual(newId, oldId);
        assert.ok(rows.every((r) => r.Status === "Ready"));
    });

    it("bad config fails before any change, naming the key", async () => {
        const before = (await lab.stack.exportStack()).deployment.resources.length;
        await lab.set("managers", "4");
        // The way an operator runs it (npm run up runs this): the error is the message, and the exit code says so.
        const r = spawnSync("node", ["--import", "tsx", "scripts/stack.ts", "up", lab.name], { cwd: ROOT, encoding: "utf8" });
        assert.notEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /swarmkit:managers = "4" is not allowed: use 1, 3, 5 or 7/);
        assert.equal((await lab.stack.exportStack()).deployment.resources.length, before);
        assert.equal((await nodes()).filter((n) => n.ManagerStatus !== "").length, 3);
        await lab.set("managers", "3");
    });

    it("after up, scale and rotation no secret is in plaintext in the state, the engine's log or any project file", () => {
        const state = lab.stateFile();
        const log = lab.log.join("");
        const files = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n").filter(Boolean);
        const extra = [join(".pulumi", "state"), "stacks"].flatMap((d) =>
            spawnSync("find", [join(ROOT, d), "-type", "f"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean),
        );
        const contents = [...files.map((f) => join(ROOT, f)), ...extra].filter((f) => existsSync(f)).map((f) => [f, readFileSync(f, "latin1")] as const);
        assert.ok(seenSecrets.size >= 6, `secrets collected: ${seenSecrets.size}`);
        for (const secret of seenSecrets) {
            assert.ok(!state.includes(secret), "state file");
            assert.ok(!log.includes(secret), "engine log");
            for (const [file, text] of contents) assert.ok(!text.includes(secret), `plaintext secret in ${file}`);
        }
    });

    it("pulumi destroy leaves nothing behind", async () => {
        await lab.stack.destroy({ color: "never" });
        assert.deepEqual(labLeftovers(LAB), []);
    });
});
