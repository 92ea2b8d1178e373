/**
 * A rolling replacement on lab hosts, for real (issue 14): a change that makes every machine new
 * (swarmkit:machineRevision, part of every machine's spec) is applied to a live 3+2 swarm one node at a time, and
 * the swarm never notices: a watcher asking a manager every 0.5 s sees quorum and the service's tasks at every
 * poll; afterwards it is the same swarm (cluster ID), with its secret, its config and its service.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabStack, ROOT, e2eUnavailable, eventually, secretLeaks, stackSecrets } from "./harness";

const unavailable = e2eUnavailable();
if (unavailable) console.log(`# e2e skipped: ${unavailable}`);

const LAB = "roll";
const SUBNET = "10.87.0.0/24";
const at = (octet: number) => `10.87.0.${octet}`;
// Each host's two slots: the first machine, and the one a roll makes beside it (components/hardware/netns).
const MANAGERS_BEFORE = [11, 12, 13].map(at);
const MANAGERS_AFTER = [51, 52, 53].map(at);
const WORKERS_AFTER = [171, 172].map(at);
const HOSTS = ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"];

interface Poll {
    time: number;
    /** The manager that answered, or undefined when none did. */
    address?: string;
    managers: number;
    /** Running tasks, or undefined when the manager answered but its task list failed. */
    running?: number;
    /** The tasks not yet ended, as desired/current state@node. */
    tasks: string;
}

function readPolls(file: string): Poll[] {
    return readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [time, address, managers, running, ...tasks] = line.split(" ");
            return address === "none"
                ? { time: Number(time), managers: 0, running: 0, tasks: "" }
                : { time: Number(time), address, managers: Number(managers), running: running === "?" ? undefined : Number(running), tasks: tasks.join(" ").trim() };
        });
}

/** The longest the task list kept failing: from a stretch's first failed poll to the next poll that listed tasks. */
function longestUnlisted(polls: Poll[]): { seconds: number; polls: Poll[] } {
    let worst = { seconds: 0, polls: [] as Poll[] };
    let stretch: Poll[] = [];
    for (const p of [...polls, undefined]) {
        if (p && p.running === undefined) stretch.push(p);
        else if (stretch.length > 0) {
            const seconds = (p ?? stretch[stretch.length - 1]).time - stretch[0].time;
            if (worst.polls.length === 0 || seconds > worst.seconds) worst = { seconds, polls: stretch };
            stretch = [];
        }
    }
    return worst;
}

describe("a rolling replacement of every lab host", { skip: unavailable, timeout: 20 * 60 * 1000 }, () => {
    const images = LabStack.busyboxImageDir();
    const lab = new LabStack(`roll-${process.pid}`, { lab: LAB, subnet: SUBNET, managers: 3, workers: 2, images });
    const work = mkdtempSync(join(tmpdir(), "swarmkit-roll-"));

    before(async () => {
        await new LabStack("roll-stale", lab.opts).teardown();
        await lab.create();
        const r = await lab.up();
        assert.equal(r.summary.result, "succeeded");
    });

    after(async () => {
        const problems = await lab.teardown();
        if (problems.length) console.log(`# teardown: ${problems.join("; ")}`);
        rmSync(images, { recursive: true, force: true });
        rmSync(work, { recursive: true, force: true });
    });

    it("replaces one node at a time, keeps quorum and the service's tasks throughout, and leaves the same swarm with its data", async () => {
        const m1 = MANAGERS_BEFORE[0];
        await lab.ssh(m1, "printf 'the secret survives\\n' | docker secret create keep -", undefined);
        await lab.ssh(m1, "printf 'the config survives\\n' | docker config create settings -", undefined);
        await lab.ssh(
            m1,
            "docker service create -d --name web --replicas 2 --secret keep --config source=settings,target=/settings " +
                "lab/busybox:1 sh -c 'while true; do sleep 1; done' >/dev/null",
        );
        const twoRunning = async (manager: string) =>
            (await lab.ssh(manager, "docker service ps web --filter desired-state=running --format '{{.CurrentState}}'")).split("\n").filter((l) => l.startsWith("Running")).length === 2;
        assert.ok(await eventually(60, () => twoRunning(m1)), "the service runs 2 replicas");
        const clusterBefore = (await lab.ssh(m1, "docker info --format '{{.Swarm.Cluster.ID}}'")).trim();

        await lab.set("machineRevision", "1");
        // The preview shows the order: each machine's replacement after the previous node's.
        const previewLog: string[] = [];
        const replacements: string[] = [];
        await lab.stack.preview({
            color: "never",
            onOutput: (s) => previewLog.push(s),
            onEvent: (e) => {
                const step = e.resourcePreEvent?.metadata;
                if (step?.op === "create-replacement" && step.type === "command:local:Command") replacements.push(step.urn.split("::").pop() as string);
            },
        });
        assert.deepEqual(replacements, ["lab-manager-2", "lab-manager-3", "lab-manager-1", "lab-worker-1", "lab-worker-2"]);
        assert.match(previewLog.join(""), /rolling replacement, one node at a time: manager-2 → manager-3 → manager-1 → worker-1 → worker-2/);

        const polls = join(work, "polls");
        writeFileSync(polls, "");
        const watcher = spawn("bash", [join(ROOT, "test/e2e/roll-watch.sh"), "watch", lab.keyPath, polls, "web", ...MANAGERS_BEFORE, ...MANAGERS_AFTER], { stdio: "ignore" });
        const watcherDone = new Promise((resolve) => watcher.on("exit", resolve));
        let up;
        try {
            await new Promise((r) => setTimeout(r, 1500));
            up = lab.runUp();
            await new Promise((r) => setTimeout(r, 1500));
        } finally {
            writeFileSync(`${polls}.stop`, "");
            await watcherDone;
        }
        // On failure, what the kit and the engine said went wrong (the full log is mostly the outputs' diff).
        const said = up.output.split("\n").filter((l) => /error|swarmkit: host|failed/i.test(l)).slice(-30).join("\n");
        assert.equal(up.status, 0, `${said}\n${up.output.slice(-1500)}`);
        assert.match(up.output, /the live swarm matches the config/);

        const seen = readPolls(polls);
        const listed = seen.filter((p) => p.running !== undefined);
        const span = seen.length > 1 ? seen[seen.length - 1].time - seen[0].time : 0;
        console.log(
            `# watcher: ${seen.length} polls over ${span.toFixed(1)} s; managers answering min ${Math.min(...seen.map((p) => p.managers))}, ` +
                `max ${Math.max(...seen.map((p) => p.managers))}; running tasks min ${Math.min(...listed.map((p) => p.running as number))}; task list failed ${seen.length - listed.length} times; npm run up took ${up.seconds.toFixed(1)} s`,
        );
        assert.ok(seen.length >= 10, `the watcher polled ${seen.length} times`);
        const lost = seen.filter((p) => p.address === undefined);
        assert.deepEqual(lost, [], "a manager answered at every poll");
        const fewManagers = seen.filter((p) => p.managers < 2);
        assert.deepEqual(fewManagers, [], "at most one of the 3 managers missing at any time");
        // A task list that failed says nothing about the tasks, but it may only fail for as long as a leader election.
        const unlisted = longestUnlisted(seen);
        assert.ok(unlisted.seconds <= 10, `the task list failed for ${unlisted.seconds.toFixed(1)} s in a row: ${JSON.stringify(unlisted.polls)}`);
        const noTasks = listed.filter((p) => (p.running as number) < 1);
        if (noTasks.length > 0) {
            const around = seen.filter((p) => Math.abs(p.time - noTasks[0].time) < 6);
            console.log(`# polls around the first without a running task:\n${around.map((p) => `#   ${p.time.toFixed(1)} ${p.running ?? "?"} ${p.tasks}`).join("\n")}`);
        }
        assert.deepEqual(noTasks, [], "the service always had a running task");
        const answered = new Set(seen.map((p) => p.address));
        assert.ok(answered.has(m1) && [...answered].some((a) => MANAGERS_AFTER.includes(a as string)), `polled the old and the new managers: ${[...answered].join(", ")}`);

        // The same swarm, all new machines, nothing left of the old ones.
        const m1After = MANAGERS_AFTER[0];
        assert.equal((await lab.ssh(m1After, "docker info --format '{{.Swarm.Cluster.ID}}'")).trim(), clusterBefore, "the same swarm");
        const rows = await lab.nodes(m1After);
        assert.equal(rows.length, 5, JSON.stringify(rows));
        assert.ok(rows.every((r) => r.Status === "Ready"), "no Down entry");
        assert.deepEqual(rows.filter((r) => r.ManagerStatus !== "").map((r) => r.Availability), ["Drain", "Drain", "Drain"]);
        assert.ok(rows.filter((r) => r.ManagerStatus !== "").every((r) => ["Leader", "Reachable"].includes(r.ManagerStatus)));
        assert.deepEqual(rows.filter((r) => r.ManagerStatus === "").map((r) => r.Availability), ["Active", "Active"]);
        for (const [i, address] of [...MANAGERS_AFTER, ...WORKERS_AFTER].entries()) {
            assert.equal((await lab.ssh(address, "hostname")).trim(), HOSTS[i], `${address} is the new ${HOSTS[i]}`);
        }
        for (const host of HOSTS) assert.equal(lab.host("status", host), "absent", `the old ${host} is gone`);

        // Its data: the secret and the config reach the service's tasks on the new workers.
        assert.ok(await eventually(60, () => twoRunning(m1After)));
        for (const worker of WORKERS_AFTER) {
            const id = (await lab.ssh(worker, "docker ps -q --filter label=com.docker.swarm.service.name=web")).trim().split("\n")[0];
            assert.ok(id, `a task of web runs on ${worker}`);
            assert.equal((await lab.ssh(worker, `docker exec ${id} cat /run/secrets/keep /settings`)).trim(), "the secret survives\nthe config survives");
        }

        // Settled: the next run changes nothing, and no secret went anywhere in plaintext.
        const again = await lab.up();
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"], JSON.stringify(again.summary.resourceChanges));
        assert.deepEqual(secretLeaks(lab, await stackSecrets(lab)), []);
        assert.ok(!existsSync(join(ROOT, ".lab", LAB, "manager-1")), "the first slot's folder went with its machine");
    });
});
