import { before, describe, it } from "node:test";
import { withSeams } from "../../components/swarm/seams";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
    addOutputFaker,
    swarmStepFaker,
    byName,
    byType,
    childOptions,
    childProps,
    dependencies,
    installMocks,
    isSecretValue,
    reveal,
    recordDependencies,
    settle,
    unwrap,
} from "./mocks";
import type { SwarmCluster as SwarmClusterType } from "../../components/swarm/cluster";
import type { SwarmHost, MachineStatus } from "../../components/host";
import type { SwarmObservation } from "../../components/swarm/observe";

const TOKENS = { worker: "SWMTKN-1-fakeworker", manager: "SWMTKN-1-fakemanager", unlockKey: "SWMKEY-1-fakeunlock" };

// Remote commands answer like the real scripts would: init prints ids, tokens prints JSON, join a node id.
addOutputFaker(swarmStepFaker(TOKENS));

function hosts(managers: number, workers: number, status?: MachineStatus): SwarmHost[] {
    const list: SwarmHost[] = [];
    for (let i = 1; i <= managers; i++) list.push(host(`manager-${i}`, "manager", `10.0.0.${10 + i}`, status));
    for (let i = 1; i <= workers; i++) list.push(host(`worker-${i}`, "worker", `10.0.0.${100 + i}`, status));
    return list;
}

function host(name: string, role: "manager" | "worker", privateAddress: string, machineStatus?: MachineStatus): SwarmHost {
    const octet = privateAddress.split(".")[3];
    return {
        name,
        role,
        sshAddress: `203.0.113.${octet}`,
        privateAddress,
        machineId: `machine-${name}`,
        machineStatus,
        connection: { host: `203.0.113.${octet}`, user: "root", privateKey: pulumi.secret("PRIVATE KEY"), hostKey: `ssh-ed25519 AAAAhostkey${octet}`, dialErrorLimit: 5 },
        machineSpec: '{"revision":0}',
    };
}

let SwarmCluster: typeof SwarmClusterType;
before(async () => {
    await installMocks();
    ({ SwarmCluster } = await import("../../components/swarm/cluster"));
});

function create(name: string, list: SwarmHost[], extra: Partial<{ autolock: boolean; drainManagers: boolean; tokenRotation: number; observation: SwarmObservation }> = {}) {
    return new SwarmCluster(
        name,
        withSeams({ hardware: { hosts: list }, autolock: extra.autolock ?? true, drainManagers: extra.drainManagers ?? true, tokenRotation: extra.tokenRotation }, { observation: extra.observation }),
        { transformations: [recordDependencies] },
    );
}

const commandsOf = (prefix: string) => byType("command:remote:Command").filter((r) => r.name.startsWith(`${prefix}-`));
const healthy = (names: string[], operator = "manager-1"): SwarmObservation => ({
    hosts: Object.fromEntries(
        names.map((n) => [n, { reachable: true, local: { state: "active" as const, controlAvailable: n.startsWith("manager"), remoteManagers: ["10.0.0.11:2377"], autolock: true } }]),
    ),
    operator,
    nodes: names.map((n) => ({ id: `id-${n}`, hostname: n, status: "Ready", availability: n.startsWith("manager") ? "Drain" : "Active", managerStatus: n === operator ? "Leader" : n.startsWith("manager") ? "Reachable" : "" })),
    privateAddresses: { "manager-1": "10.0.0.11", "manager-2": "10.0.0.12", "manager-3": "10.0.0.13" },
});

describe("SwarmCluster with 3 managers and 2 workers, a new swarm", () => {
    let cluster: SwarmClusterType;
    before(async () => {
        cluster = create("c3", hosts(3, 2, "new"));
        await unwrap(cluster.nodes);
        await unwrap(cluster.ready);
        await settle();
    });

    it("declares one init, one tokens read, a join and a settle step for every node and one members step", () => {
        assert.deepEqual(commandsOf("c3").map((r) => r.name).sort(), [
            "c3-init-manager-1",
            "c3-join-manager-1",
            "c3-join-manager-2",
            "c3-join-manager-3",
            "c3-join-worker-1",
            "c3-join-worker-2",
            "c3-members",
            "c3-settle-manager-1",
            "c3-settle-manager-2",
            "c3-settle-manager-3",
            "c3-settle-worker-1",
            "c3-settle-worker-2",
            "c3-tokens",
        ]);
    });

    it("orders init before tokens before the join steps, and every join step before the members step", () => {
        assert.deepEqual(dependencies.get("c3-tokens"), ["c3-init-manager-1"]);
        for (const n of ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]) {
            assert.deepEqual(dependencies.get(`c3-join-${n}`), ["c3-init-manager-1", "c3-tokens"], n);
        }
        assert.deepEqual((dependencies.get("c3-members") ?? []).sort(), ["c3-join-manager-1", "c3-join-manager-2", "c3-join-manager-3", "c3-join-worker-1", "c3-join-worker-2"]);
        // A new swarm rolls nothing: each node's settle step is a placeholder after the members step that runs no
        // command (so no SSH), its inputs ignored so that a later run leaves it as it is.
        for (const n of ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]) {
            assert.deepEqual(dependencies.get(`c3-settle-${n}`), [`c3-join-${n}`, "c3-members"], n);
            assert.equal(byName(`c3-settle-${n}`).inputs.create, undefined, n);
            assert.deepEqual(childOptions.get(`c3-settle-${n}`)?.ignoreChanges, ["create", "connection", "triggers"], n);
        }
    });

    it("initialises with autolock on the first manager's private address", () => {
        const init = String(byName("c3-init-manager-1").inputs.create);
        assert.match(init, /docker swarm init --autolock=true --advertise-addr '10\.0\.0\.11' --listen-addr '10\.0\.0\.11':2377 >\/dev\/null/);
        assert.equal(reveal(byName("c3-init-manager-1").inputs.connection).host, "203.0.113.11");
    });

    it("founds the swarm once: later changes of address, autolock or machine never run init again", async () => {
        assert.deepEqual(childOptions.get("c3-init-manager-1")?.ignoreChanges, [], "a new swarm: the founding runs");
        const later = create("later", hosts(3, 0, "running"), { observation: healthy(["manager-1", "manager-2", "manager-3"]) });
        assert.ok((await later.plan).refound === undefined);
        assert.deepEqual(childOptions.get("later-init-manager-1")?.ignoreChanges, ["create", "connection", "triggers[0]"]);
    });

    it("joins each node on its own private address with the token, the unlock key (managers only) and the managers on stdin only", async () => {
        const join = byName("c3-join-worker-1");
        const script = String(join.inputs.create);
        assert.match(script, /docker swarm join --token "\$token" --advertise-addr '10\.0\.0\.101' "\$remote"/);
        assert.ok(!script.includes(TOKENS.worker), "the token must not be in the script");
        assert.equal(reveal(join.inputs.stdin), `${TOKENS.worker}\n\nstay\n10.0.0.11 10.0.0.12 10.0.0.13\n`);
        assert.equal(reveal(byName("c3-join-manager-2").inputs.stdin), `${TOKENS.worker}\n${TOKENS.unlockKey}\nstay\n10.0.0.11 10.0.0.12 10.0.0.13\n`);
        assert.ok(isSecretValue(join.inputs.stdin), "the token reaches the provider as a secret input");
        assert.equal((await unwrap(childProps.get("c3-join-worker-1")?.stdin)).secret, true);
        assert.equal(join.inputs.delete, undefined, "nothing runs on a host when it goes: the machine goes with it");
        assert.deepEqual(join.inputs.triggers.slice(0, 2), ["machine-worker-1", "cluster-1"]);
    });

    it("the members step promotes managers one at a time in order, drains managers, keeps workers active", () => {
        const script = String(byName("c3-members").inputs.create);
        const promote2 = script.indexOf("docker node promote 'id-manager-2'");
        const reach2 = script.indexOf("ManagerStatus.Reachability}}{{end}}' 'id-manager-2'");
        const promote3 = script.indexOf("docker node promote 'id-manager-3'");
        assert.ok(promote2 > 0 && reach2 > promote2 && promote3 > reach2, "manager-3 is promoted only after manager-2 is reachable");
        const wants = (id: string, availability: string) =>
            new RegExp(`\\[ "\\$\\(field_of '${id}' 4\\)" = ${availability} \\] \\|\\| set -- "\\$@" --availability ${availability}\n(.*\n)*?\\[ "\\$#" -eq 0 \\] \\|\\| update_node '${id}'`);
        for (const m of ["manager-1", "manager-2", "manager-3"]) assert.match(script, wants(`id-${m}`, "drain"));
        for (const w of ["worker-1", "worker-2"]) assert.match(script, wants(`id-${w}`, "active"));
        assert.equal(byName("c3-members").inputs.delete, undefined);
        assert.equal(reveal(byName("c3-members").inputs.connection).host, "203.0.113.11", "runs on the operator");
    });

    it("exports the three secrets as Pulumi secrets, read with logging off and stdout marked secret", async () => {
        for (const [output, value] of [
            [cluster.workerJoinToken, TOKENS.worker],
            [cluster.managerJoinToken, TOKENS.manager],
            [cluster.unlockKey, TOKENS.unlockKey],
        ] as const) {
            const got = await unwrap(output);
            assert.equal(got.value, value);
            assert.equal(got.secret, true, `${value} must be secret`);
        }
        assert.equal(byName("c3-tokens").inputs.logging, "none");
        const secretOutputs = childOptions.get("c3-tokens")?.additionalSecretOutputs ?? [];
        assert.ok(secretOutputs.includes("stdout") && secretOutputs.includes("stderr"), `got ${secretOutputs}`);
    });

    it("keeps the private key secret and pins the host key in every connection", async () => {
        for (const [name, props] of childProps) {
            if (!name.startsWith("c3-")) continue;
            assert.equal((await unwrap(props.connection.privateKey)).secret, true, name);
            assert.match((await unwrap(props.connection.hostKey)).value, /^ssh-ed25519 AAAAhostkey/, name);
            assert.equal((await unwrap(props.connection.dialErrorLimit)).value, 5, name);
        }
    });

    it("exports leader address, nodes (with their pinned host keys) and DOCKER_HOST", async () => {
        assert.equal((await unwrap(cluster.leaderAddress)).value, "10.0.0.11");
        assert.equal((await unwrap(cluster.dockerHost)).value, "ssh://root@203.0.113.11");
        const nodes = (await unwrap(cluster.nodes)).value;
        assert.equal(nodes.filter((n) => n.role === "manager").length, 3);
        assert.deepEqual(nodes[3], {
            name: "worker-1",
            role: "worker",
            nodeId: "id-worker-1",
            privateAddress: "10.0.0.101",
            sshAddress: "203.0.113.101",
            sshUser: "root",
            hostKey: "ssh-ed25519 AAAAhostkey101",
            machineSpec: '{"revision":0}',
        });
    });
});

describe("SwarmCluster on a healthy live swarm", () => {
    before(async () => {
        const c = create("ok", hosts(3, 2, "running"), { observation: healthy(["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]) });
        await unwrap(c.ready);
        await settle();
    });

    it("repairs nothing: every repair slot and every join step's stdin stay as they are", () => {
        for (const n of ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"]) {
            assert.deepEqual(childOptions.get(`ok-join-${n}`)?.ignoreChanges, ["stdin", "triggers[2]"], n);
        }
        assert.deepEqual(childOptions.get("ok-members")?.ignoreChanges, ["triggers[1]"]);
    });
});

describe("SwarmCluster repairs what the observation found", () => {
    const all = ["manager-1", "manager-2", "manager-3", "worker-1", "worker-2"];
    let observation: SwarmObservation;
    before(async () => {
        observation = healthy(all);
        observation.hosts["worker-2"].local = { state: "inactive" };
        observation.hosts["manager-3"].local = { state: "locked" };
        observation.nodes = observation.nodes!.map((n) => (n.hostname === "manager-2" ? { ...n, managerStatus: "" } : n));
        const c = create("fix", hosts(3, 2, "running"), { observation });
        await unwrap(c.ready);
        await settle();
    });

    it("re-runs the join step of a node that left, and of a locked manager, with a fresh repair reason and stdin", () => {
        for (const n of ["worker-2", "manager-3"]) {
            assert.deepEqual(childOptions.get(`fix-join-${n}`)?.ignoreChanges, [], n);
            assert.match(byName(`fix-join-${n}`).inputs.triggers[2], /^repair: /, n);
        }
        assert.match(byName("fix-join-worker-2").inputs.triggers[2], /not in the swarm/);
        assert.match(byName("fix-join-manager-3").inputs.triggers[2], /locked/);
        assert.deepEqual(childOptions.get("fix-join-worker-1")?.ignoreChanges, ["stdin", "triggers[2]"], "a healthy node is left alone");
    });

    it("re-runs the members step for a manager demoted by hand", () => {
        assert.deepEqual(childOptions.get("fix-members")?.ignoreChanges, []);
        assert.match(byName("fix-members").inputs.triggers[1], /manager-2 is a worker: promote it/);
    });
});

describe("SwarmCluster with its first manager lost", () => {
    let cluster: SwarmClusterType;
    before(async () => {
        const observation = healthy(["manager-2", "manager-3", "worker-1"], "manager-2");
        observation.hosts["manager-1"] = { reachable: false, error: "connect ECONNREFUSED" };
        cluster = create("lost", hosts(3, 1, "running"), { observation });
        await unwrap(cluster.ready);
        await settle();
    });

    it("runs the leader-side steps through the first surviving manager, and joins through it first", () => {
        for (const name of ["lost-tokens", "lost-members"]) assert.equal(reveal(byName(name).inputs.connection).host, "203.0.113.12", name);
        assert.match(String(byName("lost-members").inputs.create), /swarmkit_host='manager-2'/);
        assert.match(reveal(byName("lost-join-worker-1").inputs.stdin), /\n10\.0\.0\.12 10\.0\.0\.11 10\.0\.0\.13\n$/);
    });

    it("points DOCKER_HOST and the leader address at the survivor", async () => {
        assert.equal((await unwrap(cluster.dockerHost)).value, "ssh://root@203.0.113.12");
        assert.equal((await unwrap(cluster.leaderAddress)).value, "10.0.0.12");
        assert.equal((await unwrap(cluster.dockerHost)).secret, false);
    });
});

describe("SwarmCluster token rotation and input checks", () => {
    before(async () => {
        const c = create("c5", hosts(5, 3, "new"), { autolock: false, tokenRotation: 2 });
        await unwrap(c.ready);
        await settle();
    });

    it("passes autolock=false and rotates tokens when asked", () => {
        assert.match(String(byName("c5-init-manager-1").inputs.create), /docker swarm init --autolock=false /);
        assert.match(String(byName("c5-members").inputs.create), /docker swarm update --autolock=false/);
        assert.match(String(byName("c5-rotate-tokens").inputs.create), /docker swarm join-token --rotate -q worker >\/dev\/null/);
        assert.deepEqual(byName("c5-rotate-tokens").inputs.triggers, ["cluster-1", 2]);
        assert.equal(byName("c5-rotate-tokens").inputs.update, "true", "a changed operator does not rotate again");
        assert.deepEqual(byName("c5-tokens").inputs.triggers, ["cluster-1", false, 2]);
        assert.deepEqual(dependencies.get("c5-tokens"), ["c5-init-manager-1", "c5-rotate-tokens"]);
        assert.ok(!commandsOf("c3").some((r) => r.name === "c3-rotate-tokens"), "no rotation step without tokenRotation");
    });

    it("refuses a cluster without a manager and duplicate names", () => {
        assert.throws(() => new SwarmCluster("none", withSeams({ hardware: { hosts: hosts(0, 2) }, autolock: true, drainManagers: true }, { observation: undefined })), /no manager/);
        const twice = [...hosts(1, 0), ...hosts(1, 0)];
        assert.throws(() => new SwarmCluster("dup", withSeams({ hardware: { hosts: twice }, autolock: true, drainManagers: true }, { observation: undefined })), /unique/);
    });
});
