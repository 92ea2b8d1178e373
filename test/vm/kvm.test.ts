/**
 * The KVM target on real virtual machines, end to end: `pulumi up` of 1 manager and 2 workers through libvirt on the
 * guest image `npm run vm-image` builds (Docker preinstalled, direct kernel boot, no package mirror), virtType auto
 * (software emulation where there is no VT-x/AMD-V). Then, on the live swarm and a real guest kernel: the routing
 * mesh on every node (the drained manager included), a service VIP that resolves and balances, an encrypted overlay
 * whose traffic is ESP on the wire, the host firewall, autolock after a guest reboot, and a destroy that leaves no
 * domain, disk or cloud-init seed.
 *
 * Run by scripts/test-vm.sh (`npm run test:vm`) inside the network namespace of a libvirtd of its own: every
 * address here is a guest on that namespace's isolated libvirt network, or this process's own end of it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { get } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Stack } from "@pulumi/pulumi/automation";
import { selectStack } from "../../scripts/stack";
import { ROOT, eventually, sleep } from "../e2e/harness";

const run = promisify(execFile);
const ENV = {
    uri: process.env.SWARMKIT_VM_URI ?? "",
    imageDir: process.env.SWARMKIT_VM_IMAGE_DIR ?? "",
    network: process.env.SWARMKIT_VM_NETWORK ?? "",
    bridge: process.env.SWARMKIT_VM_BRIDGE ?? "",
    hostAddress: process.env.SWARMKIT_VM_HOST_ADDRESS ?? "",
    disks: process.env.SWARMKIT_VM_DISKS ?? "",
};
const unavailable = ENV.uri ? undefined : "real VMs run under npm run test:vm (scripts/test-vm.sh), which starts their libvirtd";
if (unavailable) console.log(`# skipped: ${unavailable}`);

const PUBLISHED = 8080;
const IMAGE = "vm/busybox:1";

/** The `swarmkit:key: value` lines vm-image prints for its image. */
function imageStackConfig(dir: string): Record<string, string> {
    const config: Record<string, string> = {};
    for (const line of readFileSync(join(dir, "stack-config"), "utf8").split("\n")) {
        const m = /^(swarmkit:[A-Za-z]+):\s*"?(.*?)"?\s*$/.exec(line);
        if (m) config[m[1]] = m[2];
    }
    return config;
}

function virsh(...args: string[]): string {
    const r = spawnSync("virsh", ["-q", "-c", ENV.uri, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`virsh ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

/** Whether a TCP connection to address:port is accepted within `ms` (a dropped SYN times out, a reject refuses). */
function tcpOpen(address: string, port: number, ms = 4000): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = connect({ host: address, port, timeout: ms });
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("timeout", () => (socket.destroy(), resolve(false)));
        socket.once("error", () => resolve(false));
    });
}

function httpGet(address: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = get({ host: address, port, path: "/", timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d)).on("end", () => resolve(body.trim()));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
    });
}

describe("the KVM target on real VMs", { skip: unavailable, timeout: 40 * 60 * 1000 }, () => {
    const name = `vm-${process.pid}`;
    const keyDir = mkdtempSync(join(tmpdir(), "swarmkit-vm-key-"));
    const keyPath = join(keyDir, "id_ed25519");
    const log: string[] = [];
    let stack: Stack;
    const address: Record<string, string> = {};
    const seeds = () => (existsSync("/var/lib/libvirt/boot") ? readdirSync("/var/lib/libvirt/boot") : []);
    const seedsAtStart = seeds();
    const domains = () => ["manager-1", "worker-1", "worker-2"].map((h) => `${name}-${h}`);

    /** Set once the swarm is up: the later tests need it, and would only wait out their timeouts without it. */
    let swarmUp = false;
    const needsSwarm = (t: { skip: (why: string) => void }) => {
        if (!swarmUp) t.skip("the first pulumi up failed");
        return !swarmUp;
    };
    const up = () => stack.up({ onOutput: (s) => log.push(s), color: "never" });

    async function ssh(host: string, command: string): Promise<string> {
        const args = ["-i", keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `ubuntu@${address[host]}`, command];
        return (await run("ssh", args, { maxBuffer: 16 << 20, timeout: 5 * 60 * 1000 })).stdout.trim();
    }

    before(async () => {
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swarmkit-vm-e2e", "-f", keyPath]);
        stack = await selectStack(name);
        const image = imageStackConfig(ENV.imageDir);
        const config: Record<string, { value: string; secret?: boolean }> = {};
        for (const [k, v] of Object.entries(image)) config[k] = { value: v };
        Object.assign(config, {
            "swarmkit:managers": { value: "1" },
            "swarmkit:workers": { value: "2" },
            "swarmkit:virtType": { value: "auto" },
            "swarmkit:network": { value: ENV.network },
            "swarmkit:libvirtUri": { value: ENV.uri },
            "swarmkit:diskDir": { value: ENV.disks },
            "swarmkit:cpus": { value: "1" },
            "swarmkit:memoryMiB": { value: "1024" },
            "swarmkit:adminCidr": { value: `${ENV.hostAddress}/32` },
            "swarmkit:publishedPorts": { value: JSON.stringify([PUBLISHED]) },
            "swarmkit:sshPublicKey": { value: readFileSync(`${keyPath}.pub`, "utf8").trim() },
            "swarmkit:sshPrivateKey": { value: readFileSync(keyPath, "utf8"), secret: true },
        });
        await stack.setAllConfig(config);
    });

    after(async () => {
        try {
            await stack?.destroy({ color: "never", onOutput: (s) => log.push(s) });
        } finally {
            await stack?.workspace.removeStack(name).catch(() => undefined);
        }
    });

    it("pulumi up makes the VMs from the image without a package mirror and forms a drained, autolocked swarm", async () => {
        const start = Date.now();
        const result = await up();
        console.log(`# pulumi up of 1+2 VMs: ${Math.round((Date.now() - start) / 1000)} s`);
        assert.equal(result.summary.result, "succeeded");
        for (const n of result.outputs.nodes.value as { name: string; sshAddress: string }[]) address[n.name] = n.sshAddress;
        assert.deepEqual(Object.keys(address).sort(), ["manager-1", "worker-1", "worker-2"]);
        for (const d of domains()) {
            // No VT-x/AMD-V on this machine: auto fell back to software emulation.
            const xml = virsh("dumpxml", d);
            const type = /<domain type='(\w+)'/.exec(xml)?.[1];
            if (!/^flags.*\b(vmx|svm)\b/m.test(readFileSync("/proc/cpuinfo", "utf8"))) assert.equal(type, "qemu", d);
            assert.match(xml, /<kernel>[^<]*vmlinuz<\/kernel>/, `${d} boots the image's kernel directly`);
        }
        const nodes = (await ssh("manager-1", "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'")).split("\n").map((l) => l.trim()).sort();
        assert.deepEqual(nodes, ["manager-1 Ready Drain Leader", "worker-1 Ready Active", "worker-2 Ready Active"]);
        assert.equal(await ssh("manager-1", "docker swarm unlock-key -q"), result.outputs.unlockKey.value, "autolock is on, with the exported key");
        assert.equal(result.outputs.unlockKey.secret, true);
        // The guests had no mirror to reach: cloud-init finished because it was given nothing to install.
        assert.match(await ssh("worker-1", "cloud-init status"), /status: done/);
        const secrets = [result.outputs.unlockKey.value, result.outputs.workerJoinToken.value, result.outputs.managerJoinToken.value, readFileSync(keyPath, "utf8").split("\n")[1]];
        const state = readFileSync(join(ROOT, ".pulumi/state/.pulumi/stacks/swarmkit", `${name}.json`), "utf8");
        for (const s of secrets) {
            assert.ok(!state.includes(s), "no secret in the state file in plaintext");
            assert.ok(!log.join("").includes(s), "no secret in the engine's output");
        }
        swarmUp = true;
    });

    it("a second pulumi up changes nothing", async (t) => {
        if (needsSwarm(t)) return;
        const result = await up();
        const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
        assert.deepEqual(changes, []);
    });

    it("the routing mesh answers the published port on every node, the drained manager included", async (t) => {
        if (needsSwarm(t)) return;
        const rootfs = "d=$(mktemp -d) && mkdir -p $d/bin && cp /bin/busybox $d/bin/ && for a in sh hostname mkdir cat echo wget httpd nslookup sleep; do ln -s busybox $d/bin/$a; done";
        for (const host of Object.keys(address)) {
            await ssh(host, `${rootfs} && tar -C $d -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - ${IMAGE} >/dev/null && rm -rf $d`);
        }
        await ssh("manager-1", "docker network create -d overlay --attachable app >/dev/null");
        await ssh(
            "manager-1",
            `docker service create -d --name web --replicas 2 --network app --publish ${PUBLISHED}:80 --no-resolve-image ${IMAGE} ` +
                `sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null`,
        );
        assert.ok(await eventually(420, async () => (await ssh("manager-1", "docker service ls --filter name=web --format '{{.Replicas}}'")) === "2/2"), "web converged");
        const taskNodes = (await ssh("manager-1", "docker service ps web --filter desired-state=running --format '{{.Node}}'")).split("\n").sort();
        assert.deepEqual(taskNodes, ["worker-1", "worker-2"], "no task on the drained manager");
        for (const host of Object.keys(address)) {
            assert.ok(await eventually(120, async () => /^[0-9a-f]{12}$/.test(await httpGet(address[host], PUBLISHED))), `${host}:${PUBLISHED} answers through the mesh`);
        }
    });

    it("a service VIP resolves and balances over the replicas", async (t) => {
        if (needsSwarm(t)) return;
        const app = await ssh("manager-1", "docker network inspect app --format '{{.Id}}'");
        const vip = (await ssh("manager-1", `docker service inspect web --format '{{range .Endpoint.VirtualIPs}}{{.NetworkID}} {{.Addr}}{{"\\n"}}{{end}}'`))
            .split("\n")
            .find((l) => l.startsWith(`${app} `))!
            .split(" ")[1]
            .split("/")[0];
        assert.match(vip, /^\d+\.\d+\.\d+\.\d+$/);
        const out = await ssh("worker-1", `docker run --rm --network app ${IMAGE} sh -c 'nslookup web 127.0.0.11; for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/; done'`);
        assert.ok(out.includes(`Address: ${vip}`) || out.includes(`Address 1: ${vip}`), `web resolves to its VIP ${vip}: ${out}`);
        const backends = new Set(out.split("\n").filter((l) => /^[0-9a-f]{12}$/.test(l.trim())));
        assert.equal(backends.size, 2, `the VIP balanced over both replicas: ${[...backends]}`);
    });

    it("an encrypted overlay carries traffic between containers on two nodes as ESP only", async (t) => {
        if (needsSwarm(t)) return;
        const marker = `swarmkit-cleartext-${randomBytes(8).toString("hex")}`;
        await ssh("manager-1", "docker network create -d overlay --attachable --opt encrypted secure >/dev/null");
        await ssh(
            "manager-1",
            `docker service create -d --name vault --network secure --constraint node.hostname==worker-1 --no-resolve-image ${IMAGE} ` +
                `sh -c 'mkdir -p /www && echo ${marker} > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null`,
        );
        assert.ok(await eventually(300, async () => (await ssh("manager-1", "docker service ls --filter name=vault --format '{{.Replicas}}'")) === "1/1"), "vault converged");
        const capture = join(mkdtempSync(join(tmpdir(), "swarmkit-vm-pcap-")), "wire.pcap");
        const tcpdump: ChildProcess = spawn("tcpdump", ["-i", ENV.bridge, "-U", "-n", "-w", capture, `host ${address["worker-1"]} and host ${address["worker-2"]}`], { stdio: "ignore" });
        try {
            await sleep(2000);
            const out = await ssh("worker-2", `docker run --rm --network secure ${IMAGE} sh -c 'for i in 1 2 3 4 5; do wget -qO- http://vault/; done'`);
            assert.equal(out.split("\n").filter((l) => l.trim() === marker).length, 5, "the overlay carried the requests");
            await sleep(1000);
        } finally {
            tcpdump.kill("SIGTERM");
            await new Promise((r) => tcpdump.once("exit", r));
        }
        const count = (filter: string) => spawnSync("tcpdump", ["-r", capture, "-n", filter], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).length;
        assert.ok(count("ip proto 50") > 10, "ESP packets between the two workers");
        assert.equal(count("udp port 4789"), 0, "no plain VXLAN between them");
        assert.ok(!readFileSync(capture).includes(Buffer.from(marker)), "the payload never crossed the wire in the clear");
        const xfrm = await ssh("worker-1", "sudo ip xfrm state");
        assert.match(xfrm, new RegExp(`src ${address["worker-2"].replace(/\./g, "\\.")} dst ${address["worker-1"].replace(/\./g, "\\.")}\\s+proto esp`), "the kernel holds the ESP SA");
    });

    it("the host firewall: 2375/2376 closed to everyone, SSH only from the admin range", async (t) => {
        if (needsSwarm(t)) return;
        const pids: string[] = [];
        try {
            for (const port of [2375, 2376]) {
                pids.push(await ssh("worker-1", `sudo sh -c 'setsid busybox httpd -f -p ${port} -h /tmp </dev/null >/dev/null 2>&1 & echo $!'`));
            }
            for (const port of [2375, 2376]) {
                assert.ok(await eventually(10, async () => (await ssh("worker-1", `timeout 3 bash -c '</dev/tcp/127.0.0.1/${port}' && echo open`)) === "open"), `a listener on ${port} inside worker-1`);
                assert.equal(await tcpOpen(address["worker-1"], port), false, `${port} from the admin and load balancer address`);
                assert.equal(await ssh("worker-2", `timeout 5 bash -c '</dev/tcp/${address["worker-1"]}/${port}' 2>/dev/null && echo open || echo closed`), "closed", `${port} from another node`);
            }
            assert.equal(await tcpOpen(address["worker-1"], 22), true, "SSH from the admin range");
            assert.equal(await ssh("worker-2", `timeout 5 bash -c '</dev/tcp/${address["worker-1"]}/22' 2>/dev/null && echo open || echo closed`), "closed", "SSH from a node outside the admin range");
            assert.equal(await ssh("worker-2", `timeout 5 bash -c '</dev/tcp/${address["worker-1"]}/7946' 2>/dev/null && echo open || echo closed`), "open", "the swarm's gossip port between nodes");
        } finally {
            for (const pid of pids.filter((p) => /^\d+$/.test(p))) await ssh("worker-1", `sudo kill ${pid}`).catch(() => undefined);
        }
    });

    it("a rebooted manager comes back locked, and the next pulumi up unlocks it with the stack's key", async (t) => {
        if (needsSwarm(t)) return;
        const bootId = await ssh("manager-1", "cat /proc/sys/kernel/random/boot_id");
        await ssh("manager-1", "sudo systemctl reboot").catch(() => undefined);
        let state = "";
        assert.ok(
            await eventually(600, async () => (await ssh("manager-1", "cat /proc/sys/kernel/random/boot_id")) !== bootId && (state = await ssh("manager-1", "docker info --format '{{.Swarm.LocalNodeState}}'")) === "locked"),
            `manager-1 booted again and its swarm is locked (last: ${state})`,
        );
        const result = await up();
        assert.equal(result.summary.result, "succeeded");
        assert.equal(await ssh("manager-1", "docker info --format '{{.Swarm.LocalNodeState}}'"), "active");
        assert.ok(await eventually(300, async () => (await ssh("manager-1", "docker service ls --filter name=web --format '{{.Replicas}}'")) === "2/2"), "web is still there");
        assert.ok(await eventually(120, async () => /^[0-9a-f]{12}$/.test(await httpGet(address["manager-1"], PUBLISHED))), "the mesh answers on the manager again");
    });

    it("pulumi destroy leaves no domain, no disk and no cloud-init seed", async (t) => {
        if (needsSwarm(t)) return;
        await stack.destroy({ color: "never", onOutput: (s) => log.push(s) });
        const left = virsh("list", "--all", "--name").split("\n").filter((d) => domains().includes(d));
        assert.deepEqual(left, []);
        assert.deepEqual(readdirSync(ENV.disks), []);
        assert.deepEqual(seeds().filter((f) => !seedsAtStart.includes(f)), [], "virt-install's cloud-init seeds go with the domains' storage");
    });
});
