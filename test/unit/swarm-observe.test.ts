/**
 * The observation of the live swarm and the check after `up`, against a scripted prober (no SSH): what is read,
 * in what order, and what a changed host key does. Also the dial schedule the kit plans with.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installMocks } from "./mocks";
import { HostKeyChangedError, observeSwarm } from "../../components/swarm/observe";
import { compareSwarm, describeMatch, liveCheck, verifySwarm } from "../../components/swarm/verify";
import { verifyStack } from "../../scripts/stack";
import { ProbeResult, ProbeTarget, fingerprint } from "../../components/ssh/probe";
import { BOOTING_HOST, LAB_HOST, LIVE_HOST, retryWaitSeconds, worstCaseSeconds } from "../../components/ssh/dialPolicy";
import type { MachineStatus, SwarmHost } from "../../components/host";

before(() => installMocks());

function host(name: string, status: MachineStatus = "running"): SwarmHost {
    const octet = name.startsWith("manager") ? 10 + Number(name.split("-")[1]) : 100 + Number(name.split("-")[1]);
    return {
        name,
        role: name.startsWith("manager") ? "manager" : "worker",
        sshAddress: `10.9.0.${octet}`,
        privateAddress: `10.9.0.${octet}`,
        machineId: `m-${name}`,
        machineStatus: status,
        connection: { host: `10.9.0.${octet}`, user: "root", privateKey: pulumi.secret("KEY"), hostKey: `ssh-ed25519 AAAA${name}` },
    };
}

const swarmLine = (state: string, control: boolean) =>
    `SWARM ${JSON.stringify({ LocalNodeState: state, NodeID: "n", ControlAvailable: control, RemoteManagers: [{ Addr: "10.9.0.11:2377" }], Cluster: control ? { ID: "c", Spec: { EncryptionConfig: { AutoLockManagers: true } } } : null })}`;
const nodeLine = (hostname: string, managerStatus = "") =>
    `NODE ${JSON.stringify({ ID: `id-${hostname}`, Hostname: hostname, Status: "Ready", Availability: "Active", ManagerStatus: managerStatus })}`;

describe("observeSwarm", () => {
    it("reads every node that exists in one parallel round, and takes the node list from the first manager that can act", async () => {
        const asked: string[] = [];
        const prober = async (t: ProbeTarget, command?: string): Promise<ProbeResult> => {
            asked.push(`${t.name} ${t.hostKey} ${command?.includes("node ls") ? "read with the node list" : "read"}`);
            if (t.name === "manager-1") return { kind: "unreachable", error: "connect ECONNREFUSED" };
            if (t.name === "manager-2") return { kind: "ok", stdout: `${swarmLine("active", true)}\n${nodeLine("manager-2", "Leader")}\n` };
            return { kind: "ok", stdout: swarmLine("active", false) };
        };
        const o = await observeSwarm([host("manager-1"), host("manager-2"), host("worker-1"), host("worker-2", "new")], { prober });
        assert.deepEqual(asked, [
            "manager-1 ssh-ed25519 AAAAmanager-1 read with the node list",
            "manager-2 ssh-ed25519 AAAAmanager-2 read",
            "worker-1 ssh-ed25519 AAAAworker-1 read",
            // manager-1 cannot act: the list comes from the next manager that can.
            "manager-2 ssh-ed25519 AAAAmanager-2 read with the node list",
        ]);
        assert.equal(o.operator, "manager-2");
        assert.deepEqual(o.nodes?.map((n) => n.hostname), ["manager-2"]);
        assert.deepEqual(o.hosts["manager-1"], { reachable: false, error: "connect ECONNREFUSED" });
        assert.equal(o.hosts["worker-2"], undefined, "a machine made in this run has nothing to read");
        assert.equal(o.privateAddresses["manager-1"], "10.9.0.11");
    });

    it("stops the run, naming the host and both fingerprints, when a host presents another key than the pinned one", async () => {
        const prober = async (t: ProbeTarget): Promise<ProbeResult> =>
            t.name === "worker-1" ? { kind: "hostKeyMismatch", expected: "SHA256:pinned", presented: "SHA256:other" } : { kind: "ok", stdout: swarmLine("active", t.name === "manager-1") };
        await assert.rejects(observeSwarm([host("manager-1"), host("worker-1")], { prober }), (err: Error) => {
            assert.ok(err instanceof HostKeyChangedError);
            assert.match(err.message, /^swarmkit: host worker-1 \(10\.9\.0\.101:22\): its SSH host key changed: pinned SHA256:pinned, now presents SHA256:other/);
            return true;
        });
    });

    it("fingerprints keys the way OpenSSH prints them", () => {
        assert.equal(fingerprint(Buffer.from("abc")), "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
    });
});

describe("the check after up", () => {
    const expect = { hosts: [{ name: "manager-1", role: "manager" as const }, { name: "worker-1", role: "worker" as const }], autolock: true, drainManagers: true };
    const entry = (hostname: string, extra: object = {}) => ({ id: `id-${hostname}`, hostname, status: "Ready", availability: hostname.startsWith("manager") ? "Drain" : "Active", managerStatus: hostname.startsWith("manager") ? "Leader" : "", ...extra });

    it("passes a swarm that matches the config and names every difference otherwise", () => {
        const live = { operator: "manager-1", nodes: [entry("manager-1"), entry("worker-1")], operatorState: { state: "active" as const, autolock: true }, managerProblems: [] };
        assert.deepEqual(compareSwarm(expect, live), []);
        const off = {
            ...live,
            nodes: [entry("manager-1", { availability: "Active" }), entry("worker-1", { status: "Down" }), entry("worker-1", { id: "old", status: "Down" }), entry("worker-5")],
            operatorState: { state: "active" as const, autolock: false },
        };
        assert.deepEqual(compareSwarm(expect, off), [
            "manager-1: availability Active, want Drain",
            "worker-1: status Down, want Ready",
            "worker-1: a second entry old (Down)",
            "worker-5: in the swarm (id-worker-5, Ready) but not in the config",
            "autolock is off, want on",
        ]);
        assert.deepEqual(compareSwarm(expect, { nodes: [], managerProblems: ["manager-1: swarm state locked"] }), ["no manager can act for the swarm: manager-1: swarm state locked"]);
    });

    it("the read after the last step, as the stack exports it: its differences, and the line up prints on a match", () => {
        const live = { operator: "manager-1", nodes: [entry("manager-1", { engineVersion: "26.1.5" }), entry("worker-1", { engineVersion: "26.1.5" })], operatorState: { state: "active" as const, autolock: true }, managerProblems: [] };
        const check = liveCheck(expect, live);
        assert.deepEqual(check, { differences: [], managers: ["manager-1 Leader"], workers: 1, engines: ["26.1.5"], autolock: true });
        assert.equal(describeMatch(check), "swarmkit: the live swarm matches the config: manager-1 Leader; 1 workers; every node Ready; autolock on; Docker 26.1.5");
        assert.deepEqual(liveCheck(expect, { ...live, nodes: [entry("manager-1")] }).differences, ["worker-1: not in the swarm"]);
    });

    it("up reports the program's read when it matched, and reads the swarm again when it did not", async () => {
        const nodes = [
            { name: "manager-1", role: "manager", sshAddress: "127.0.0.1", sshUser: "root", hostKey: "ssh-ed25519 AAAA" },
            { name: "worker-1", role: "worker", sshAddress: "127.0.0.1", sshUser: "root", hostKey: "ssh-ed25519 AAAA" },
        ];
        const outputs = (differences: string[]) => ({
            nodes: { value: nodes, secret: false },
            autolock: { value: true, secret: false },
            drainManagers: { value: true, secret: false },
            sshPrivateKey: { value: "not a key", secret: true },
            liveCheck: { value: { differences, managers: ["manager-1 Leader"], workers: 1, engines: ["26.1.5"], autolock: true }, secret: false },
        });
        let reads = 0;
        const prober = async (): Promise<ProbeResult> => {
            reads++;
            return { kind: "ok", stdout: `${swarmLine("active", true)}\nNODE ${JSON.stringify({ ID: "m", Hostname: "manager-1", Status: "Ready", Availability: "Drain", ManagerStatus: "Leader" })}\nNODE ${JSON.stringify({ ID: "w", Hostname: "worker-1", Status: "Ready", Availability: "Active", ManagerStatus: "" })}\n` };
        };
        const lines: string[] = [];
        assert.deepEqual(await verifyStack(outputs([]), (l) => lines.push(l), { prober, seconds: 0 }), []);
        assert.equal(reads, 0, "the program's matching read stands: no second read");
        assert.deepEqual(lines, ["swarmkit: the live swarm matches the config: manager-1 Leader; 1 workers; every node Ready; autolock on; Docker 26.1.5"]);
        // A read that differed is read again, here from a manager that sees worker-1 Ready by now.
        const relog: string[] = [];
        assert.deepEqual(await verifyStack(outputs(["worker-1: status Down, want Ready"]), (l) => relog.push(l), { prober, seconds: 0 }), []);
        assert.equal(reads, 1);
        assert.match(relog[0], /^swarmkit: the live swarm matches the config: manager-1 Leader; 1 workers/);
    });

    it("waits for a swarm that is still settling, then reports what still differs", async () => {
        let reads = 0;
        const prober = async (): Promise<ProbeResult> => {
            reads++;
            const status = reads >= 2 ? "Ready" : "Down";
            return { kind: "ok", stdout: `${swarmLine("active", true)}\nNODE ${JSON.stringify({ ID: "m", Hostname: "manager-1", Status: "Ready", Availability: "Drain", ManagerStatus: "Leader" })}\nNODE ${JSON.stringify({ ID: "w", Hostname: "worker-1", Status: status, Availability: "Active", ManagerStatus: "" })}\n` };
        };
        const target = { name: "manager-1", host: "h", port: 22, user: "root", privateKey: "k", hostKey: "ssh-ed25519 AAAA" };
        const { differences } = await verifySwarm([target], expect, 10, prober);
        assert.deepEqual(differences, []);
        assert.equal(reads, 2);
    });
});

describe("dial policies, on the upstream provider's retry schedule", () => {
    it("adds up the waits the way retry.Until does: 0.1 s, growing 1.5x, at most 5 s", () => {
        assert.ok(Math.abs(retryWaitSeconds(30) - 111.3) < 0.1, `${retryWaitSeconds(30)}`);
        assert.ok(Math.abs(retryWaitSeconds(90) - 411.3) < 0.1);
        assert.ok(Math.abs(retryWaitSeconds(120) - 561.3) < 0.1);
        assert.equal(retryWaitSeconds(0), 0);
    });

    it("fails a refused live host within seconds, waits minutes for a booting one, and bounds the worst case", () => {
        assert.ok(retryWaitSeconds(LIVE_HOST.dialErrorLimit) < 2 && retryWaitSeconds(LAB_HOST.dialErrorLimit) < 2);
        assert.ok(worstCaseSeconds(LIVE_HOST) <= 120, `a host that drops packets holds a step ${worstCaseSeconds(LIVE_HOST)} s`);
        assert.ok(retryWaitSeconds(BOOTING_HOST.dialErrorLimit) >= 150 && retryWaitSeconds(BOOTING_HOST.dialErrorLimit) <= 180);
    });
});
