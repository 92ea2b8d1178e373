/**
 * The host firewall and SSH trust on lab hosts, for real (issue 12): containers keep their outbound traffic, only
 * listed published ports are reachable and only from the load balancer, a changed adminCidr or publishedPorts reaches
 * every running host with one `pulumi up` and replaces nothing, and host keys are pinned and verified.
 *
 * The lab's gateway (this namespace, 10.85.0.1) stands in for both the internet and the load balancer; an extra
 * namespace on the lab's bridge (10.85.0.253, not a node) stands in for anyone else. Traffic stays in the lab.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Server, createConnection, createServer } from "node:net";
import { join } from "node:path";
import { LabStack, ROOT, e2eUnavailable, eventually, secretLeaks, stackSecrets } from "./harness";

const unavailable = e2eUnavailable();
if (unavailable) console.log(`# e2e skipped: ${unavailable}`);

const LAB = "fwlab";
const SUBNET = "10.85.0.0/24";
const GATEWAY = "10.85.0.1";
const OUTSIDER = "10.85.0.253";
const M1 = "10.85.0.11";
const W1 = "10.85.0.101";
const W2 = "10.85.0.102";
const OUTSIDER_NS = "fwlab-outsider";

/** Opens a TCP connection and reads what the other side says; "" when nothing answers in time. */
function greet(address: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const socket = createConnection({ host: address, port, timeout: 3000 });
        let data = "";
        socket.on("data", (d) => (data += d));
        socket.on("end", () => resolve(data.trim()));
        socket.on("timeout", () => socket.destroy());
        socket.on("error", () => resolve(""));
        socket.on("close", () => resolve(data.trim()));
    });
}

/** The same, from the outsider's namespace. */
function greetFromOutsider(address: string, port: number): string {
    const r = spawnSync("nsenter", [`--net=/run/netns/${OUTSIDER_NS}`, "timeout", "4", "bash", "-c", `exec 3<>/dev/tcp/${address}/${port} && cat <&3`], { encoding: "utf8" });
    return (r.stdout ?? "").trim();
}

/** Listeners on the gateway that record who connected. */
function listen(port: number, seen: string[]): Promise<Server> {
    return new Promise((resolve, reject) => {
        const server = createServer((socket) => {
            seen.push(`${port} from ${socket.remoteAddress}`);
            socket.end("hello from the gateway\n");
        });
        server.on("error", reject);
        server.listen(port, GATEWAY, () => resolve(server));
    });
}

describe("host firewall and SSH trust on lab hosts", { skip: unavailable, timeout: 25 * 60 * 1000 }, () => {
    const lab = new LabStack(`fw-${process.pid}`, { lab: LAB, subnet: SUBNET, managers: 1, workers: 2, publishedPorts: [443, 8080] });
    const secrets = new Set<string>();
    const sh = (cmd: string) => spawnSync("sh", ["-c", cmd], { encoding: "utf8" });

    before(async () => {
        await new LabStack("fw-stale", lab.opts).teardown();
        sh(`ip netns del ${OUTSIDER_NS} 2>/dev/null`);
        await lab.create();
        const r = await lab.up();
        assert.equal(r.summary.result, "succeeded");
        (await stackSecrets(lab)).forEach((s) => secrets.add(s));
        lab.importBusybox([W1, W2]);
        // Someone on the lab's network who is not a node.
        const setup = sh(
            `ip netns add ${OUTSIDER_NS} && ip link add fwlab-out type veth peer name eth0 netns ${OUTSIDER_NS} && ip link set fwlab-out master ${LAB}-br up && ` +
                `ip -n ${OUTSIDER_NS} addr add ${OUTSIDER}/24 dev eth0 && ip -n ${OUTSIDER_NS} link set eth0 up && ip -n ${OUTSIDER_NS} link set lo up`,
        );
        assert.equal(setup.status, 0, setup.stderr);
    });

    after(async () => {
        sh(`ip netns del ${OUTSIDER_NS} 2>/dev/null; ip link del fwlab-out 2>/dev/null`);
        const problems = await lab.teardown();
        if (problems.length) console.log(`# teardown: ${problems.join("; ")}`);
    });

    it("a container on a worker keeps its outbound connections to ports 443 and 80, published or not", async () => {
        const seen: string[] = [];
        const servers = [await listen(443, seen), await listen(80, seen)];
        try {
            for (const port of [443, 80]) {
                const out = await lab.ssh(W1, `docker run --rm lab/busybox:1 sh -c 'nc -w 3 ${GATEWAY} ${port} </dev/null'`).catch((e) => String(e));
                assert.match(out, /hello from the gateway/, `port ${port}: ${out}`);
            }
            assert.deepEqual(seen.sort(), [`443 from ${W1}`, `80 from ${W1}`].sort());
        } finally {
            for (const s of servers) s.close();
        }
    });

    it("a port a service publishes but the config does not list is closed to everyone outside the nodes; a listed one opens to the load balancer only", async () => {
        const service = (name: string, port: number) =>
            `docker service create -d --name ${name} --mode global --constraint node.role==worker --endpoint-mode dnsrr ` +
            `--publish mode=host,target=${port},published=${port} lab/busybox:1 sh -c 'while true; do echo ${name} | nc -l -p ${port}; done' >/dev/null`;
        await lab.ssh(M1, service("listed", 8080));
        await lab.ssh(M1, service("unlisted", 9000));
        assert.ok(await eventually(90, async () => (await greet(W1, 8080)) === "listed"), "the listed port answers the load balancer");
        // The unlisted service runs and answers on its own node (so a silence below is the firewall's doing).
        assert.ok(await eventually(60, async () => (await lab.ssh(W1, "docker exec $(docker ps -q --filter label=com.docker.swarm.service.name=unlisted) sh -c 'nc 127.0.0.1 9000 </dev/null'")).trim() === "unlisted"));
        assert.equal(await greet(W1, 9000), "", "an unlisted published port answered the gateway");
        assert.equal(greetFromOutsider(W1, 9000), "", "an unlisted published port answered a lab address that is not a node");
        assert.equal(greetFromOutsider(W1, 8080), "", "a listed port answered someone other than the load balancer");
        const fromNode = await lab.ssh(M1, `timeout 3 bash -c 'exec 3<>/dev/tcp/${W1}/9000 && cat <&3'; true`);
        assert.equal(fromNode.trim(), "unlisted", "the nodes themselves may use an unlisted port");
    });

    it("a new adminCidr and publishedPorts reach every running host with one up, replacing nothing; the preview shows only the firewall steps", async () => {
        const ids = (await lab.outputs()).nodes.value.map((n: { nodeId: string }) => n.nodeId);
        await lab.set("adminCidr", "10.85.0.0/25");
        await lab.set("publishedPorts", "[443, 9000]");
        const preview = await lab.preview();
        const changed = Object.entries(preview.changeSummary).filter(([k]) => k !== "same");
        assert.deepEqual(changed, [["update", 3]], JSON.stringify(preview.changeSummary));
        for (const h of ["manager-1", "worker-1", "worker-2"]) assert.match(preview.stdout, new RegExp(`~ +command:remote:Command swarm-firewall-${h} update`));
        const r = await lab.up();
        assert.deepEqual(r.summary.resourceChanges, { same: (r.summary.resourceChanges?.same ?? 0), update: 3 });
        for (const address of [M1, W1, W2]) {
            const rules = await lab.ssh(address, "iptables -S SWARMKIT-INPUT; iptables -S SWARMKIT-PUBLISHED; cat /etc/swarmkit/firewall");
            assert.match(rules, /-A SWARMKIT-INPUT -s 10\.85\.0\.0\/25 -j SWARMKIT-ADMIN/, address);
            assert.match(rules, /--ctorigdstport 9000 -m comment --comment published-9000 -j RETURN/, address);
            assert.doesNotMatch(rules.split("#!/bin/sh")[0], /ctorigdstport 8080/, address);
            assert.match(rules, /published-9000/, `${address}: the saved copy, run at boot, has the new rules too`);
        }
        assert.deepEqual((await lab.outputs()).nodes.value.map((n: { nodeId: string }) => n.nodeId), ids, "no node was replaced");
        assert.ok(await eventually(30, async () => (await greet(W1, 9000)) === "unlisted"), "9000 is listed now: the load balancer reaches it");
        assert.equal(await greet(W1, 8080), "", "8080 is not listed any more");
        const again = await lab.up();
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), []);
    });

    it("a host whose SSH host key changed stops the next up, naming it; a fresh host gets its key pinned with no prompt", async () => {
        const dir = join(ROOT, ".lab", LAB, "worker-1", "ssh");
        const keyFile = join(dir, "host_ed25519");
        const saved = readFileSync(keyFile);
        const savedPub = readFileSync(`${keyFile}.pub`);
        try {
            // The machine answers with another key: rebuilt behind our back, or someone else on its address.
            lab.host("stop-sshd", "worker-1");
            assert.equal(sh(`rm -f ${keyFile} ${keyFile}.pub && ssh-keygen -q -t ed25519 -N '' -f ${keyFile}`).status, 0);
            lab.host("start-sshd", "worker-1");
            const up = lab.runUp();
            assert.notEqual(up.status, 0);
            assert.match(up.output, /swarmkit: host worker-1 \(10\.85\.0\.101:22\): its SSH host key changed: pinned SHA256:\S+, now presents SHA256:\S+/);
            assert.match(up.output, /Nothing was sent to it/);
        } finally {
            lab.host("stop-sshd", "worker-1");
            writeFileSync(keyFile, saved, { mode: 0o600 });
            writeFileSync(`${keyFile}.pub`, savedPub);
            lab.host("start-sshd", "worker-1");
        }
        assert.equal(lab.runUp().status, 0, "with its key back the host is trusted again");

        const before = (await lab.outputs()).nodes.value.find((n: { name: string }) => n.name === "worker-2").hostKey;
        lab.host("down", "worker-2");
        const up = lab.runUp();
        assert.equal(up.status, 0, up.output.slice(-2000));
        const pinned = (await lab.outputs()).nodes.value.find((n: { name: string }) => n.name === "worker-2").hostKey;
        const presented = readFileSync(join(ROOT, ".lab", LAB, "worker-2", "ssh", "host_ed25519.pub"), "utf8").split(" ").slice(0, 2).join(" ");
        assert.notEqual(pinned, before, "the new machine's key replaced the old one");
        assert.equal(pinned, presented, "the key pinned is the one the new machine has");
    });

    it("no token, unlock key or private key in plaintext in the state file or the engine's log", async () => {
        (await stackSecrets(lab)).forEach((s) => secrets.add(s));
        assert.ok(secrets.size >= 4);
        assert.deepEqual(secretLeaks(lab, [...secrets]), []);
    });
});
