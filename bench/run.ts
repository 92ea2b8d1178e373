/**
 * `npm run bench` (issues #8, #18): how long the kit takes against the same work done with docker commands over
 * SSH, serially (by hand) and in parallel (the floor), and what it costs, per size.
 *   node --import tsx bench/run.ts [--runs 3] [--sizes 3+2,5+20,5+50]
 * Prints a Markdown table of medians over the runs. Every Pulumi operation runs in its own child process,
 * `node --import tsx scripts/stack.ts OP STACK` (bench/empty.ts for the empty program), timed wall-clock with
 * performance.now() from spawn to exit; that process is the Node.js program process (Automation API + inline
 * program), and its peak RSS is its VmHWM read from /proc/PID/status every 100 ms until it exits.
 * Kit stacks are throwaway (lab "bench", 10.81.0.0/24, temp SSH key); the raw baselines use lab "benchraw",
 * 10.82.0.0/24. At every size the kit's figures are: up from nothing, no-op ups (in turn with the empty program's and
 * a floor program's of the same resource count, once the lab has settled), scale-up by SCALE_BY workers and destroy
 * of the scaled stack. Everything is torn down after each run, also on failure.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { LabStack, e2eUnavailable, labLeftovers } from "../test/e2e/harness";
import { EMPTY_PROJECT } from "./empty";

const ROOT = resolve(__dirname, "..");
const KIT_LAB = { lab: "bench", subnet: "10.81.0.0/24" };
const RAW_LAB = { lab: "benchraw", subnet: "10.82.0.0/24" };
const SCALE_BY = 10;

interface Size {
    managers: number;
    workers: number;
    label: string;
}

function parseArgs(argv: string[]): { runs: number; sizes: Size[] } {
    let runs = 3;
    let sizes = "3+2,5+20,5+50";
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (): string => {
            const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
            if (v === undefined) throw new Error(`${a} needs a value`);
            return v;
        };
        if (a.startsWith("--runs")) runs = Number(value());
        else if (a.startsWith("--sizes")) sizes = value();
        else throw new Error(`unknown argument ${a}: use --runs N --sizes 3+2,5+20,5+50`);
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

/** A busy share of the CPUs (0-1) over `ms`, from /proc/stat. */
async function cpuBusy(ms: number): Promise<number> {
    const read = () => {
        const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
        return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4] };
    };
    const a = read();
    await new Promise((r) => setTimeout(r, ms));
    const b = read();
    return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

/**
 * Waits until the lab hosts are done settling after a create (joins, raft, gossip: on a 2-CPU machine that runs
 * every host, they take the CPUs for a while), so that the no-ops time the kit rather than the swarm's start-up;
 * at most SETTLE_MAX_S. Returns the seconds waited and the last busy share.
 */
const SETTLE_BUSY = 0.35;
const SETTLE_MAX_S = 90;
async function settle(): Promise<{ waited: number; busy: number }> {
    const start = performance.now();
    let busy = 1;
    while ((performance.now() - start) / 1000 < SETTLE_MAX_S) {
        busy = await cpuBusy(1000);
        if (busy < SETTLE_BUSY) break;
    }
    return { waited: (performance.now() - start) / 1000, busy };
}

/**
 * A program of the bench's own (bench/empty.ts) on a throwaway stack in a temp project dir with its own state
 * backend, so that nothing of it lands in the kit's state: the empty program (no resources), or the floor program
 * (as many trivial resources as the kit's stack holds).
 */
class BenchProgram {
    readonly dir = mkdtempSync(join(tmpdir(), "swarmkit-bench-empty-"));
    private readonly env: NodeJS.ProcessEnv;
    constructor(readonly stackName: string, readonly resources: { commands: number; components: number } = { commands: 0, components: 0 }) {
        writeFileSync(join(this.dir, "Pulumi.yaml"), `name: ${EMPTY_PROJECT}\nruntime: nodejs\n`);
        mkdirSync(join(this.dir, "state"));
        this.env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(this.dir, "state")}` };
    }
    op(o: "up" | "destroy" | "rm"): Promise<Measured> {
        const counts = [String(this.resources.commands), String(this.resources.components)];
        return measure("node", ["--import", "tsx", "bench/empty.ts", o, this.dir, this.stackName, ...counts], this.env);
    }
    async remove(): Promise<void> {
        try {
            await this.op("destroy");
            await this.op("rm");
        } finally {
            rmSync(this.dir, { recursive: true, force: true });
        }
    }
}

/** What the kit's stack holds: its command resources and its components (the stack itself and providers aside). */
async function resourceCounts(stack: LabStack): Promise<{ commands: number; components: number }> {
    const resources = ((await stack.stack.exportStack()).deployment?.resources ?? []) as { type: string }[];
    return {
        commands: resources.filter((r) => r.type.startsWith("command:")).length,
        components: resources.filter((r) => r.type.startsWith("swarmkit:")).length,
    };
}

/** No-op rounds per size: kit, empty program and floor program in turn, so that all three see the same load. */
const NOOP_ROUNDS = 3;

/**
 * The no-op at one size, with the lab up and settled: NOOP_ROUNDS rounds of a kit no-op up, an empty program up
 * and a floor program up (each on an existing stack), interleaved.
 */
async function benchNoop(size: Size, run: number, name: string, stack: LabStack) {
    const { waited, busy } = await settle();
    note(`kit ${size.label} run ${run}: settled after ${waited.toFixed(0)} s (CPUs ${(busy * 100).toFixed(0)}% busy)`);
    const counts = await resourceCounts(stack);
    record(`resources ${size.label}`, counts.commands + counts.components);
    const empty = new BenchProgram(`empty-${size.label.replace("+", "-")}-r${run}`);
    const floor = new BenchProgram(`floor-${size.label.replace("+", "-")}-r${run}`, counts);
    try {
        await empty.op("up");
        await floor.op("up");
        for (let round = 1; round <= NOOP_ROUNDS; round++) {
            note(`kit ${size.label} run ${run}: no-op round ${round}`);
            const noop = await stackOp("up", name);
            record(`no-op up ${size.label} s`, noop.ms / 1000);
            record(`no-op up ${size.label} MiB`, noop.hwmKiB / 1024);
            record(`empty no-op ${size.label} s`, (await empty.op("up")).ms / 1000);
            record(`floor no-op ${size.label} s`, (await floor.op("up")).ms / 1000);
        }
    } finally {
        await empty.remove();
        await floor.remove();
    }
}

/** The kit at one size: up from nothing, no-op up (benchNoop), scale-up by SCALE_BY workers, destroy. */
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
        await benchNoop(size, run, name, stack);
        note(`kit ${size.label} run ${run}: scale to ${size.managers}+${size.workers + SCALE_BY}`);
        await stack.set("workers", String(size.workers + SCALE_BY));
        const scale = await stackOp("up", name);
        await checkNodes(stack, size.managers + size.workers + SCALE_BY);
        record(`scale-up ${size.label} s`, scale.ms / 1000);
        note(`kit ${size.label} run ${run}: destroy`);
        const destroy = await stackOp("destroy", name);
        record(`destroy ${size.label} s`, destroy.ms / 1000);
    } finally {
        const problems = await stack.teardown();
        if (problems.length) note(`teardown of ${name}: ${problems.join("; ")}`);
    }
    await assertLabClean(KIT_LAB.lab);
}

/** The same swarm by bench/raw-swarm.sh, serially or in parallel (it tears its lab down itself, also on failure). */
async function benchRaw(size: Size, run: number, mode: "serial" | "parallel") {
    const keyDir = mkdtempSync(join(tmpdir(), "swarmkit-bench-key-"));
    try {
        const key = join(keyDir, "id_ed25519");
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swarmkit-bench", "-f", key]);
        note(`raw ${mode} ${size.label} run ${run}`);
        const r = await measure("bash", ["bench/raw-swarm.sh", RAW_LAB.lab, RAW_LAB.subnet, String(size.managers), String(size.workers), key, mode]);
        const hosts = Number(/hosts_ms=(\d+)/.exec(r.stdout)?.[1]);
        const swarm = Number(/swarm_ms=(\d+)/.exec(r.stdout)?.[1]);
        if (!Number.isFinite(hosts) || !Number.isFinite(swarm)) throw new Error(`raw-swarm.sh printed no timings; see ${logFile}`);
        record(`raw ${mode} hosts ${size.label} s`, hosts / 1000);
        record(`raw ${mode} total ${size.label} s`, (hosts + swarm) / 1000);
    } finally {
        // raw-swarm.sh's trap tears its lab down; this catches a run killed before the trap.
        spawnSync("bash", ["-c", `for h in ${ROOT}/.lab/${RAW_LAB.lab}/*; do [ -d "$h" ] && bash scripts/lab/host.sh down ${RAW_LAB.lab} "$(basename "$h")"; done; bash scripts/lab/network.sh down ${RAW_LAB.lab}`], { cwd: ROOT });
        rmSync(keyDir, { recursive: true, force: true });
    }
    await assertLabClean(RAW_LAB.lab);
}

/** The empty program on an idle machine (no lab up): a new stack, then an existing one. */
async function benchEmpty(run: number) {
    const empty = new BenchProgram(`empty-r${run}`);
    try {
        note(`empty program run ${run}`);
        record("empty up (new stack) s", (await empty.op("up")).ms / 1000);
        const second = await empty.op("up");
        record("empty up (existing stack) s", second.ms / 1000);
        record("empty up MiB", second.hwmKiB / 1024);
    } finally {
        await empty.remove();
    }
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? "–" : x.toFixed(digits));
const med = (key: string) => median(samples[key]);

function table(sizes: Size[], runs: number): string {
    const lines: string[] = [];
    const floor = med("empty up (existing stack) s");
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
    lines.push(`Medians of ${runs} run(s). Times in seconds (wall clock), memory = peak RSS (VmHWM) of the Node.js program process.`);
    lines.push(`Empty program \`pulumi up\` on an idle machine (the engine's floor): new stack ${fmt(med("empty up (new stack) s"))} s, existing stack ${fmt(floor)} s, ${fmt(med("empty up MiB"), 0)} MiB.`);
    lines.push(
        `No-ops: with the size's lab up and settled, ${NOOP_ROUNDS} rounds per run of the kit's no-op, the empty program's and the floor program's ` +
            `(as many trivial command and component resources as the kit's stack), in turn: each ratio compares runs under the same load.`,
    );
    lines.push("");
    lines.push("| size | kit `pulumi up` | kit − empty | serial raw | parallel raw | kit / parallel | (kit − empty) / parallel | scale-up +" + SCALE_BY + " | destroy (+" + SCALE_BY + ") | kit peak RSS MiB |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const s of sizes) {
        const kit = med(`kit up ${s.label} s`);
        const net = kit !== undefined && floor !== undefined ? kit - floor : undefined;
        const parallel = med(`raw parallel total ${s.label} s`);
        lines.push(
            `| ${s.label} | ${fmt(kit)} | ${fmt(net)} | ${fmt(med(`raw serial total ${s.label} s`))} | ${fmt(parallel)} | ${fmt(ratio(kit, parallel), 2)} | ${fmt(ratio(net, parallel), 2)} | ` +
                `${fmt(med(`scale-up ${s.label} s`))} | ${fmt(med(`destroy ${s.label} s`))} | ${fmt(med(`kit up ${s.label} MiB`), 0)} |`,
        );
    }
    lines.push("");
    lines.push("| size | resources | kit no-op up | empty program | no-op / empty | floor program (same count) | floor / empty | no-op / floor | no-op peak RSS MiB |");
    lines.push("|---|---|---|---|---|---|---|---|---|");
    for (const s of sizes) {
        const noop = med(`no-op up ${s.label} s`);
        const empty = med(`empty no-op ${s.label} s`);
        const same = med(`floor no-op ${s.label} s`);
        lines.push(
            `| ${s.label} | ${fmt(med(`resources ${s.label}`), 0)} | ${fmt(noop)} | ${fmt(empty)} | ${fmt(ratio(noop, empty), 2)} | ${fmt(same)} | ${fmt(ratio(same, empty), 2)} | ` +
                `${fmt(ratio(noop, same), 2)} | ${fmt(med(`no-op up ${s.label} MiB`), 0)} |`,
        );
    }
    lines.push("");
    const target = (label: string, ok: boolean | undefined) => `- ${label}: ${ok === undefined ? "not measured" : ok ? "met" : "NOT met"}`;
    for (const s of sizes) {
        const net = ratio((med(`kit up ${s.label} s`) ?? NaN) - (floor ?? NaN), med(`raw parallel total ${s.label} s`));
        lines.push(target(`(kit − empty) ≤ 1.3× parallel raw at ${s.label} (${fmt(net, 2)}×)`, net === undefined || Number.isNaN(net) ? undefined : net <= 1.3));
    }
    for (const s of sizes) {
        const q = ratio(med(`no-op up ${s.label} s`), med(`empty no-op ${s.label} s`));
        const f = ratio(med(`floor no-op ${s.label} s`), med(`empty no-op ${s.label} s`));
        const floorSays = f === undefined ? "" : `; the floor program of the same resource count alone is ${fmt(f, 2)}×`;
        lines.push(target(`no-op up ≤ 1.3× empty program at ${s.label} (${fmt(q, 2)}×${floorSays})`, q === undefined ? undefined : q <= 1.3));
    }
    const big = sizes.find((s) => s.label === "5+50");
    if (big) {
        const d = med(`destroy 5+50 s`);
        lines.push(target(`destroy of 5+${50 + SCALE_BY} under 30 s (${fmt(d)} s)`, d === undefined ? undefined : d < 30));
    }
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
            await benchRaw(size, run, "serial");
            await benchRaw(size, run, "parallel");
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
