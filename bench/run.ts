/**
 * `npm run bench` (issue #8): how long the kit takes against hand-written docker commands, and what it costs.
 *   node --import tsx bench/run.ts [--runs 3] [--sizes 3+2,5+5,5+20]
 * Prints a Markdown table of medians over the runs. Every Pulumi operation runs in its own child process,
 * `node --import tsx scripts/stack.ts OP STACK` (bench/empty.ts for the empty program), timed wall-clock with
 * performance.now() from spawn to exit; that process is the Node.js program process (Automation API + inline
 * program), and its peak RSS is its VmHWM read from /proc/PID/status every 100 ms until it exits.
 * Kit stacks are throwaway (lab "bench", 10.81.0.0/24, temp SSH key); the raw baseline uses lab "benchraw",
 * 10.82.0.0/24. Everything is torn down after each run, also on failure.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { LabStack, e2eUnavailable, labLeftovers } from "../test/e2e/harness";

const ROOT = resolve(__dirname, "..");
const KIT_LAB = { lab: "bench", subnet: "10.81.0.0/24" };
const RAW_LAB = { lab: "benchraw", subnet: "10.82.0.0/24" };
const SCALE_BY = 5;

interface Size {
    managers: number;
    workers: number;
    label: string;
}

function parseArgs(argv: string[]): { runs: number; sizes: Size[] } {
    let runs = 3;
    let sizes = "3+2,5+5,5+20";
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (): string => {
            const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
            if (v === undefined) throw new Error(`${a} needs a value`);
            return v;
        };
        if (a.startsWith("--runs")) runs = Number(value());
        else if (a.startsWith("--sizes")) sizes = value();
        else throw new Error(`unknown argument ${a}: use --runs N --sizes 3+2,5+5,5+20`);
    }
    if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a positive integer");
    const parsed = sizes.split(",").map((s) => {
        const m = /^(\d+)\+(\d+)$/.exec(s.trim());
        if (!m) throw new Error(`bad size ${s}: MANAGERS+WORKERS, e.g. 3+2`);
        return { managers: Number(m[1]), workers: Number(m[2]), label: `${m[1]}+${m[2]}` };
    });
    return { runs, sizes: parsed };
}

const logDir = mkdtempSync(join(tmpdir(), "swarmkit-bench-"));
const logFile = join(logDir, "bench.log");
const note = (s: string) => {
    process.stderr.write(`${s}\n`);
    appendFileSync(logFile, `${s}\n`);
};

interface Measured {
    ms: number;
    /** Peak RSS (VmHWM) of the child in KiB; 0 when never sampled. */
    hwmKiB: number;
    stdout: string;
}

let current: ReturnType<typeof spawn> | undefined;

/** Runs a child process, times it and samples its VmHWM; rejects when it fails. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
    return new Promise((resolvePromise, reject) => {
        appendFileSync(logFile, `\n$ ${cmd} ${args.join(" ")}\n`);
        const start = performance.now();
        const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        current = child;
        let hwmKiB = 0;
        let stdout = "";
        const sample = () => {
            try {
                const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
                if (m) hwmKiB = Math.max(hwmKiB, Number(m[1]));
            } catch {
                // exited
            }
        };
        const timer = setInterval(sample, 100);
        child.stdout!.on("data", (d: Buffer) => {
            stdout += d.toString();
            appendFileSync(logFile, d);
        });
        child.stderr!.on("data", (d: Buffer) => appendFileSync(logFile, d));
        child.on("error", reject);
        child.on("exit", (code, signal) => {
            const ms = performance.now() - start;
            clearInterval(timer);
            current = undefined;
            if (code === 0) resolvePromise({ ms, hwmKiB, stdout });
            else reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? code}); see ${logFile}`));
        });
    });
}

const stackOp = (op: string, stack: string) => measure("node", ["--import", "tsx", "scripts/stack.ts", op, stack]);

type Samples = Record<string, number[]>;
const samples: Samples = {};
const record = (key: string, value: number) => {
    (samples[key] ??= []).push(value);
    note(`  ${key} = ${value.toFixed(key.endsWith("MiB") ? 0 : 1)}`);
};

function median(xs: number[] | undefined): number | undefined {
    if (!xs || xs.length === 0) return undefined;
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The kernel removes a deleted namespace's veth pair asynchronously: give leftovers a few seconds to go. */
async function assertLabClean(lab: string) {
    let left = labLeftovers(lab);
    for (let i = 0; i < 50 && left.length; i++) {
        await new Promise((r) => setTimeout(r, 200));
        left = labLeftovers(lab);
    }
    if (left.length) throw new Error(`lab ${lab} left things behind: ${left.join("; ")}`);
}

async function checkNodes(stack: LabStack, expected: number) {
    const out = await stack.ssh(
        KIT_LAB.subnet.replace(/0\/24$/, "11"),
        "docker node ls --format '{{.Status}}' | grep -c Ready",
    );
    if (Number(out.trim()) !== expected) throw new Error(`expected ${expected} Ready nodes, the swarm has ${out.trim()}`);
}

/** a, c (kit side), d, e: kit up from nothing; on 3+2 also no-op up, scale-up and destroy. */
async function benchKit(size: Size, run: number) {
    const name = `bench-${size.managers}-${size.workers}-r${run}`;
    const stack = new LabStack(name, { ...KIT_LAB, managers: size.managers, workers: size.workers, publishedPorts: [] });
    try {
        await stack.create();
        note(`kit ${size.label} run ${run}: up`);
        const up = await stackOp("up", name);
        await checkNodes(stack, size.managers + size.workers);
        record(`kit up ${size.label} s`, up.ms / 1000);
        record(`kit up ${size.label} MiB`, up.hwmKiB / 1024);
        if (size.label === "3+2") {
            note(`kit 3+2 run ${run}: no-op up`);
            const noop = await stackOp("up", name);
            record("no-op up s", noop.ms / 1000);
            record("no-op up MiB", noop.hwmKiB / 1024);
            note(`kit 3+2 run ${run}: scale to ${size.managers}+${size.workers + SCALE_BY}`);
            await stack.set("workers", String(size.workers + SCALE_BY));
            const scale = await stackOp("up", name);
            await checkNodes(stack, size.managers + size.workers + SCALE_BY);
            record("scale-up s", scale.ms / 1000);
            record("scale-up MiB", scale.hwmKiB / 1024);
            note(`kit 3+2 run ${run}: destroy`);
            const destroy = await stackOp("destroy", name);
            record("destroy s", destroy.ms / 1000);
        }
    } finally {
        const problems = await stack.teardown();
        if (problems.length) note(`teardown of ${name}: ${problems.join("; ")}`);
    }
    await assertLabClean(KIT_LAB.lab);
}

/** b: the same swarm by bench/raw-swarm.sh (which tears its lab down itself, also on failure). */
async function benchRaw(size: Size, run: number) {
    const keyDir = mkdtempSync(join(tmpdir(), "swarmkit-bench-key-"));
    try {
        const key = join(keyDir, "id_ed25519");
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swarmkit-bench", "-f", key]);
        note(`raw ${size.label} run ${run}`);
        const r = await measure("bash", ["bench/raw-swarm.sh", RAW_LAB.lab, RAW_LAB.subnet, String(size.managers), String(size.workers), key]);
        const hosts = Number(/hosts_ms=(\d+)/.exec(r.stdout)?.[1]);
        const swarm = Number(/swarm_ms=(\d+)/.exec(r.stdout)?.[1]);
        if (!Number.isFinite(hosts) || !Number.isFinite(swarm)) throw new Error(`raw-swarm.sh printed no timings; see ${logFile}`);
        record(`raw hosts ${size.label} s`, hosts / 1000);
        record(`raw swarm ${size.label} s`, swarm / 1000);
        record(`raw total ${size.label} s`, (hosts + swarm) / 1000);
    } finally {
        // raw-swarm.sh's trap tears its lab down; this catches a run killed before the trap.
        spawnSync("bash", ["-c", `for h in ${ROOT}/.lab/${RAW_LAB.lab}/*; do [ -d "$h" ] && bash scripts/lab/host.sh down ${RAW_LAB.lab} "$(basename "$h")"; done; bash scripts/lab/network.sh down ${RAW_LAB.lab}`], { cwd: ROOT });
        rmSync(keyDir, { recursive: true, force: true });
    }
    await assertLabClean(RAW_LAB.lab);
}

/** c (floor): `pulumi up` of an inline program returning {}, on a throwaway stack in a temp project dir. */
async function benchEmpty(run: number) {
    const dir = mkdtempSync(join(tmpdir(), "swarmkit-bench-empty-"));
    // Its own project file and its own state backend: nothing of it lands in the kit's state.
    writeFileSync(join(dir, "Pulumi.yaml"), "name: swarmkit-bench-empty\nruntime: nodejs\n");
    mkdirSync(join(dir, "state"));
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(dir, "state")}` };
    const stackName = `empty-r${run}`;
    const op = (o: string) => measure("node", ["--import", "tsx", "bench/empty.ts", o, dir, stackName], env);
    try {
        note(`empty program run ${run}`);
        const first = await op("up");
        record("empty up (new stack) s", first.ms / 1000);
        const second = await op("up");
        record("empty up (existing stack) s", second.ms / 1000);
        record("empty up MiB", second.hwmKiB / 1024);
        await op("destroy");
        await op("rm");
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? "–" : x.toFixed(digits));
const med = (key: string) => median(samples[key]);

function table(sizes: Size[], runs: number): string {
    const lines: string[] = [];
    lines.push(`Medians of ${runs} run(s). Times in seconds (wall clock), memory = peak RSS (VmHWM) of the Node.js program process.`);
    lines.push("");
    lines.push("| size | kit `pulumi up` | raw: hosts | raw: docker cmds | raw total | kit/raw (total) | kit peak RSS MiB |");
    lines.push("|---|---|---|---|---|---|---|");
    for (const s of sizes) {
        const kit = med(`kit up ${s.label} s`);
        const raw = med(`raw total ${s.label} s`);
        const ratio = kit !== undefined && raw !== undefined ? kit / raw : undefined;
        lines.push(
            `| ${s.label} | ${fmt(kit)} | ${fmt(med(`raw hosts ${s.label} s`))} | ${fmt(med(`raw swarm ${s.label} s`))} | ${fmt(raw)} | ${fmt(ratio, 2)} | ${fmt(med(`kit up ${s.label} MiB`), 0)} |`,
        );
    }
    lines.push("");
    lines.push("| operation | time s | peak RSS MiB |");
    lines.push("|---|---|---|");
    lines.push(`| no-op \`pulumi up\`, live 3+2 | ${fmt(med("no-op up s"))} | ${fmt(med("no-op up MiB"), 0)} |`);
    lines.push(`| empty program \`pulumi up\`, new stack | ${fmt(med("empty up (new stack) s"))} | |`);
    lines.push(`| empty program \`pulumi up\`, existing stack (floor) | ${fmt(med("empty up (existing stack) s"))} | ${fmt(med("empty up MiB"), 0)} |`);
    lines.push(`| scale-up 3+2 → 3+${2 + SCALE_BY} | ${fmt(med("scale-up s"))} | ${fmt(med("scale-up MiB"), 0)} |`);
    lines.push(`| \`pulumi destroy\` of 3+${2 + SCALE_BY} | ${fmt(med("destroy s"))} | |`);
    lines.push("");
    const target = (label: string, ok: boolean | undefined) => `- ${label}: ${ok === undefined ? "not measured" : ok ? "met" : "NOT met"}`;
    const ratioOf = (l: string) => {
        const k = med(`kit up ${l} s`), r = med(`raw total ${l} s`);
        return k !== undefined && r !== undefined ? k / r : undefined;
    };
    const r32 = ratioOf("3+2"), r520 = ratioOf("5+20");
    const noop = med("no-op up s"), floor = med("empty up (existing stack) s");
    lines.push(target(`kit/raw ≤ 1.3 at 3+2 (${fmt(r32, 2)})`, r32 === undefined ? undefined : r32 <= 1.3));
    lines.push(target(`kit/raw < 1.0 at 5+20 (${fmt(r520, 2)})`, r520 === undefined ? undefined : r520 < 1.0));
    const q = noop !== undefined && floor !== undefined ? noop / floor : undefined;
    lines.push(target(`no-op up ≤ 1.5× empty-program floor (${fmt(q, 2)}×)`, q === undefined ? undefined : q <= 1.5));
    return lines.join("\n");
}

async function main() {
    const { runs, sizes } = parseArgs(process.argv.slice(2));
    const why = e2eUnavailable();
    if (why) throw new Error(`bench cannot run here: ${why}`);
    note(`log: ${logFile}`);
    for (const lab of [KIT_LAB.lab, RAW_LAB.lab]) await assertLabClean(lab);
    const stop = (sig: NodeJS.Signals) => {
        note(`${sig}: stopping the running step, then cleaning up`);
        if (current?.pid) process.kill(current.pid, "SIGTERM");
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    for (let run = 1; run <= runs; run++) {
        await benchEmpty(run);
        for (const size of sizes) {
            await benchKit(size, run);
            await benchRaw(size, run);
        }
    }
    appendFileSync(logFile, `\nsamples: ${JSON.stringify(samples)}\n`);
    process.stdout.write(`${table(sizes, runs)}\n`);
}

main().catch((err) => {
    note(`bench failed: ${err instanceof Error ? err.message : err}`);
    note(`samples so far: ${JSON.stringify(samples)}`);
    process.exit(1);
});
