/**
 * Runs the rendered remote scripts for real under /bin/sh against a scripted stand-in for the docker CLI, to
 * prove their idempotence and error messages without a swarm.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as scripts from "../../components/swarm/scripts";

const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = info ]; then
  if [ -n "\${FAKE_DOWN_UNTIL:-}" ]; then
    n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/count"
    [ "$n" -ge "$FAKE_DOWN_UNTIL" ] || exit 1
  fi
  case "$*" in
    *LocalNodeState*) cat "$FAKE_DIR/state" ;;
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
  "swarm join") [ "\${FAKE_JOIN:-ok}" = ok ] || { echo "Error response from daemon: refused" >&2; exit 1; }; echo active > "$FAKE_DIR/state"; exit 0 ;;
  "swarm leave") echo inactive > "$FAKE_DIR/state"; exit 0 ;;
  "swarm update") exit 0 ;;
  "swarm join-token") for a; do last=$a; done; echo "SWMTKN-1-$last"; exit 0 ;;
  "swarm unlock-key") echo SWMKEY-1-unlock; exit 0 ;;
  "node inspect") case "$*" in *Spec.Role*) echo "\${FAKE_ROLE:-manager}" ;; *Reachability*) echo reachable ;; *Hostname*) echo host ;; esac; exit 0 ;;
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
    return { ...result, calls, finalState: readFileSync(join(dir, "state"), "utf8").trim(), dir };
}

const swarmCalls = (calls: string[]) => calls.filter((c) => c.startsWith("swarm "));

describe("init", () => {
    const script = scripts.renderInit({ host: "manager-1", advertiseAddress: "10.0.0.11", autolock: true });

    it("initialises an inactive engine with autolock and prints the ids", () => {
        const r = run(script, { state: "inactive" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm init --autolock=true --advertise-addr 10.0.0.11 --listen-addr 10.0.0.11:2377"]);
        assert.deepEqual(JSON.parse(r.stdout), { nodeId: "node-1", clusterId: "cluster-1" });
    });

    it("changes nothing on a manager that already leads the swarm", () => {
        const r = run(script, { state: "active" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), []);
    });

    it("converges autolock when it differs", () => {
        const r = run(script, { state: "active", env: { FAKE_AUTOLOCK: "false" } });
        assert.deepEqual(swarmCalls(r.calls), ["swarm update --autolock=true"]);
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

describe("join", () => {
    const script = scripts.renderJoin({ host: "worker-1", advertiseAddress: "10.0.0.101", managerAddresses: ["10.0.0.11", "10.0.0.12"] });

    it("joins an inactive node with the token from stdin and prints its node id", () => {
        const r = run(script, { state: "inactive", stdin: "SWMTKN-1-secret\n", env: { FAKE_NODEID: "wid" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), ["swarm join --token SWMTKN-1-secret --advertise-addr 10.0.0.101 10.0.0.11:2377"]);
        assert.equal(r.stdout.trim(), "wid");
    });

    it("does not join again when the node is already in this swarm", () => {
        const r = run(script, { state: "active", stdin: "SWMTKN-1-secret", env: { FAKE_REMOTES: "10.0.0.12:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls), []);
    });

    it("leaves another swarm before joining this one", () => {
        const r = run(script, { state: "active", stdin: "SWMTKN-1-secret", env: { FAKE_REMOTES: "192.0.2.9:2377 " } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(swarmCalls(r.calls).map((c) => c.split(" --token")[0]), ["swarm leave --force", "swarm join"]);
    });

    it("tries every manager, then fails naming the host, the step and the managers, without printing the token", () => {
        const r = run(script, { state: "inactive", stdin: "SWMTKN-1-secret", env: { FAKE_JOIN: "refuse" } });
        assert.notEqual(r.status, 0);
        assert.equal(swarmCalls(r.calls).length, 2);
        assert.match(r.stderr, /swarmkit: host worker-1: step join: every manager refused the join \(10\.0\.0\.11:2377 10\.0\.0\.12:2377\)/);
        assert.ok(!r.stderr.includes("SWMTKN-1-secret") && !r.stdout.includes("SWMTKN-1-secret"));
    });

    it("refuses to run without a token", () => {
        const r = run(script, { state: "inactive", stdin: "" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /step join: no join token on stdin/);
    });
});

describe("remove a member", () => {
    const args = { leader: "manager-2", host: "manager-3", role: "manager" as const, nodeId: "m3" };
    const nodeCalls = (calls: string[]) => calls.filter((c) => c.startsWith("node "));

    it("demotes a manager before removing its entry", () => {
        const r = run(scripts.renderRemoveMember(args), { state: "active", env: { FAKE_NODEID: "m2" } });
        assert.equal(r.status, 0, r.stderr);
        const calls = nodeCalls(r.calls).filter((c) => !c.startsWith("node inspect"));
        assert.deepEqual(calls, ["node demote m3", "node rm --force m3"]);
    });

    it("retries a promotion that races the new node's own first update", () => {
        const script = scripts.renderMember({ leader: "manager-1", host: "manager-2", role: "manager", nodeId: "m2" });
        const r = run(script, { state: "active", env: { FAKE_ROLE: "worker", FAKE_PROMOTE_FAILS: "2" } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.calls.filter((c) => c === "node promote m2").length, 3);
    });

    it("never demotes the manager it runs on", () => {
        const r = run(scripts.renderRemoveMember({ ...args, host: "manager-2", nodeId: "m2" }), { state: "active", env: { FAKE_NODEID: "m2" } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(nodeCalls(r.calls).filter((c) => !c.startsWith("node inspect")), []);
        assert.match(r.stderr, /manager-2 runs this step itself/);
    });
});

describe("tokens and leave", () => {
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

    it("leave is a no-op on a node outside any swarm", () => {
        const r = run(scripts.renderLeave({ host: "worker-1" }), { state: "inactive" });
        assert.equal(r.status, 0);
        assert.deepEqual(swarmCalls(r.calls), []);
        assert.ok(existsSync(r.dir));
    });
});
