/**
 * Runs the rendered remote scripts for real under /bin/sh against a scripted stand-in for the docker CLI, to
 * prove their idempotence and error messages without a swarm.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as scripts from "../../components/swarm/scripts";
import { parseRead } from "../../components/swarm/observe";

const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = info ]; then
  if [ -n "\${FAKE_DOWN_UNTIL:-}" ]; then
    n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/count"
    [ "$n" -ge "$FAKE_DOWN_UNTIL" ] || exit 1
  fi
  case "$*" in
    *LocalNodeState*)
      # A join that timed out: the node stays pending for FAKE_PENDING_FOR reads, then is active.
      if [ "$(cat "$FAKE_DIR/state")" = pending ] && [ -n "\${FAKE_PENDING_FOR:-}" ]; then
        n=$(cat "$FAKE_DIR/pending" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/pending"
        [ "$n" -lt "$FAKE_PENDING_FOR" ] || echo active > "$FAKE_DIR/state"
      fi
      cat "$FAKE_DIR/state" ;;
    *'NodeID}} {{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers'*) echo "\${FAKE_NODEID:-node-1} \${FAKE_AUTOLOCK:-true}" ;;
    *ControlAvailable*) echo "\${FAKE_CONTROL:-true}" ;;
    *AutoLockManagers*) echo "\${FAKE_AUTOLOCK:-true}" ;;
    *NodeID*) echo "\${FAKE_NODEID:-node-1}" ;;
    *Cluster.ID*) echo cluster-1 ;;
    *RemoteManagers*) echo "\${FAKE_REMOTES:-}" ;;
  esac
  exit 0
fi
case "$1 $2" in
  "swarm init") echo active > "$FAKE_DIR/state"; exit 0 ;;
  "swarm join")
    case "\${FAKE_JOIN:-ok}" in
      ok) echo active > "$FAKE_DIR/state"; exit 0 ;;
      timeout) echo pending > "$FAKE_DIR/state"; echo "Error response from daemon: Timeout was reached before node joined. The attempt to join the swarm will continue in the background." >&2; exit 1 ;;
      *) echo "Error response from daemon: refused" >&2; exit 1 ;;
    esac ;;
  "swarm leave") echo inactive > "$FAKE_DIR/state"; exit 0 ;;
  "swarm unlock") read -r key; echo "unlock-with $key" >> "$FAKE_DIR/unlocks"; [ "$key" = "\${FAKE_UNLOCK_KEY:-SWMKEY-1-right}" ] || exit 1; echo active > "$FAKE_DIR/state"; exit 0 ;;
  "swarm update") exit 0 ;;
  "swarm join-token") for a; do last=$a; done; echo "SWMTKN-1-$last"; exit 0 ;;
  "swarm unlock-key") echo SWMKEY-1-unlock; exit 0 ;;
  "node ls") printf '%b' "\${FAKE_NODES:-}"; exit 0 ;;
  "service ls") [ -z "\${FAKE_SERVICES:-}" ] || echo "$FAKE_SERVICES"; exit 0 ;;
  "service inspect") echo 2; exit 0 ;;
  "service ps")
    n=$(cat "$FAKE_DIR/service-ps" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/service-ps"
    if [ "$n" -ge "\${FAKE_RUNNING_AFTER:-1}" ]; then printf 'Running 1 second ago\nRunning 2 minutes ago\n'; else printf 'Running 2 minutes ago\nPreparing 1 second ago\n'; fi
    exit 0 ;;
  "node inspect")
    case "$*" in
      # The members step's one inspect of every node: a node line and its labels (FAKE_LABELS_<id>, k=v lines).
      *'node {{.ID}}'*)
        shift 4
        for id; do
          eval "role=\\\${FAKE_ROLE_$id:-\\\${FAKE_ROLE:-manager}}; avail=\\\${FAKE_AVAIL_$id:-active}; labels=\\\${FAKE_LABELS_$id:-}"
          echo "node $id $role $avail"
          [ -z "$labels" ] || printf '%b\\n' "$labels" | sed "s/^/label $id /"
        done
        exit 0 ;;
    esac
    for id; do :; done
    case "$*" in
      *Spec.Role*) eval "echo \\\${FAKE_ROLE_$id:-\\\${FAKE_ROLE:-manager}}" ;;
      *Reachability*) echo reachable ;;
      *Status.State*)
        n=$(cat "$FAKE_DIR/ready" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/ready"
        if [ "$n" -ge "\${FAKE_READY_AFTER:-1}" ]; then echo ready; else echo unknown; fi ;;
      *Spec.Availability*) eval "echo \\\${FAKE_AVAIL_$id:-active}" ;;
      *'if .ManagerStatus'*) : ;;
    esac
    exit 0 ;;
  "node update")
    for id; do :; done
    eval "fails=\\\${FAKE_UPDATE_FAIL_$id:-}"
    [ -z "$fails" ] || { echo "Error response from daemon: node $id not found" >&2; exit 1; }
    exit 0 ;;
  "node promote")
    n=$(cat "$FAKE_DIR/promotes" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/promotes"
    [ "$n" -gt "\${FAKE_PROMOTE_FAILS:-0}" ] || { echo "Error response from daemon: update out of sequence" >&2; exit 1; }
    exit 0 ;;
esac
exit 0
`;

let bin: string;
before(() => {
    bin = mkdtempSync(join(tmpdir(), "swarmkit-fake-docker-"));
    writeFileSync(join(bin, "docker"), FAKE_DOCKER);
    chmodSync(join(bin, "docker"), 0o755);
});

function run(script: string, opts: { state: string; env?: Record<string, string>; stdin?: string }) {
    const dir = mkdtempSync(join(tmpdir(), "swarmkit-run-"));
    writeFileSync(join(dir, "state"), `${opts.state}\n`);
    const log = join(dir, "log");
    writeFileSync(log, "");
    const result = spawnSync("/bin/sh", ["-c", script], {
        input: opts.stdin ?? "",
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, FAKE_DIR: dir, ...opts.env },
    });
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    const unlocks = (() => {
        try {
            return readFileSync(join(dir, "unlocks"), "utf8").trim().split("\n");
        } catch {
            return [];
        }
    })();
    return { ...result, calls, unlocks, finalState: readFileSync(join(dir, "state"), "utf8").trim(), dir };
}

const swarmCalls = (calls: string[]) => calls.filter((c) => c.startsWith("swarm "));
const nodeChanges = (calls: string[]) => calls.filter((c) => /^node (promote|demote|rm|update)/.test(c));

describe("init", () => {
    const script = scripts.renderInit({ host: "manager-1", advertiseAddress: "10.0.0.11", autolock: true });

    it("initialises an inactive engine with autolock and prints the ids", () => {
        const r = run(script, { state: "inactive" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm init --autolock=true --advertise-addr 10.0.0.11 --listen-addr 10.0.0.11:2377"]);
        assert.deepEqual(JSON.parse(r.stdout), { nodeId: "node-1", clusterId: "cluster-1" });
    });

    it("changes nothing on a manager that already holds the swarm", () => {
        const r = run(script, { state: "active" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), []);
    });

    it("names the host and the step when the swarm is locked", () => {
        const r = run(script, { state: "locked" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /swarmkit: host manager-1: step init: the swarm is locked/);
    });

    it("waits for dockerd instead of failing right after boot", () => {
        const r = run(script, { state: "inactive", env: { FAKE_DOWN_UNTIL: "3" } });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.calls.filter((c) => c === "info").length >= 3, "retried docker info");
    });
});

describe("the join step", () => {
    const script = scripts.renderNodeStep({ host: "worker-1", advertiseAddress: "10.0.0.101" });
    const stdin = (extra: Partial<scripts.NodeStepInput> = {}) =>
        scripts.nodeStepInput({ joinToken: "SWMTKN-1-secret", unlockKey: "SWMKEY-1-right", leaveFirst: false, managerAddresses: ["10.0.0.11", "10.0.0.12"], ...extra });

    it("joins an inactive node with the token from stdin and prints its node id", () => {
        const r = run(script, { state: "inactive", stdin: stdin(), env: { FAKE_NODEID: "wid" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm join --token SWMTKN-1-secret --advertise-addr 10.0.0.101 10.0.0.11:2377"]);
        assert.equal(r.stdout.trim(), "wid");
    });

    it("waits for a join that timed out and goes on in the background (many nodes joining at once), instead of failing", () => {
        const r = run(script, { state: "inactive", stdin: stdin(), env: { FAKE_NODEID: "wid", FAKE_JOIN: "timeout", FAKE_PENDING_FOR: "4" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls).map((c) => c.split(" --token")[0]), ["swarm join"], "one join, no leave, no second manager");
        assert.equal(r.stdout.trim(), "wid");
    });

    it("does not join again when the node is already in this swarm", () => {
        const r = run(script, { state: "active", stdin: stdin(), env: { FAKE_REMOTES: "10.0.0.12:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), []);
    });

    it("leaves another swarm before joining this one", () => {
        const r = run(script, { state: "active", stdin: stdin(), env: { FAKE_REMOTES: "192.0.2.9:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls).map((c) => c.split(" --token")[0]), ["swarm leave --force", "swarm join"]);
    });

    it("leaves the swarm it is in first when told that swarm is gone, even one with the same manager addresses", () => {
        const r = run(script, { state: "active", stdin: stdin({ leaveFirst: true }), env: { FAKE_REMOTES: "10.0.0.11:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls).map((c) => c.split(" --token")[0]), ["swarm leave --force", "swarm join"]);
    });

    it("unlocks a locked manager with the key from stdin, through a pipe, and joins nothing", () => {
        const manager = scripts.renderNodeStep({ host: "manager-2", advertiseAddress: "10.0.0.12" });
        const r = run(manager, { state: "locked", stdin: stdin(), env: { FAKE_REMOTES: "10.0.0.11:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.unlocks, ["unlock-with SWMKEY-1-right"]);
        assert.deepEqual(swarmCalls(r.calls), ["swarm unlock"], "the key is not on the command line");
        assert.equal(r.finalState, "active");
        assert.ok(!r.stdout.includes("SWMKEY") && !r.stderr.includes("SWMKEY"), "the key is not printed");
    });

    it("names the host and the step when the key does not open the manager, without printing the key", () => {
        const r = run(script, { state: "locked", stdin: stdin({ unlockKey: "SWMKEY-1-wrong" }) });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /swarmkit: host worker-1: step join: docker swarm unlock failed/);
        assert.ok(!r.stderr.includes("SWMKEY-1-wrong") && !r.stdout.includes("SWMKEY-1-wrong"));
    });

    it("tries every manager, then fails naming the host, the step and the managers, without printing the token", () => {
        const r = run(script, { state: "inactive", stdin: stdin(), env: { FAKE_JOIN: "refuse" } });
        assert.notEqual(r.status, 0);
        assert.equal(swarmCalls(r.calls).length, 2);
        assert.match(r.stderr, /swarmkit: host worker-1: step join: every manager refused the join .*10\.0\.0\.11:2377: .*refused.*10\.0\.0\.12:2377/);
        assert.ok(!r.stderr.includes("SWMTKN-1-secret") && !r.stdout.includes("SWMTKN-1-secret"));
    });

    it("refuses to run without a token", () => {
        const r = run(script, { state: "inactive", stdin: "" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /step join: no join token on stdin/);
    });
});

describe("the members step", () => {
    const nodes: scripts.MemberNode[] = [
        { name: "manager-1", role: "manager", nodeId: "m1", availability: "drain" },
        { name: "manager-2", role: "manager", nodeId: "m2", availability: "drain" },
        { name: "worker-1", role: "worker", nodeId: "w1", availability: "active" },
    ];
    const script = scripts.renderMembers({ operator: "manager-1", nodes, autolock: true });
    const ls = (rows: string[]) => rows.map((r) => `${r}\\n`).join("");
    const three = ls(["m1 manager-1 Ready Leader", "m2 manager-2 Ready ", "w1 worker-1 Ready "]);
    // The node updates run at once, so their order is not fixed; everything before them is.
    const sortedUpdates = (calls: string[]) => [...nodeChanges(calls).filter((c) => !c.startsWith("node update")), ...nodeChanges(calls).filter((c) => c.startsWith("node update")).sort()];

    it("promotes, drains and prints nothing removed when the swarm holds only configured nodes", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: three, FAKE_ROLE_m2: "worker", FAKE_ROLE_w1: "worker" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(sortedUpdates(r.calls), ["node promote m2", "node update --availability drain m1", "node update --availability drain m2"]);
        assert.deepEqual(JSON.parse(r.stdout), { removed: [] });
    });

    it("reads every node with one docker node inspect, and changes nothing when all are as configured", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: three, FAKE_ROLE_w1: "worker", FAKE_AVAIL_m1: "drain", FAKE_AVAIL_m2: "drain" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeChanges(r.calls), []);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("node inspect")).map((c) => c.split(" ").slice(-3).join(" ")), ["m1 m2 w1"]);
    });

    it("removes stale and leftover entries, demoting a manager first, and leaves foreign Ready nodes alone", () => {
        const r = run(script, {
            state: "active",
            env: {
                FAKE_NODEID: "m1",
                FAKE_ROLE_w1: "worker",
                FAKE_AVAIL_m1: "drain",
                FAKE_AVAIL_m2: "drain",
                FAKE_NODES: ls([
                    "m1 manager-1 Ready Leader",
                    "m2 manager-2 Ready Reachable",
                    "old2 manager-2 Down Unreachable",
                    "w1 worker-1 Ready ",
                    "w9 worker-9 Ready ",
                    "gone gpu-box Down ",
                    "byhand gpu-2 Ready ",
                ]),
            },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeChanges(r.calls), ["node demote old2", "node rm --force old2", "node rm --force w9", "node rm --force gone"]);
        assert.deepEqual(JSON.parse(r.stdout).removed, ["manager-2 old2 Down", "worker-9 w9 Ready", "gpu-box gone Down"]);
        assert.match(r.stderr, /leaving gpu-2 \(byhand\) alone: it is not a node of this stack/);
    });

    it("fails naming a configured node the swarm does not hold", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: ls(["m1 manager-1 Ready Leader", "w1 worker-1 Ready "]) } });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /step members: node m2 \(manager-2\) is not in the swarm/);
        assert.deepEqual(nodeChanges(r.calls), []);
    });

    it("retries a promotion that races the new node's own first update", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: three, FAKE_ROLE_m2: "worker", FAKE_ROLE_w1: "worker", FAKE_PROMOTE_FAILS: "2" } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.calls.filter((c) => c === "node promote m2").length, 3);
    });

    it("demotes a configured worker that is a manager", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: three, FAKE_AVAIL_m1: "drain", FAKE_AVAIL_m2: "drain" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeChanges(r.calls), ["node demote w1"]);
    });

    it("turns autolock on when it is off", () => {
        const r = run(script, { state: "active", env: { FAKE_NODEID: "m1", FAKE_NODES: three, FAKE_AUTOLOCK: "false", FAKE_ROLE_w1: "worker" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm update --autolock=true"]);
    });

    describe("labels", () => {
        const labelled = scripts.renderMembers({
            operator: "manager-1",
            autolock: true,
            nodes: [
                { name: "manager-1", role: "manager", nodeId: "m1", availability: "drain" },
                { name: "worker-1", role: "worker", nodeId: "w1", availability: "active", labels: { tier: "web", "swarmkit.role": "worker" } },
                { name: "worker-2", role: "worker", nodeId: "w2", availability: "active", labels: { note: "a b=c", "swarmkit.role": "worker" } },
            ],
        });
        const nodes = ls(["m1 manager-1 Ready Leader", "w1 worker-1 Ready ", "w2 worker-2 Ready "]);
        const base = { FAKE_NODEID: "m1", FAKE_NODES: nodes, FAKE_ROLE_w1: "worker", FAKE_ROLE_w2: "worker", FAKE_AVAIL_m1: "drain" };

        it("one update per node: adds what differs, removes only keys it set before, keeps labels set by hand", () => {
            const r = run(labelled, {
                state: "active",
                env: {
                    ...base,
                    FAKE_LABELS_w1: "tier=old\\nswarmkit.role=worker\\nswarmkit.managed=swarmkit.role,tier,gone\\ngone=1\\nbyhand=x",
                    FAKE_LABELS_w2: "note=a b=c\\nswarmkit.role=worker\\nswarmkit.managed=note,swarmkit.role",
                },
            });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(nodeChanges(r.calls), ["node update --label-add tier=web --label-rm gone --label-add swarmkit.managed=swarmkit.role,tier w1"]);
        });

        it("labels a new node and sets its availability in the same update", () => {
            const r = run(labelled, { state: "active", env: { ...base, FAKE_AVAIL_w2: "drain" } });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(sortedUpdates(r.calls), [
                "node update --availability active --label-add note=a b=c --label-add swarmkit.role=worker --label-add swarmkit.managed=note,swarmkit.role w2",
                "node update --label-add swarmkit.role=worker --label-add tier=web --label-add swarmkit.managed=swarmkit.role,tier w1",
            ]);
        });

        it("names the node whose update failed, after the others were made", () => {
            // Without the retry's pauses: a stand-in sleep that returns at once.
            const fast = mkdtempSync(join(tmpdir(), "swarmkit-nosleep-"));
            writeFileSync(join(fast, "sleep"), "#!/bin/sh\nexit 0\n");
            chmodSync(join(fast, "sleep"), 0o755);
            const r = run(labelled, { state: "active", env: { ...base, PATH: `${fast}:${bin}:/usr/bin:/bin`, FAKE_UPDATE_FAIL_w1: "1" } });
            assert.notEqual(r.status, 0);
            assert.match(r.stderr, /step members: cannot update worker-1: docker node update .* failed/);
            assert.match(r.stderr, /step members: the update of these nodes failed: worker-1$/m);
            assert.ok(r.calls.some((c) => c.startsWith("node update") && c.endsWith(" w2")), "worker-2 was still updated");
        });
    });
});

describe("the settle step (between two machines of a roll)", () => {
    const ls = (rows: string[]) => rows.map((r) => `${r}\\n`).join("");

    it("on a new manager: waits until it is reachable, demotes and removes its predecessor, drains itself", () => {
        const script = scripts.renderSettle({ host: "manager-2", role: "manager", availability: "drain", runsOn: "manager-2" });
        const r = run(script, {
            state: "active",
            env: {
                FAKE_NODEID: "m2new",
                FAKE_NODES: ls(["m1 manager-1 Ready Drain Leader", "m2old manager-2 Ready Drain Reachable", "m2new manager-2 Ready Active Reachable", "w1 worker-1 Ready Active"]),
                FAKE_AVAIL_m2new: "active",
                FAKE_AVAIL_m2old: "drain",
            },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeChanges(r.calls), ["node demote m2old", "node rm --force m2old", "node update --availability drain m2new"]);
        assert.deepEqual(JSON.parse(r.stdout), { removed: ["m2old Ready"] });
        assert.match(r.stderr, /host manager-2: step settle manager-2: retired the old entry m2old/);
    });

    it("for a new worker, on the operator: drains its predecessor so its tasks move, then removes it; touches no other node", () => {
        const script = scripts.renderSettle({ host: "worker-1", role: "worker", availability: "active", nodeId: "w1new", runsOn: "manager-1" });
        const r = run(script, {
            state: "active",
            env: { FAKE_NODES: ls(["m1 manager-1 Ready Drain Leader", "w1old worker-1 Ready Active", "w1new worker-1 Ready Active", "w2 worker-2 Ready Active"]) },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeChanges(r.calls), ["node update --availability drain w1old", "node rm --force w1old"]);
        assert.ok(r.calls.some((c) => c.startsWith("node ps w1old")), "waits until the old entry runs no task");
        assert.ok(r.calls.some((c) => c.startsWith("service ls")), "waits until the services have their replicas again");
        assert.deepEqual(JSON.parse(r.stdout), { removed: ["w1old Ready"] });
    });

    it("drains the predecessor only once the new node is ready to take its tasks", () => {
        const script = scripts.renderSettle({ host: "worker-1", role: "worker", availability: "active", nodeId: "w1new", runsOn: "manager-1" });
        const r = run(script, { state: "active", env: { FAKE_NODES: ls(["w1old worker-1 Ready Active", "w1new worker-1 Ready Active"]), FAKE_READY_AFTER: "3" } });
        assert.equal(r.status, 0, r.stderr);
        const readiness = r.calls.map((c, i) => (c.includes("Status.State") && c.endsWith("w1new") ? i : -1)).filter((i) => i >= 0);
        assert.equal(readiness.length, 3, "asked until the new node was ready");
        assert.ok(readiness[2] < r.calls.indexOf("node update --availability drain w1old"), "drained after");
    });

    it("removes a drained predecessor only once every service has its replicas running again", () => {
        const script = scripts.renderSettle({ host: "worker-1", role: "worker", availability: "active", nodeId: "w1new", runsOn: "manager-1" });
        const r = run(script, {
            state: "active",
            env: { FAKE_NODES: ls(["w1old worker-1 Ready Active", "w1new worker-1 Ready Active"]), FAKE_SERVICES: "web", FAKE_RUNNING_AFTER: "4" },
        });
        assert.equal(r.status, 0, r.stderr);
        const polls = r.calls.map((c, i) => (c.startsWith("service ps web") ? i : -1)).filter((i) => i >= 0);
        assert.equal(polls.length, 4, "polled until the 4th read showed both replicas running");
        assert.ok(polls[polls.length - 1] < r.calls.indexOf("node rm --force w1old"), "removed after the replicas ran again");
    });

    it("removes a predecessor that is already gone without draining it, and is a no-op when there is none", () => {
        const script = scripts.renderSettle({ host: "worker-1", role: "worker", availability: "active", nodeId: "w1new", runsOn: "manager-1" });
        const gone = run(script, { state: "active", env: { FAKE_NODES: ls(["w1old worker-1 Down Active", "w1new worker-1 Ready Active"]) } });
        assert.equal(gone.status, 0, gone.stderr);
        assert.deepEqual(nodeChanges(gone.calls), ["node rm --force w1old"]);
        const none = run(script, { state: "active", env: { FAKE_NODES: ls(["w1new worker-1 Ready Active", "w10 worker-10 Ready Active"]) } });
        assert.equal(none.status, 0, none.stderr);
        assert.deepEqual(nodeChanges(none.calls), []);
        assert.deepEqual(JSON.parse(none.stdout), { removed: [] });
    });

    it("fails naming the host and the step when the node is not in the swarm", () => {
        const script = scripts.renderSettle({ host: "manager-3", role: "manager", availability: "drain", runsOn: "manager-3" });
        const r = run(script, { state: "inactive", env: { FAKE_NODEID: "" } });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /swarmkit: host manager-3: step settle manager-3: manager-3 is not in the swarm/);
    });
});

describe("tokens, rotation and the observation's read", () => {
    it("prints both join tokens and the unlock key as JSON", () => {
        const r = run(scripts.renderTokens({ host: "manager-1" }), { state: "active" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { worker: "SWMTKN-1-worker", manager: "SWMTKN-1-manager", unlockKey: "SWMKEY-1-unlock" });
    });

    it("rotates when asked", () => {
        const r = run(scripts.renderRotateTokens({ host: "manager-1" }), { state: "active" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm join-token --rotate -q worker", "swarm join-token --rotate -q manager"]);
        assert.equal(r.stdout, "", "prints no token");
    });

    it("the read parses docker's own JSON, and says so when docker does not answer", () => {
        const swarm = JSON.stringify({
            NodeID: "m1",
            LocalNodeState: "active",
            ControlAvailable: true,
            RemoteManagers: [{ NodeID: "m1", Addr: "10.0.0.11:2377" }],
            Cluster: { ID: "c1", Spec: { EncryptionConfig: { AutoLockManagers: true } } },
        });
        const node = JSON.stringify({ ID: "m1", Hostname: "manager-1", Status: "Ready", Availability: "Drain", ManagerStatus: "Leader" });
        const parsed = parseRead(`SWARM ${swarm}\nNODE ${node}\n`);
        assert.deepEqual(parsed.local, { state: "active", nodeId: "m1", clusterId: "c1", controlAvailable: true, remoteManagers: ["10.0.0.11:2377"], autolock: true });
        assert.deepEqual(parsed.nodes, [{ id: "m1", hostname: "manager-1", status: "Ready", availability: "Drain", managerStatus: "Leader" }]);
        assert.deepEqual(parseRead("SWARM null\n").local, { state: "engine-down" });
        const fake = `#!/bin/sh\ncase "$*" in *json*) echo '${swarm}' ;; esac\n[ "$1" = node ] && echo 'NODE {}'\nexit 0\n`;
        const dir = mkdtempSync(join(tmpdir(), "swarmkit-read-"));
        writeFileSync(join(dir, "docker"), fake);
        chmodSync(join(dir, "docker"), 0o755);
        const out = spawnSync("/bin/sh", ["-c", scripts.renderRead()], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
        assert.match(out.stdout, /^SWARM \{"NodeID":"m1"/);
        assert.match(out.stdout, /\nNODE /, "a manager that can act lists the nodes");
    });
});

describe("every rendered script", () => {
    it("is valid POSIX shell (sh -n)", () => {
        const rendered = {
            init: scripts.renderInit({ host: "manager-1", advertiseAddress: "10.0.0.11", autolock: true }),
            tokens: scripts.renderTokens({ host: "manager-1" }),
            rotate: scripts.renderRotateTokens({ host: "manager-1" }),
            join: scripts.renderNodeStep({ host: "worker-1", advertiseAddress: "10.0.0.101" }),
            members: scripts.renderMembers({
                operator: "manager-1",
                autolock: false,
                nodes: [
                    { name: "manager-1", role: "manager", nodeId: "m1", availability: "drain" },
                    { name: "worker-1", role: "worker", nodeId: "w1", availability: "active" },
                ],
            }),
            read: scripts.renderRead(),
            readQuick: scripts.renderRead(false),
            settleManager: scripts.renderSettle({ host: "manager-2", role: "manager", availability: "drain", runsOn: "manager-2" }),
            settleWorker: scripts.renderSettle({ host: "worker-1", role: "worker", availability: "active", nodeId: "w1", runsOn: "manager-1" }),
        };
        for (const [name, text] of Object.entries(rendered)) {
            const r = spawnSync("/bin/sh", ["-n"], { input: text, encoding: "utf8" });
            assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        }
    });
});
