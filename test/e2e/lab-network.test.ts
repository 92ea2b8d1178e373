/**
 * The lab network (scripts/lab/network.sh) sizes the kernel's one neighbour table for every lab host: 55 lab hosts
 * overflowed the default 1024 entries, and SSH dials and joins timed out. Whatever it raises, the last lab network to
 * go puts back.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, e2eUnavailable, labLeftovers } from "./harness";

const skip = e2eUnavailable();
const NEIGH = "/proc/sys/net/ipv4/neigh/default";
const thresholds = () => [1, 2, 3].map((n) => Number(readFileSync(join(NEIGH, `gc_thresh${n}`), "utf8")));
const network = (...args: string[]) => spawnSync("bash", [join(ROOT, "scripts/lab/network.sh"), ...args], { encoding: "utf8" });
const labBridges = () => readdirSync("/sys/class/net").filter((l) => l.endsWith("-br") && existsSync(join("/sys/class/net", l, "bridge")));

describe("the lab network", { skip }, () => {
    it("raises the neighbour table while a lab network is up, and the last one down puts the values it found back", () => {
        const found = thresholds();
        const othersUp = labBridges();
        try {
            const first = network("up", "neigha", "10.86.0.0/24");
            assert.equal(first.status, 0, first.stderr);
            const raised = thresholds();
            assert.ok(raised[0] >= 8192 && raised[1] >= 32768 && raised[2] >= 65536, `raised to ${raised.join("/")}`);
            const second = network("up", "neighb", "10.90.0.0/24");
            assert.equal(second.status, 0, second.stderr);
            assert.equal(network("down", "neighb").status, 0);
            assert.deepEqual(thresholds(), raised, "a lab network still up keeps them raised");
        } finally {
            network("down", "neighb");
            network("down", "neigha");
        }
        assert.deepEqual(labLeftovers("neigha"), []);
        assert.deepEqual(labLeftovers("neighb"), []);
        if (othersUp.length > 0) {
            // Another lab network was up before this test (a run outside it): the values stay raised for it.
            assert.ok(thresholds()[2] >= 65536, `with ${othersUp.join(", ")} up`);
        } else {
            assert.deepEqual(thresholds(), found, "the values found are back");
            assert.equal(existsSync("/run/swarmkit-lab-neigh"), false, "no saved copy left behind");
        }
    });
});
