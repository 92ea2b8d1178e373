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

export interface LabStackOptions {
    lab: string;
    subnet: string;
    managers: number;
    workers: number;
    publishedPorts?: number[];
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
        });
    }

    async set(key: string, value: string): Promise<void> {
        await this.stack.setConfig(`swarmkit:${key}`, { value });
    }

    async up() {
        return this.stack.up({ onOutput: (s) => this.log.push(s), color: "never" });
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
