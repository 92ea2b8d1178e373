import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
    addOutputFaker,
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
import type { SwarmHost } from "../../components/host";

const TOKENS = { worker: "SWMTKN-1-fakeworker", manager: "SWMTKN-1-fakemanager", unlockKey: "SWMKEY-1-fakeunlock" };

// Remote commands answer like the real scripts would: init prints ids, tokens prints JSON, join a node id.
addOutputFaker((args) => {
    if (args.type !== "command:remote:Command") return undefined;
    const create = String(args.inputs.create ?? "");
    const host = /swarmkit_host='([^']+)'/.exec(create)?.[1] ?? "?";
    if (create.includes("swarmkit_step='init'")) return { stdout: JSON.stringify({ nodeId: `id-${host}`, clusterId: "cluster-1" }) };
    if (create.includes("swarmkit_step='tokens'")) return { stdout: JSON.stringify(TOKENS) };
    if (create.includes("swarmkit_step='join'")) return { stdout: `id-${host}\n` };
    return { stdout: "" };
});

function hosts(managers: number, workers: number): SwarmHost[] {
    const list: SwarmHost[] = [];
    for (let i = 1; i <= managers; i++) list.push(host(`manager-${i}`, "manager", `10.0.0.${10 + i}`));
    for (let i = 1; i <= workers; i++) list.push(host(`worker-${i}`, "worker", `10.0.0.${100 + i}`));
    return list;
}

function host(name: string, role: "manager" | "worker", privateAddress: string): SwarmHost {
    return {
        name,
        role,
        sshAddress: `203.0.113.${privateAddress.split(".")[3]}`,
        privateAddress,
        machineId: `machine-${name}`,
        connection: { host: `203.0.113.${privateAddress.split(".")[3]}`, user: "root", privateKey: pulumi.secret("PRIVATE KEY") },
    };
}

let SwarmCluster: typeof SwarmClusterType;
before(async () => {
    await installMocks();
    ({ SwarmCluster } = await import("../../components/swarm/cluster"));
});

/** Managers the probe reports as lost (their dockerd stopped); never a real SSH connection in unit tests. */
const probed: string[] = [];
function probeExcept(lost: string[]) {
    return async (target: { host: string }) => {
        probed.push(target.host);
        return !lost.includes(target.host);
    };
}

function create(
    name: string,
    managers: number,
    workers: number,
    extra: Partial<{ autolock: boolean; drainManagers: boolean; tokenRotation: number; lost: string[] }> = {},
) {
    return new SwarmCluster(
        name,
        {
            hosts: hosts(managers, workers),
            autolock: extra.autolock ?? true,
            drainManagers: extra.drainManagers ?? true,
            tokenRotation: extra.tokenRotation,
            probe: probeExcept(extra.lost ?? []),
        },
        { transformations: [recordDependencies] },
    );
}

const commandsOf = (prefix: string) => byType("command:remote:Command").filter((r) => r.name.startsWith(`${prefix}-`));

describe("SwarmCluster with 3 managers and 2 workers", () => {
    let cluster: SwarmClusterType;
    before(async () => {
        cluster = create("c3", 3, 2);
        await unwrap(cluster.nodes);
        await unwrap(cluster.ready);
        await settle();
    });

    it("declares one init, one tokens read, a join for every other node, a promote per extra manager, a register per worker", () => {
        const names = commandsOf("c3").map((r) => r.name).sort();
        assert.deepEqual(names, [
            "c3-availability",
            "c3-init-manager-1",
            "c3-join-manager-2",
            "c3-join-manager-3",
            "c3-join-worker-1",
            "c3-join-worker-2",
            "c3-promote-manager-2",
            "c3-promote-manager-3",
            "c3-register-worker-1",
            "c3-register-worker-2",
            "c3-tokens",
        ]);
    });

    it("orders init before tokens before joins, joins before promotes, promotes one at a time, all before availability", () => {
        assert.deepEqual(dependencies.get("c3-tokens"), ["c3-init-manager-1"]);
        for (const n of ["manager-2", "manager-3", "worker-1", "worker-2"]) {
            assert.deepEqual(dependencies.get(`c3-join-${n}`), ["c3-init-manager-1", "c3-tokens"], n);
        }
        assert.deepEqual(dependencies.get("c3-promote-manager-2"), ["c3-join-manager-2", "c3-init-manager-1"]);
        assert.deepEqual(dependencies.get("c3-promote-manager-3"), ["c3-join-manager-3", "c3-promote-manager-2"]);
        assert.deepEqual(dependencies.get("c3-register-worker-1"), ["c3-join-worker-1"]);
        assert.deepEqual((dependencies.get("c3-availability") ?? []).sort(), [
            "c3-init-manager-1",
            "c3-promote-manager-2",
            "c3-promote-manager-3",
            "c3-register-worker-1",
            "c3-register-worker-2",
        ]);
    });

    it("initialises with autolock on the first manager's private address", () => {
        const init = String(byName("c3-init-manager-1").inputs.create);
        assert.match(init, /docker swarm init --autolock=true --advertise-addr '10\.0\.0\.11' --listen-addr '10\.0\.0\.11':2377 >\/dev\/null/);
        assert.equal(reveal(byName("c3-init-manager-1").inputs.connection).host, "203.0.113.11");
    });

    it("joins each node on its own private address through the managers, with the token on stdin only", async () => {
        const join = byName("c3-join-worker-1");
        const script = String(join.inputs.create);
        assert.match(script, /docker swarm join --token "\$token" --advertise-addr '10\.0\.0\.101' "\$remote"/);
        assert.match(script, /ours='10\.0\.0\.11:2377 10\.0\.0\.12:2377 10\.0\.0\.13:2377'/);
        assert.ok(!script.includes(TOKENS.worker), "the token must not be in the script");
        assert.equal(reveal(join.inputs.stdin), TOKENS.worker);
        assert.ok(isSecretValue(join.inputs.stdin), "the token reaches the provider as a secret input");
        const stdin = await unwrap(childProps.get("c3-join-worker-1")?.stdin);
        assert.equal(stdin.secret, true, "stdin carrying the token is secret");
        assert.match(String(join.inputs.delete), /docker swarm leave --force/);
        assert.equal(childOptions.get("c3-join-worker-1")?.deleteBeforeReplace, true);
    });

    it("promotes managers and waits for Reachable; removal demotes then removes the node entry", () => {
        const promote = byName("c3-promote-manager-2");
        assert.match(String(promote.inputs.create), /docker node promote "\$id"/);
        assert.match(String(promote.inputs.create), /ManagerStatus\.Reachability/);
        assert.match(String(promote.inputs.create), /id='id-manager-2'/);
        assert.equal(reveal(promote.inputs.connection).host, "203.0.113.11", "promotes run on the leader");
        const remove = String(promote.inputs.delete);
        assert.ok(remove.indexOf("docker node demote") < remove.indexOf("docker node rm --force"), "demote before rm");
        assert.match(String(byName("c3-register-worker-1").inputs.delete), /docker node rm --force "\$id"/);
    });

    it("drains the managers and keeps the workers active", () => {
        const script = String(byName("c3-availability").inputs.create);
        for (const m of ["manager-1", "manager-2", "manager-3"]) assert.match(script, new RegExp(`docker node update --availability drain 'id-${m}'`));
        for (const w of ["worker-1", "worker-2"]) assert.match(script, new RegExp(`docker node update --availability active 'id-${w}'`));
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

    it("keeps the private key secret in every connection", async () => {
        for (const [name, props] of childProps) {
            if (!name.startsWith("c3-")) continue;
            const key = await unwrap(props.connection.privateKey);
            assert.equal(key.secret, true, name);
        }
    });

    it("exports leader address, nodes and DOCKER_HOST", async () => {
        assert.equal((await unwrap(cluster.leaderAddress)).value, "10.0.0.11");
        assert.equal((await unwrap(cluster.dockerHost)).value, "ssh://root@203.0.113.11");
        const nodes = (await unwrap(cluster.nodes)).value;
        assert.equal(nodes.filter((n) => n.role === "manager").length, 3);
        assert.equal(nodes.filter((n) => n.role === "worker").length, 2);
        assert.deepEqual(nodes[0], { name: "manager-1", role: "manager", nodeId: "id-manager-1", privateAddress: "10.0.0.11", sshAddress: "203.0.113.11" });
    });
});

describe("SwarmCluster with 5 managers", () => {
    before(async () => {
        const cluster = create("c5", 5, 3, { autolock: false, tokenRotation: 2 });
        await unwrap(cluster.ready);
        await settle();
    });

    it("promotes four managers in a chain and registers three workers", () => {
        assert.equal(commandsOf("c5").filter((r) => r.name.includes("-promote-")).length, 4);
        assert.equal(commandsOf("c5").filter((r) => r.name.includes("-register-")).length, 3);
        for (let i = 3; i <= 5; i++) {
            assert.deepEqual(dependencies.get(`c5-promote-manager-${i}`), [`c5-join-manager-${i}`, `c5-promote-manager-${i - 1}`]);
        }
    });

    it("passes autolock=false and rotates tokens when asked", () => {
        assert.match(String(byName("c5-init-manager-1").inputs.create), /docker swarm init --autolock=false /);
        assert.match(String(byName("c5-rotate-tokens").inputs.create), /docker swarm join-token --rotate -q worker >\/dev\/null/);
        assert.match(String(byName("c5-rotate-tokens").inputs.create), /docker swarm join-token --rotate -q manager >\/dev\/null/);
        assert.deepEqual(byName("c5-rotate-tokens").inputs.triggers, ["cluster-1", 2]);
        assert.equal(byName("c5-rotate-tokens").inputs.update, "true", "a changed operator does not rotate again");
        assert.doesNotMatch(String(byName("c5-tokens").inputs.create), /--rotate/);
        assert.deepEqual(byName("c5-tokens").inputs.triggers, ["cluster-1", false, 2]);
        assert.deepEqual(dependencies.get("c5-tokens"), ["c5-init-manager-1", "c5-rotate-tokens"]);
        assert.ok(!commandsOf("c3").some((r) => r.name === "c3-rotate-tokens"), "no rotation step without tokenRotation");
    });
});

describe("SwarmCluster with its first manager lost", () => {
    let cluster: SwarmClusterType;
    before(async () => {
        probed.length = 0;
        cluster = create("lost", 3, 1, { lost: ["203.0.113.11"] });
        await unwrap(cluster.ready);
        await settle();
    });

    it("runs the leader-side steps through the first surviving manager", () => {
        for (const name of ["lost-tokens", "lost-promote-manager-2", "lost-promote-manager-3", "lost-register-worker-1", "lost-availability"]) {
            assert.equal(reveal(byName(name).inputs.connection).host, "203.0.113.12", name);
        }
        assert.match(String(byName("lost-register-worker-1").inputs.create), /swarmkit_host='manager-2'/);
        assert.deepEqual(probed, ["203.0.113.11", "203.0.113.12"], "asks the managers in order and stops at the first that answers");
    });

    it("points DOCKER_HOST and the leader address at the survivor", async () => {
        assert.equal((await unwrap(cluster.dockerHost)).value, "ssh://root@203.0.113.12");
        assert.equal((await unwrap(cluster.leaderAddress)).value, "10.0.0.12");
        assert.equal((await unwrap(cluster.dockerHost)).secret, false);
    });
});

describe("SwarmCluster input checks", () => {
    it("refuses a cluster without a manager and duplicate names", () => {
        assert.throws(() => new SwarmCluster("none", { hosts: hosts(0, 2), autolock: true, drainManagers: true }), /at least one manager/);
        const twice = [...hosts(1, 0), ...hosts(1, 0)];
        assert.throws(() => new SwarmCluster("dup", { hosts: twice, autolock: true, drainManagers: true }), /unique/);
    });
});
