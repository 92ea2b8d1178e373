/**
 * The Multipass and KVM targets end to end, without a hypervisor: stand-ins for multipass, virsh, virt-install and
 * qemu-img (test/e2e/standins, first on PATH) make lab hosts instead of VMs, from the cloud-init the component
 * renders (its hostname, key and firewall). The real component code and the real swarm bootstrap run: `pulumi up`
 * of 1 manager and 1 worker, a no-op second up, and `pulumi destroy` leaving nothing behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabStack, ROOT, e2eUnavailable, eventually, labLeftovers } from "./harness";

const unavailable = e2eUnavailable();
if (unavailable) console.log(`# e2e skipped: ${unavailable}`);

const STANDINS = join(__dirname, "standins");
const LOG_DIR = tmpdir(); // before the tests point TMPDIR elsewhere

interface Target {
    provider: "multipass" | "kvm";
    lab: string;
    subnet: string;
}

// Labs and ranges of their own: lab.test.ts may run at the same time with lab "e2e" on 10.79.0.0/24.
const TARGETS: Target[] = [
    { provider: "multipass", lab: "mpe2e", subnet: "10.80.0.0/24" },
    { provider: "kvm", lab: "kve2e", subnet: "10.81.0.0/24" },
];

interface NodeRow {
    Hostname: string;
    Status: string;
    ManagerStatus: string;
}

for (const target of TARGETS) {
    describe(`${target.provider} end to end, on stand-ins`, { skip: unavailable, timeout: 5 * 60 * 1000 }, () => {
        const stack = new LabStack(`${target.lab}-${process.pid}`, { lab: target.lab, subnet: target.subnet, managers: 1, workers: 1 });
        const scratch = mkdtempSync(join(tmpdir(), `swarmkit-${target.lab}-`));
        const userDataDir = join(scratch, "cloud-init");
        const diskDir = join(scratch, "disks");
        const standinState = join(ROOT, ".lab", `standin-${target.lab}`);
        const savedPath = process.env.PATH;

        before(async () => {
            // The engine and the command provider it starts inherit this process's environment.
            process.env.PATH = `${STANDINS}:${savedPath}`;
            process.env.SWARMKIT_STANDIN_LAB = target.lab;
            process.env.SWARMKIT_STANDIN_SUBNET = target.subnet;
            process.env.SWARMKIT_CLOUD_INIT_DIR = userDataDir;
            process.env.TMPDIR = userDataDir;
            for (const dir of [userDataDir, diskDir]) mkdirSync(dir, { recursive: true });
            // A previous run killed half-way must not leave this one a stale lab.
            await new LabStack(`${target.lab}-stale`, stack.opts).teardown();
            rmSync(standinState, { recursive: true, force: true });
            await stack.create();
            const image = join(scratch, "noble.img");
            writeFileSync(image, "");
            await stack.stack.setAllConfig({
                "swarmkit:provider": { value: target.provider },
                "swarmkit:nodesCidr": { value: target.subnet },
                // Lab hosts log in as root; on real VMs the default user is ubuntu.
                "swarmkit:sshUser": { value: "root" },
                ...(target.provider === "kvm" ? { "swarmkit:image": { value: image }, "swarmkit:diskDir": { value: diskDir } } : {}),
            });
        });

        after(async () => {
            // The engine's output, for a failed run.
            writeFileSync(join(LOG_DIR, `swarmkit-e2e-${target.lab}.log`), stack.log.join(""));
            const problems = await stack.teardown();
            if (problems.length) console.log(`# teardown: ${problems.join("; ")}`);
            rmSync(standinState, { recursive: true, force: true });
            rmSync(scratch, { recursive: true, force: true });
            process.env.PATH = savedPath;
            for (const k of ["SWARMKIT_STANDIN_LAB", "SWARMKIT_STANDIN_SUBNET", "SWARMKIT_CLOUD_INIT_DIR", "TMPDIR"]) delete process.env[k];
        });

        let leader = "";
        it("pulumi up brings up 1 manager and 1 worker from the component's cloud-init", async () => {
            const result = await stack.up();
            assert.equal(result.summary.result, "succeeded");
            const out = await stack.outputs();
            assert.equal(out.provider.value, target.provider);
            assert.deepEqual(out.vmNames.value, [`${stack.name}-manager-1`, `${stack.name}-worker-1`]);
            leader = out.leaderAddress.value as string;
            assert.ok(leader.startsWith(target.subnet.replace(/0\/24$/, "")), `leader ${leader} in ${target.subnet}`);
            const rows = (await stack.ssh(leader, "docker node ls --format '{{json .}}'"))
                .trim()
                .split("\n")
                .map((l) => JSON.parse(l) as NodeRow);
            assert.deepEqual(rows.map((r) => r.Hostname).sort(), ["manager-1", "worker-1"]);
            assert.ok(rows.every((r) => r.Status === "Ready"));
            assert.deepEqual(rows.map((r) => r.ManagerStatus).sort(), ["", "Leader"]);
            // The firewall came from the cloud-init's write_files, with the VM network as the nodes' range.
            // The firewall came from the cloud-init's write_files (the VM network as the nodes' range), then the kit's
            // firewall step applied the config's rules over SSH.
            const rules = await stack.ssh(leader, "iptables -S SWARMKIT-INPUT; iptables -S SWARMKIT-NODES");
            assert.ok(rules.includes(`-A SWARMKIT-INPUT -s ${target.subnet} -j SWARMKIT-NODES`), rules);
            assert.ok(rules.includes("-A SWARMKIT-NODES -p tcp -m tcp --dport 2377"), rules);
            // The host key the VM has is the one its create script made and the kit pinned.
            const pinned = (out.nodes.value as { name: string; hostKey: string }[]).find((n) => n.name === "manager-1")!.hostKey;
            const presented = readFileSync(join(ROOT, ".lab", target.lab, "manager-1", "ssh", "host_ed25519.pub"), "utf8").split(" ").slice(0, 2).join(" ");
            assert.equal(pinned, presented);
            assert.deepEqual(readdirSync(userDataDir), [], "the temporary cloud-init files are gone");
            if (target.provider === "kvm") assert.deepEqual(readdirSync(diskDir).sort(), [`${stack.name}-manager-1-seed.iso`, `${stack.name}-manager-1.qcow2`, `${stack.name}-worker-1-seed.iso`, `${stack.name}-worker-1.qcow2`]);
        });

        it("a second pulumi up changes nothing", async () => {
            const result = await stack.up();
            const changes = result.summary.resourceChanges ?? {};
            assert.deepEqual(Object.keys(changes).filter((k) => k !== "same"), [], `changes: ${JSON.stringify(changes)}`);
        });

        it("a stopped VM is started again by the next up (a workstation reboot), and the swarm is whole", async () => {
            const vm = `${stack.name}-manager-1`;
            const stop = target.provider === "multipass" ? ["multipass", "stop", vm] : ["virsh", "shutdown", vm];
            const r = spawnSync(join(STANDINS, stop[0]), stop.slice(1), { encoding: "utf8", env: process.env });
            assert.equal(r.status, 0, r.stderr);
            const result = await stack.up();
            assert.equal(result.summary.result, "succeeded");
            assert.match(result.stdout, /swarmkit: manager-1: (locked|restarted)/, "the run saw the VM come back and unlocked it");
            const rows = (await stack.ssh(leader, "docker node ls --format '{{json .}}'")).trim().split("\n").map((l) => JSON.parse(l) as NodeRow);
            assert.ok(await eventually(60, async () => (await stack.ssh(leader, "docker node ls --format '{{.Status}}'")).trim().split("\n").every((s) => s === "Ready")), JSON.stringify(rows));
            const again = await stack.up();
            assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), []);
        });

        it("pulumi destroy removes every VM and leaves nothing of the lab", async () => {
            await stack.stack.destroy({ color: "never" });
            assert.deepEqual(labLeftovers(target.lab), []);
            assert.ok(!existsSync(standinState), "no stand-in VM is left");
            assert.deepEqual(readdirSync(diskDir), [], "the overlay disks are gone");
        });
    });
}
