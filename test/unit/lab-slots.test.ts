/** Where a lab host's machine lives, and where its replacement goes in a roll (pure). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { labAddress, labMachineName, labMachineSpec, labNodesRange, labSlot } from "../../components/hardware/netns";

const lab = { name: "unit", subnet: "10.90.0.0/24" };
const none = () => false;

describe("lab host slots", () => {
    it("gives each host two addresses that no other host has, inside the nodes' range", () => {
        const all = new Set<string>();
        for (const slot of ["a", "b"] as const) {
            for (let i = 1; i <= 7; i++) all.add(labAddress(lab, "manager", i, slot));
            for (let i = 1; i <= 70; i++) all.add(labAddress(lab, "worker", i, slot));
        }
        assert.equal(all.size, 2 * (7 + 70));
        const last = (a: string) => Number(a.split(".")[3]);
        const [low, high] = labNodesRange(lab).split("-").map(last);
        assert.ok([...all].every((a) => last(a) >= low && last(a) <= high));
        assert.equal(labAddress(lab, "manager", 1), "10.90.0.11");
        assert.equal(labAddress(lab, "worker", 1), "10.90.0.101", "the first slot keeps the addresses lab hosts always had");
        assert.equal(labAddress(lab, "manager", 1, "b"), "10.90.0.51");
        assert.equal(labAddress(lab, "worker", 70, "b"), "10.90.0.240");
        assert.deepEqual([labMachineName("worker-3", "a"), labMachineName("worker-3", "b")], ["worker-3", "worker-3-b"]);
    });

    it("keeps a machine where the last deployment put it, and moves a replacement to the other slot", () => {
        assert.equal(labSlot(lab, "manager", 2, "10.90.0.12", false, none), "a");
        assert.equal(labSlot(lab, "manager", 2, "10.90.0.12", true, none), "b");
        assert.equal(labSlot(lab, "manager", 2, "10.90.0.52", false, none), "b");
        assert.equal(labSlot(lab, "manager", 2, "10.90.0.52", true, none), "a");
        // No record (a new stack, or one from before slots): the slot with a machine on disk, else the first.
        assert.equal(labSlot(lab, "worker", 1, undefined, false, none), "a");
        assert.equal(labSlot(lab, "worker", 1, undefined, false, (s) => s === "b"), "b");
    });

    it("makes the machine revision part of a lab host's spec", () => {
        assert.notEqual(labMachineSpec({ machineRevision: 0 }), labMachineSpec({ machineRevision: 1 }));
        assert.equal(labMachineSpec({ machineRevision: 0 }), '{"revision":0}');
    });
});
