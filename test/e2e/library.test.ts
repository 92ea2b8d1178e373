/**
 * The kit as a library, end to end: the package is packed (`npm pack`), the example consumer under examples/library
 * installs the tarball into a project of its own, type-checks against the packed typings, and runs its program
 * through the Automation API against the real CLI:
 *  - two swarms side by side in one stack, each on lab hosts of its own;
 *  - a swarm on machines made outside Pulumi (lab hosts made with scripts/lab/host.sh, adopted as your own hosts):
 *    destroy leaves them running, out of the swarm, without the kit's firewall.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, e2eUnavailable, eventually } from "./harness";

const skip = e2eUnavailable();

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** The example consumer, installed from the packed package in a directory of its own. */
class ExampleProject {
    readonly dir = mkdtempSync(join(tmpdir(), "swarmkit-example-"));
    readonly keyPath = join(this.dir, "id_ed25519");
    tarball = "";

    install(): void {
        const pack = spawnSync("npm", ["pack", "--pack-destination", this.dir, "--loglevel=error"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(pack.status, 0, pack.stderr);
        this.tarball = join(this.dir, pack.stdout.trim().split("\n").pop() as string);
        cpSync(join(ROOT, "examples/library"), join(this.dir, "project"), { recursive: true });
        const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", this.tarball], { cwd: this.project, encoding: "utf8" });
        assert.equal(install.status, 0, install.stderr);
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swarmkit-example", "-f", this.keyPath]);
    }

    get project(): string {
        return join(this.dir, "project");
    }

    /** The files of the packed tarball. */
    packedFiles(): string[] {
        const list = spawnSync("tar", ["-tzf", this.tarball], { encoding: "utf8" });
        return list.stdout.trim().split("\n").map((f) => f.replace(/^package\//, ""));
    }

    /** The example's Automation API driver: up|preview|destroy on a stack of its own. */
    run(operation: string, stack: string, config?: Record<string, { value: string; secret?: boolean }>): Run {
        const args = ["tsx", "automation.ts", operation, stack];
        if (config) {
            const file = join(this.dir, `${stack}.config.json`);
            writeFileSync(file, JSON.stringify(config));
            args.push(file);
        }
        const r = spawnSync("npx", args, { cwd: this.project, encoding: "utf8", maxBuffer: 64 << 20 });
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    keyConfig() {
        return {
            "example:sshPublicKey": { value: readFileSync(`${this.keyPath}.pub`, "utf8").trim() },
            "example:sshPrivateKey": { value: readFileSync(this.keyPath, "utf8"), secret: true },
        };
    }

    ssh(address: string, command: string): Run {
        const r = spawnSync(
            "ssh",
            ["-i", this.keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", `root@${address}`, command],
            { encoding: "utf8" },
        );
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }
}

function parseUp(run: Run): { changes: Record<string, number>; outputs: Record<string, any> } {
    assert.equal(run.status, 0, `the example's up failed:\n${run.stderr.slice(-4000)}`);
    return JSON.parse(run.stdout.trim().split("\n").pop() as string);
}

const sh = (command: string) => spawnSync("sh", ["-c", command], { encoding: "utf8" });

describe("swarmkit as a library: the example consumer from the packed package", { skip }, () => {
    const example = new ExampleProject();

    before(() => example.install());
    after(() => rmSync(example.dir, { recursive: true, force: true }));

    it("ships the built library and the lab's scripts, and no sources or tests; the example type-checks against it", () => {
        const files = example.packedFiles();
        for (const f of ["dist/index.js", "dist/index.d.ts", "dist/lab.js", "dist/hosts.d.ts", "dist/aws.js", "scripts/lab/host.sh", "scripts/lab/network.sh", "LICENSE", "CHANGELOG.md", "README.md", "package.json"]) {
            assert.ok(files.includes(f), `${f} is not in the package`);
        }
        assert.ok(!files.some((f) => /^(components|test|stacks|bench|examples)\//.test(f) || f.endsWith(".ts") && !f.endsWith(".d.ts")), `sources in the package: ${files.filter((f) => !f.startsWith("dist/"))}`);
        assert.ok(!files.some((f) => /program|config\.js|stackHardware/.test(f)), "the kit's own program is not the library");
        const installed = readdirSync(join(example.project, "node_modules/@pulumi"));
        assert.deepEqual(installed.sort(), ["command", "pulumi"], "a lab user installs no cloud SDK");
        const typecheck = spawnSync("npx", ["tsc", "--noEmit", "-p", "."], { cwd: example.project, encoding: "utf8" });
        assert.equal(typecheck.status, 0, `the example does not type-check against the packed typings:\n${typecheck.stdout}${typecheck.stderr}`);
    });

    it("two swarms side by side in one stack: each on its own lab, nothing shared, a second up changes nothing, destroy leaves nothing", async () => {
        const labs = [
            { name: "exblue", subnet: "10.94.0.0/24" },
            { name: "exgreen", subnet: "10.95.0.0/24" },
        ];
        const stack = `pair-${process.pid}`;
        try {
            const first = parseUp(example.run("up", stack, { ...example.keyConfig(), "example:labs": { value: JSON.stringify(labs) } }));
            assert.deepEqual(first.outputs.loadedSdks, ["@pulumi/command", "@pulumi/pulumi"], "the program loaded no cloud SDK");
            const clusterIds = new Set<string>();
            for (const lab of labs) {
                const out = first.outputs[lab.name];
                assert.equal(out.labName, lab.name, "the lab is named after its component");
                assert.equal(first.outputs[`${lab.name}Deployment`], "[secret]", "the deployment record (tokens) is a secret output");
                const manager = out.nodes.find((n: { role: string }) => n.role === "manager").sshAddress;
                assert.ok(manager.startsWith(lab.subnet.slice(0, -4)), `${lab.name}'s manager ${manager} is in its own range`);
                const nodes = example.ssh(manager, "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}'");
                assert.equal(nodes.status, 0, nodes.stderr);
                assert.deepEqual(nodes.stdout.trim().split("\n").sort(), ["manager-1 Ready Drain", "worker-1 Ready Active"], `${lab.name}'s swarm`);
                clusterIds.add(example.ssh(manager, "docker info --format '{{.Swarm.Cluster.ID}}'").stdout.trim());
                assert.equal(example.ssh(manager, "docker info --format '{{.Swarm.ControlAvailable}} {{len .Swarm.RemoteManagers}}'").stdout.trim(), "true 1");
            }
            assert.equal(clusterIds.size, 2, "two swarms, not one");
            const again = parseUp(example.run("up", stack));
            assert.deepEqual(Object.keys(again.changes), ["same"], `a second up changed ${JSON.stringify(again.changes)}`);
        } finally {
            const destroyed = example.run("destroy", stack);
            assert.equal(destroyed.status, 0, destroyed.stderr.slice(-3000));
        }
        for (const lab of labs) {
            assert.equal(sh(`ip netns list | grep -c '^${lab.name}-' || true`).stdout.trim(), "0", `${lab.name}'s namespaces are left`);
            assert.ok(!existsSync(`/sys/class/net/${lab.name}-br`), `${lab.name}'s bridge is left`);
            assert.ok(!existsSync(join(example.project, ".lab", lab.name)), `${lab.name}'s disks are left`);
        }
    });

    it("your own hosts: machines made outside Pulumi are adopted, swarmed and firewalled; destroy leaves them running, out of the swarm, unfirewalled", async () => {
        const lab = "byo";
        const gateway = "10.96.0.1";
        const machines = [
            { name: "rack-m1", role: "manager", address: "10.96.0.11" },
            { name: "rack-w1", role: "worker", address: "10.96.0.21" },
        ];
        const hostSh = (args: string[], env: Record<string, string> = {}) =>
            spawnSync("bash", [join(ROOT, "scripts/lab/host.sh"), ...args], { encoding: "utf8", env: { ...process.env, ...env } });
        const stack = `own-${process.pid}`;
        let destroyed = false;
        try {
            assert.equal(spawnSync("bash", [join(ROOT, "scripts/lab/network.sh"), "up", lab, "10.96.0.0/24"]).status, 0);
            const hosts = machines.map((m) => {
                // A machine that runs Docker and sshd, with no firewall of the kit: INPUT accepts everything.
                const made = hostSh(["up", lab, m.name, `${m.address}/24`, gateway], {
                    SWARMKIT_LAB_PUBLIC_KEY: readFileSync(`${example.keyPath}.pub`, "utf8").trim(),
                    SWARMKIT_LAB_FIREWALL: "#!/bin/sh\niptables -w -P INPUT ACCEPT",
                });
                assert.equal(made.status, 0, made.stderr);
                const { hostKey } = JSON.parse(made.stdout.trim()) as { hostKey: string };
                return { name: m.name, role: m.role, sshAddress: m.address, privateAddress: m.address, hostKey };
            });
            const config = { ...example.keyConfig(), "example:mode": { value: "hosts" }, "example:hosts": { value: JSON.stringify(hosts) }, "example:adminCidr": { value: `${gateway}/32` } };
            const first = parseUp(example.run("up", stack, config));
            assert.deepEqual(first.outputs.loadedSdks, ["@pulumi/command", "@pulumi/pulumi"]);
            assert.deepEqual(Object.keys(first.changes), ["create"]);
            const manager = machines[0].address;
            const nodes = example.ssh(manager, "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'");
            assert.deepEqual(nodes.stdout.trim().split("\n").sort(), ["rack-m1 Ready Drain Leader", "rack-w1 Ready Active "].map((s) => s.trim()), nodes.stderr);
            assert.match(example.ssh(manager, "docker swarm unlock-key -q").stdout, /^SWMKEY-/, "autolock is on");
            for (const m of machines) {
                assert.equal(example.ssh(m.address, "iptables -w -S INPUT | head -n 1").stdout.trim(), "-P INPUT DROP", `${m.name}: the kit's firewall`);
                assert.equal(example.ssh(m.address, "iptables -w -C INPUT -j SWARMKIT-INPUT && echo hooked").stdout.trim(), "hooked");
            }
            const again = parseUp(example.run("up", stack));
            assert.deepEqual(Object.keys(again.changes), ["same"], `a second up changed ${JSON.stringify(again.changes)}`);

            const destroy = example.run("destroy", stack);
            destroyed = true;
            assert.equal(destroy.status, 0, destroy.stderr.slice(-3000));
            for (const m of machines) {
                assert.equal(hostSh(["status", lab, m.name]).stdout.trim(), "running", `${m.name} still runs`);
                const state = example.ssh(m.address, "docker info --format '{{.Swarm.LocalNodeState}}'");
                assert.equal(state.stdout.trim(), "inactive", `${m.name} left the swarm (${state.stderr})`);
                assert.equal(example.ssh(m.address, "iptables -w -S INPUT | head -n 1").stdout.trim(), "-P INPUT ACCEPT", `${m.name}: the policy it had`);
                assert.notEqual(example.ssh(m.address, "iptables -w -S SWARMKIT-INPUT").status, 0, `${m.name}: the kit's chains are gone`);
                assert.notEqual(example.ssh(m.address, "test -e /etc/swarmkit/firewall").status, 0, `${m.name}: the kit's firewall script is gone`);
            }
            // Still usable as the machine it was: Docker answers, and could join another swarm.
            assert.ok(await eventually(10, async () => example.ssh(manager, "docker info --format '{{.ServerVersion}}'").status === 0));
        } finally {
            if (!destroyed) example.run("destroy", stack);
            for (const m of machines) hostSh(["down", lab, m.name]);
            spawnSync("bash", [join(ROOT, "scripts/lab/network.sh"), "down", lab]);
        }
    });
});
