/**
 * Where the seconds of a kit `pulumi up` go: one up from nothing of a throwaway lab stack (lab "bprof",
 * 10.84.0.0/24), timed per resource from the engine's own events, then destroyed.
 *   node --import tsx bench/profile.ts [MANAGERS+WORKERS]   (root on Linux; default 3+2)
 * Prints each step kind's count, its median and longest duration, and the timeline of the critical path: the step
 * that finished last, the step it waited on, and so on back to the start.
 */
import { EngineEvent } from "@pulumi/pulumi/automation";
import { LabStack, e2eUnavailable } from "../test/e2e/harness";
import { engineOptions } from "../scripts/engineOptions";

interface Span {
    urn: string;
    name: string;
    kind: string;
    start: number;
    end?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A step's kind: its name without the host part (swarm-join-worker-3 → swarm-join-*). */
function kindOf(name: string): string {
    return name.replace(/(manager|worker)-\d+/, "*");
}

async function main() {
    const why = e2eUnavailable();
    if (why) throw new Error(`profile cannot run here: ${why}`);
    const m = /^(\d+)\+(\d+)$/.exec(process.argv[2] ?? "3+2");
    if (!m) throw new Error("usage: bench/profile.ts MANAGERS+WORKERS");
    const stack = new LabStack(`benchprof-${process.pid}`, { lab: "bprof", subnet: "10.84.0.0/24", managers: Number(m[1]), workers: Number(m[2]) });
    const spans = new Map<string, Span>();
    let t0 = 0;
    const onEvent = (e: EngineEvent) => {
        const now = Date.now() - t0;
        const pre = e.resourcePreEvent?.metadata;
        const out = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
        // Steps only: components (swarmkit:*) and the stack span their children.
        if (pre && pre.op !== "same" && !pre.type.startsWith("swarmkit:") && !pre.type.startsWith("pulumi:")) {
            const name = pre.urn.split("::").pop()!;
            spans.set(pre.urn, { urn: pre.urn, name, kind: kindOf(name), start: now });
        }
        if (out) {
            const span = spans.get(out.urn);
            if (span) span.end = now;
        }
    };
    try {
        await stack.create();
        t0 = Date.now();
        await stack.stack.up({ ...engineOptions(), onEvent, color: "never" });
        const total = Date.now() - t0;
        const done = [...spans.values()].filter((s) => s.end !== undefined);
        console.log(`up of ${m[0]}: ${(total / 1000).toFixed(1)} s, ${done.length} resources`);
        const kinds = new Map<string, number[]>();
        for (const s of done) (kinds.get(s.kind) ?? kinds.set(s.kind, []).get(s.kind)!).push(s.end! - s.start);
        console.log("\n| step | count | median ms | max ms |\n|---|---|---|---|");
        for (const [kind, ms] of [...kinds].sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]))) {
            console.log(`| ${kind} | ${ms.length} | ${median(ms)} | ${Math.max(...ms)} |`);
        }
        // The critical path, approximately: from the last step to finish, the step that finished last before it started.
        const path: Span[] = [];
        let cursor = done.reduce((a, b) => (a.end! > b.end! ? a : b));
        for (;;) {
            path.unshift(cursor);
            const before = done.filter((s) => s.end! <= cursor.start + 5 && s !== cursor);
            if (before.length === 0) break;
            cursor = before.reduce((a, b) => (a.end! > b.end! ? a : b));
        }
        console.log("\ncritical path (start → end ms, gap before it):");
        let last = 0;
        for (const s of path) {
            console.log(`  ${String(s.start).padStart(6)} → ${String(s.end).padStart(6)}  ${String(s.end! - s.start).padStart(5)} ms  (+${s.start - last} ms wait)  ${s.name}`);
            last = s.end!;
        }
        console.log(`  engine after the last step: ${total - last} ms`);
    } finally {
        await stack.teardown();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
