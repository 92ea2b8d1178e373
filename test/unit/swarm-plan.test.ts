/** Every repair path of the swarm plan, from the config and an observation of the live machines (pure). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PlannedHost, planSwarm } from "../../components/swarm/plan";
import { LocalSwarm, NodeEntry, SwarmObservation } from "../../components/swarm/observe";
import { MachineStatus } from "../../components/host";

const MANAGERS = ["manager-1", "manager-2", "manager-3"];
const WORKERS = ["worker-1", "worker-2"];
const ALL = [...MANAGERS, ...WORKERS];
const ADDRESSES = { "manager-1": "10.0.0.11", "manager-2": "10.0.0.12", "manager-3": "10.0.0.13" };

function hosts(status: MachineStatus = "running", overrides: Record<string, MachineStatus> = {}): PlannedHost[] {
    return ALL.map((name) => ({ name, role: name.startsWith("manager") ? "manager" : "worker", machineStatus: overrides[name] ?? status }));
}

const active = (manager: boolean): LocalSwarm => ({ state: "active", controlAvailable: manager, remoteManagers: ["10.0.0.11:2377"], autolock: true });

function entry(name: string, extra: Partial<NodeEntry> = {}): NodeEntry {
    const manager = name.startsWith("manager");
    return { id: `id-${name}`, hostname: name, status: "Ready", availability: manager ? "Drain" : "Active", managerStatus: name === "manager-1" ? "Leader" : manager ? "Reachable" : "", ...extra };
}

function healthy(): SwarmObservation {
    return {
        hosts: Object.fromEntries(ALL.map((n) => [n, { reachable: true, local: active(n.startsWith("manager")) }])),
        operator: "manager-1",
        nodes: ALL.map((n) => entry(n)),
        privateAddresses: ADDRESSES,
    };
}

const plan = (h: PlannedHost[], o?: SwarmObservation, autolock = true) => planSwarm({ hosts: h, autolock, drainManagers: true }, o);
const messages = (p: ReturnType<typeof plan>) => p.findings.map((f) => `${f.level}: ${f.message}`).join("\n");

describe("the swarm plan", () => {
    it("a new stack founds a new swarm, says so, and joins every node with the current token", () => {
        const p = plan(hosts("new"));
        assert.match(p.refound ?? "", /a new swarm is formed/);
        assert.deepEqual(Object.keys(p.nodeRepairs).sort(), [...ALL].sort());
        assert.deepEqual(p.leaveFirst, [], "new machines have no old swarm to leave");
        assert.ok(!messages(p).includes("warn"), messages(p));
    });

    it("a healthy swarm needs nothing: no repair, no finding, the first manager operates", () => {
        const p = plan(hosts(), healthy());
        assert.deepEqual(p, { operator: "manager-1", nodeRepairs: {}, leaveFirst: [], findings: [] });
    });

    it("a reboot, seen before the hosts start (a preview): managers will come back locked and get unlocked", () => {
        const o: SwarmObservation = { hosts: Object.fromEntries(ALL.map((n) => [n, { reachable: false, error: "no route to host" }])), privateAddresses: ADDRESSES };
        const p = plan(hosts("starting"), o);
        assert.equal(p.refound, undefined, "machines with their disks still hold the swarm");
        assert.deepEqual(Object.keys(p.nodeRepairs), MANAGERS);
        assert.match(p.nodeRepairs["manager-1"], /comes back locked/);
        assert.match(messages(p), /worker-1: starts again from its disk/);
        assert.equal(plan(hosts("starting"), o, false).nodeRepairs["manager-1"], undefined, "without autolock nothing is locked");
    });

    it("a reboot, seen after the hosts started: every locked manager is unlocked, the first locked one operates", () => {
        const o = healthy();
        delete o.operator;
        delete o.nodes;
        for (const m of MANAGERS) o.hosts[m].local = { state: "locked" };
        const p = plan(hosts("starting"), o);
        assert.deepEqual(Object.keys(p.nodeRepairs), MANAGERS);
        assert.equal(p.operator, "manager-1");
        assert.equal(p.refound, undefined);
    });

    it("every host gone with its disk: a new swarm, and nodes that may still hold the old one leave it", () => {
        const p = plan(hosts("new", { "worker-2": "running" }), {
            hosts: { "worker-2": { reachable: true, local: { state: "active", remoteManagers: ["10.0.0.11:2377"] } } },
            privateAddresses: ADDRESSES,
        });
        assert.match(p.refound ?? "", /no manager holds one \(manager-1: new machine, manager-2: new machine, manager-3: new machine\)/);
        assert.deepEqual(p.leaveFirst, ["worker-2"]);
        assert.equal(p.nodeRepairs["worker-2"], "a new swarm is formed");
    });

    it("one manager and one worker gone: they are new machines that join; no new swarm", () => {
        const o = healthy();
        delete o.hosts["manager-3"];
        delete o.hosts["worker-1"];
        o.nodes = o.nodes!.map((n) => (n.hostname === "manager-3" || n.hostname === "worker-1" ? { ...n, status: "Down", managerStatus: n.managerStatus && "Unreachable" } : n));
        const p = plan(hosts("running", { "manager-3": "new", "worker-1": "new" }), o);
        assert.equal(p.refound, undefined);
        assert.deepEqual(p.nodeRepairs, { "manager-3": "new machine", "worker-1": "new machine" });
    });

    it("a worker that left, a locked manager, a node in another swarm: their join steps run again", () => {
        const o = healthy();
        o.hosts["worker-1"].local = { state: "inactive" };
        o.hosts["manager-2"].local = { state: "locked" };
        o.hosts["worker-2"].local = { ...active(false), remoteManagers: ["192.0.2.7:2377"] };
        const p = plan(hosts(), o);
        assert.match(p.nodeRepairs["worker-1"], /not in the swarm/);
        assert.match(p.nodeRepairs["manager-2"], /locked/);
        assert.equal(p.nodeRepairs["worker-2"], "in another swarm");
        assert.match(messages(p), /manager-2: locked \(autolock\): unlocking it with the stack's unlock key/);
    });

    it("a manager demoted by hand, availability changed, stale and leftover entries: the members step runs again", () => {
        const o = healthy();
        o.nodes = [
            ...o.nodes!.map((n) => (n.hostname === "manager-2" ? { ...n, managerStatus: "" } : n.hostname === "manager-3" ? { ...n, availability: "Active" } : n)),
            entry("worker-1", { id: "old-w1", status: "Down" }),
            entry("worker-7"),
            entry("gpu-box"),
            entry("printer", { status: "Down" }),
        ];
        const p = plan(hosts(), o);
        assert.equal(
            p.membersRepair,
            "manager-2 is a worker: promote it; manager-3 availability Active, want Drain; remove entry old-w1 of worker-1 (Down); remove entry id-worker-7 of worker-7 (Ready); remove entry id-printer of printer (Down)",
        );
        assert.match(messages(p), /node gpu-box \(id-gpu-box\) is not a node of this stack: left alone/);
        assert.deepEqual(p.nodeRepairs, {});
    });

    it("autolock turned off by hand is put back", () => {
        const o = healthy();
        o.hosts["manager-1"].local = { ...active(true), autolock: false };
        assert.equal(plan(hosts(), o).membersRepair, "autolock off, want on");
    });

    it("a lost first manager: the next one that can act operates, and the run says so", () => {
        const o = healthy();
        o.hosts["manager-1"] = { reachable: false, error: "connect ECONNREFUSED" };
        o.operator = "manager-2";
        const p = plan(hosts(), o);
        assert.equal(p.operator, "manager-2");
        assert.match(messages(p), /warn: manager-1 cannot act for the swarm now: the kit operates through manager-2/);
        assert.match(messages(p), /warn: manager-1: unreachable over SSH \(connect ECONNREFUSED\)/);
    });

    it("a manager whose engine runs but that the others cannot reach is named, with the port to check", () => {
        const o = healthy();
        o.nodes = o.nodes!.map((n) => (n.hostname === "manager-3" ? { ...n, managerStatus: "Unreachable" } : n));
        assert.match(messages(plan(hosts(), o)), /warn: manager-3: its engine runs but the other managers cannot reach it: is 2377\/tcp open/);
    });

    it("a roll: every rolling node joins again in its place, the swarm is not founded again, the operator stays", () => {
        // The lab's new machines are in their other slot (new); the old ones still run and are read at their old address.
        const rolling = hosts("new").map((h) => ({ ...h, rolling: true }));
        const p = plan(rolling, healthy());
        assert.equal(p.refound, undefined);
        assert.equal(p.operator, "manager-1");
        assert.deepEqual(Object.keys(p.nodeRepairs).sort(), [...ALL].sort());
        for (const name of ALL) assert.match(p.nodeRepairs[name], /its machine is replaced/);
        assert.deepEqual(p.leaveFirst, []);
        assert.equal(p.membersRepair, undefined, "the old entries are the settle steps' to retire");
        assert.match(messages(p), /manager-2: its settings changed: a new machine takes its place, then the old one leaves the swarm/);
    });
});
