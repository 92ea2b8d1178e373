import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dropSwarmStepDeletes } from "../../scripts/migrate";

describe("the state migration for stacks made before 0.2", () => {
    it("drops the stored delete scripts of the swarm's steps, and only those, once", () => {
        const swarm = "urn:pulumi:lab::swarmkit::swarmkit:swarm:SwarmCluster::swarm";
        const resources = [
            { type: "command:remote:Command", parent: swarm, inputs: { create: "join", delete: "leave" }, outputs: { delete: "leave", stdout: "id" } },
            { type: "command:remote:Command", parent: swarm, inputs: { create: "init" }, outputs: {} },
            { type: "command:local:Command", parent: "urn:pulumi:lab::swarmkit::swarmkit:lab:Hosts::lab", inputs: { delete: "host.sh down" }, outputs: { delete: "host.sh down" } },
        ];
        assert.equal(dropSwarmStepDeletes(resources), 2);
        assert.deepEqual(resources[0], { type: "command:remote:Command", parent: swarm, inputs: { create: "join" }, outputs: { stdout: "id" } });
        assert.equal(resources[2].inputs.delete, "host.sh down", "a lab host still goes with its machine");
        assert.equal(dropSwarmStepDeletes(resources), 0, "idempotent");
    });
});
