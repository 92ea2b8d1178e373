/**
 * Helpers for end-to-end tests: a throwaway lab stack driven through the Automation API against the real CLI,
 * SSH to its hosts, and a full teardown that also runs when a test fails.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Stack } from "@pulumi/pulumi/automation";
import { selectStack } from "../../scripts/stack";

export const ROOT = resolve(__dirname, "../..");
const run = promisify(execFile);

/** Why end-to-end tests cannot run here, or undefined when they can. */
export function e2eUnavailable(): string | undefined {
    if (process.platform !== "linux") return "lab hosts need Linux network namespaces";
    if (process.getuid?.() !== 0) return "lab hosts need root (namespaces, bridges, iptables)";
    for (const tool of ["dockerd", "sshd", "tini", "ssh"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0) return `${tool} is missing: run scripts/setup.sh`;
    }
    if (spawnSync("sh", ["-c", "command -v pulumi"]).status !== 0) return "no Pulumi CLI: run scripts/setup.sh";
    return undefined;
}

export interface NodeRow {
    ID: string;
    Hostname: string;
    Status: string;
    Availability: string;
    ManagerStatus: string;
}

export interface LabStackOptions {
    lab: string;
    subnet: string;
    managers: number;
    workers: number;
    publishedPorts?: number[];
    /** swarmkit:labImages: a directory of image tarballs every new lab host loads. */
    images?: string;
}

export class LabStack {
    readonly keyDir = mkdtempSync(join(tmpdir(), "swarmkit-e2e-key-"));
    readonly keyPath = join(this.keyDir, "id_ed25519");
    stack!: Stack;
    /** Everything the engine printed, to check that no secret went to the log. */
    readonly log: string[] = [];

    constructor(readonly name: string, readonly opts: LabStackOptions) {}

    async create(): Promise<void> {
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swarmkit-e2e", "-f", this.keyPath]);
        this.stack = await selectStack(this.name);
        await this.stack.setAllConfig({
            "swarmkit:provider": { value: "netns" },
            "swarmkit:labName": { value: this.opts.lab },
            "swarmkit:labSubnet": { value: this.opts.subnet },
            "swarmkit:managers": { value: String(this.opts.managers) },
            "swarmkit:workers": { value: String(this.opts.workers) },
            "swarmkit:publishedPorts": { value: JSON.stringify(this.opts.publishedPorts ?? []) },
            "swarmkit:sshPublicKey": { value: readFileSync(`${this.keyPath}.pub`, "utf8").trim() },
            "swarmkit:sshPrivateKey": { value: readFileSync(this.keyPath, "utf8"), secret: true },
            ...(this.opts.images ? { "swarmkit:labImages": { value: this.opts.images } } : {}),
        });
    }

    async set(key: string, value: string): Promise<void> {
        await this.stack.setConfig(`swarmkit:${key}`, { value });
    }

    async up() {
        return this.stack.up({ onOutput: (s) => this.log.push(s), color: "never" });
    }

    async preview() {
        return this.stack.preview({ onOutput: (s) => this.log.push(s), color: "never" });
    }

    /**
     * `npm run up` as an operator runs it (scripts/stack.ts: up, then the live check), in a process of its own;
     * `wrap` goes before it on the command line (e.g. flock). Its output joins the log for the secrets audit.
     */
    runUp(opts: { wrap?: string[]; env?: Record<string, string> } = {}): { status: number | null; output: string; seconds: number } {
        const start = Date.now();
        const command = [...(opts.wrap ?? []), "node", "--import", "tsx", "scripts/stack.ts", "up", this.name];
        const r = spawnSync(command[0], command.slice(1), { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
        const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
        this.log.push(output);
        return { status: r.status, output, seconds: (Date.now() - start) / 1000 };
    }

    /** Acts on one of this lab's hosts from outside, as a failing or rebooting machine would (scripts/lab/host.sh). */
    host(action: string, name: string) {
        const r = spawnSync("bash", [join(ROOT, "scripts/lab/host.sh"), action, this.opts.lab, name], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`host.sh ${action} ${name}: ${r.stderr}`);
        return r.stdout.trim();
    }

    /**
     * What a reboot of this machine does to the lab, done from outside the kit: each host's PID 1 is killed (and
     * with it every process of the host), its namespace and the bridge are removed; the hosts' files stay.
     */
    reboot(hosts: string[]): void {
        for (const h of hosts) {
            const dir = join(ROOT, ".lab", this.opts.lab, h);
            const pid = Number(readFileSync(join(dir, "pid"), "utf8").trim());
            if (!(pid > 0) || readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "tini") throw new Error(`${h}: no holder at pid ${pid}`);
            process.kill(pid, "SIGKILL");
            spawnSync("sh", ["-c", `while [ -e /proc/${pid} ]; do sleep 0.05; done; ip netns del ${this.opts.lab}-${h}`]);
        }
        spawnSync("bash", [join(ROOT, "scripts/lab/network.sh"), "down", this.opts.lab]);
    }

    async outputs() {
        return this.stack.outputs();
    }

    /** Runs a command on a lab host over SSH, like an operator would. */
    async ssh(address: string, command: string, input?: string): Promise<string> {
        const args = ["-i", this.keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", `root@${address}`, command];
        if (input === undefined) return (await run("ssh", args, { maxBuffer: 16 << 20 })).stdout;
        const r = spawnSync("ssh", args, { input, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`ssh ${address} ${command}: ${r.stderr}`);
        return r.stdout;
    }

    /** `docker node ls` on a manager. */
    async nodes(manager: string): Promise<NodeRow[]> {
        return (await this.ssh(manager, "docker node ls --format '{{json .}}'"))
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as NodeRow);
    }

    /** Imports a busybox image (from Debian's busybox-static) as lab/busybox:1 on the given hosts: no registry needed. */
    importBusybox(addresses: string[]): void {
        const rootfs = spawnSync(
            "sh",
            ["-c", `d=$(mktemp -d) && mkdir -p $d/bin && cp $(command -v busybox) $d/bin/ && for a in sh nc hostname sleep cat echo ip ls; do ln -s busybox $d/bin/$a; done && tar -C $d -c . && rm -rf $d`],
            { maxBuffer: 64 << 20 },
        );
        if (rootfs.status !== 0) throw new Error("cannot build the busybox root filesystem");
        for (const address of addresses) {
            const r = spawnSync("ssh", [...this.sshOptions(), `root@${address}`, `docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - lab/busybox:1 >/dev/null`], { input: rootfs.stdout });
            if (r.status !== 0) throw new Error(`docker import on ${address}: ${r.stderr}`);
        }
    }

    /**
     * A directory holding lab/busybox:1 as a `docker save` tarball (for swarmkit:labImages), built from Debian's
     * busybox-static without any daemon: one layer, its config and the manifest `docker load` reads.
     */
    static busyboxImageDir(): string {
        const dir = mkdtempSync(join(tmpdir(), "swarmkit-images-"));
        const r = spawnSync(
            "sh",
            [
                "-c",
                `set -e; w=$(mktemp -d); mkdir -p $w/rootfs/bin $w/image/layer; cp $(command -v busybox) $w/rootfs/bin/;
                 for a in sh nc hostname sleep cat echo ip ls; do ln -s busybox $w/rootfs/bin/$a; done
                 tar -C $w/rootfs -cf $w/image/layer/layer.tar .
                 diff=$(sha256sum $w/image/layer/layer.tar | cut -d' ' -f1)
                 printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >$w/config.json
                 id=$(sha256sum $w/config.json | cut -d' ' -f1); mv $w/config.json $w/image/$id.json
                 printf '[{"Config":"%s.json","RepoTags":["lab/busybox:1"],"Layers":["layer/layer.tar"]}]' "$id" >$w/image/manifest.json
                 tar -C $w/image -cf "$1/busybox.tar" .; rm -rf $w`,
                "sh",
                dir,
            ],
            { encoding: "utf8" },
        );
        if (r.status !== 0) throw new Error(`cannot build the busybox image tarball: ${r.stderr}`);
        return dir;
    }

    sshOptions(): string[] {
        return ["-i", this.keyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"];
    }

    /** The raw state file of the stack, as the file backend wrote it. */
    stateFile(): string {
        const dir = join(ROOT, ".pulumi/state/.pulumi/stacks/swarmkit");
        return readFileSync(join(dir, `${this.name}.json`), "utf8");
    }

    /** Destroys the stack, then removes whatever a failed run may have left of the lab. Never throws. */
    async teardown(): Promise<string[]> {
        const problems: string[] = [];
        try {
            if (this.stack) await this.stack.destroy({ color: "never", onOutput: (s) => this.log.push(s) });
        } catch (err) {
            problems.push(`destroy failed: ${err}`);
        }
        for (const host of labHostDirs(this.opts.lab)) {
            spawnSync("bash", [join(ROOT, "scripts/lab/host.sh"), "down", this.opts.lab, host]);
        }
        spawnSync("bash", [join(ROOT, "scripts/lab/network.sh"), "down", this.opts.lab]);
        try {
            if (this.stack) await this.stack.workspace.removeStack(this.name, { force: true });
        } catch (err) {
            problems.push(`stack rm failed: ${err}`);
        }
        rmSync(join(ROOT, "stacks", `Pulumi.${this.name}.yaml`), { force: true });
        rmSync(this.keyDir, { recursive: true, force: true });
        return problems;
    }
}

function labHostDirs(lab: string): string[] {
    const dir = join(ROOT, ".lab", lab);
    return existsSync(dir) ? readdirSync(dir) : [];
}

/** Every secret of a lab stack's outputs, to look for in plaintext. */
export async function stackSecrets(lab: LabStack): Promise<string[]> {
    const out = await lab.outputs();
    const privateKey = readFileSync(lab.keyPath, "utf8").split("\n")[1];
    return [out.workerJoinToken?.value, out.managerJoinToken?.value, out.unlockKey?.value, privateKey].filter((s): s is string => typeof s === "string" && s.length > 0);
}

/** Where a secret appears in plaintext: the raw state file or the engine's log. */
export function secretLeaks(lab: LabStack, secrets: string[]): string[] {
    const state = lab.stateFile();
    const log = lab.log.join("");
    const leaks: string[] = [];
    for (const secret of secrets) {
        if (state.includes(secret)) leaks.push(`state file holds ${secret.slice(0, 12)}...`);
        if (log.includes(secret)) leaks.push(`engine log holds ${secret.slice(0, 12)}...`);
    }
    return leaks;
}

/** What is left of a lab on this machine: namespaces, links, iptables rules, processes, cgroups, state. */
export function labLeftovers(lab: string): string[] {
    const left: string[] = [];
    const sh = (cmd: string) => spawnSync("sh", ["-c", cmd], { encoding: "utf8" }).stdout.trim();
    const netns = sh(`ip netns list | awk '{print $1}' | grep '^${lab}-' || true`);
    if (netns) left.push(`namespaces: ${netns}`);
    const links = sh(`ip -o link show | awk -F': ' '{print $2}' | grep '^${lab}-' || true`);
    if (links) left.push(`links: ${links}`);
    const rules = sh(`iptables -S | grep 'swarmkit-lab-${lab}' || true`);
    if (rules) left.push(`iptables: ${rules}`);
    const procs = sh(`ps -eo pid,args | grep -F '.lab/${lab}/' | grep -v grep || true`);
    if (procs) left.push(`processes: ${procs}`);
    const cgroups = sh(`find /sys/fs/cgroup -maxdepth 2 -type d -name 'swarmkit-${lab}-*' 2>/dev/null || true`);
    if (cgroups) left.push(`cgroups: ${cgroups}`);
    if (existsSync(join(ROOT, ".lab", lab))) left.push(`state: .lab/${lab}`);
    return left;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `seconds` pass; returns the last error message on timeout. */
export async function eventually(seconds: number, check: () => Promise<boolean>): Promise<boolean> {
    const end = Date.now() + seconds * 1000;
    for (;;) {
        try {
            if (await check()) return true;
        } catch {
            // retried
        }
        if (Date.now() > end) return false;
        await sleep(500);
    }
}
