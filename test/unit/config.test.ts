import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../components/config";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample test";
const lab = (extra: Record<string, string> = {}) => ({
    "swarmkit:sshPublicKey": KEY,
    "swarmkit:sshPrivateKey": "-----BEGIN KEY-----",
    ...extra,
});
const parse = (values: Record<string, string>) => parseConfig((k) => values[k]);

function rejects(values: Record<string, string>, pattern: RegExp) {
    assert.throws(
        () => parse(values),
        (err: unknown) => {
            assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
            assert.match(err.message, pattern);
            return true;
        },
    );
}

describe("stack config", () => {
    it("defaults to a lab swarm of 3 managers, autolock on, no drain without workers", () => {
        const c = parse(lab());
        assert.equal(c.provider, "netns");
        assert.equal(c.managers, 3);
        assert.equal(c.workers, 0);
        assert.equal(c.autolock, true);
        assert.equal(c.drainManagers, false);
        assert.deepEqual(c.lab, { name: "swarmkit", subnet: "10.77.0.0/24" });
        assert.equal(c.ssh.user, "root");
    });

    it("counts managers and workers for 3 and 5 managers, draining managers when there are workers", () => {
        for (const [m, w] of [[3, 2], [5, 5]]) {
            const c = parse(lab({ "swarmkit:managers": String(m), "swarmkit:workers": String(w) }));
            assert.equal(c.managers, m);
            assert.equal(c.workers, w);
            assert.equal(c.drainManagers, true);
        }
    });

    it("reads booleans, published ports and rotation", () => {
        const c = parse(lab({ "swarmkit:workers": "2", "swarmkit:drainManagers": "false", "swarmkit:autolock": "false", "swarmkit:publishedPorts": "[80, 443]", "swarmkit:tokenRotation": "2" }));
        assert.equal(c.drainManagers, false);
        assert.equal(c.autolock, false);
        assert.deepEqual(c.publishedPorts, [80, 443]);
        assert.equal(c.tokenRotation, 2);
    });

    it("explains quorum when the manager count is even", () => {
        rejects(lab({ "swarmkit:managers": "4" }), /swarmkit:managers = "4" is not allowed: use 1, 3, 5 or 7\. An even count adds no fault tolerance: raft needs a majority \(quorum\)/);
        rejects(lab({ "swarmkit:managers": "2" }), /2 managers survive the loss of 0/);
    });

    it("rejects zero, negative, huge and non-numeric manager counts", () => {
        for (const bad of ["0", "-1", "9", "three", "3.5"]) rejects(lab({ "swarmkit:managers": bad }), new RegExp(`swarmkit:managers = "${bad.replace(".", "\\.")}" is not allowed: 1, 3, 5 or 7`));
    });

    it("keeps lab workers within the lab's address range", () => {
        assert.equal(parse(lab({ "swarmkit:workers": "70" })).workers, 70);
        rejects(lab({ "swarmkit:workers": "71" }), /swarmkit:workers = "71" is not allowed on lab hosts: at most 70/);
    });

    it("rejects an unknown provider and lists the known ones", () => {
        rejects(lab({ "swarmkit:provider": "gcp" }), /swarmkit:provider = "gcp" is not allowed: unknown provider, use one of aws, digitalocean, multipass, kvm, netns/);
    });

    it("refuses swarmkit:region on AWS, where the provider reads aws:region, and a relative labImages path", () => {
        rejects({ "swarmkit:provider": "aws", "aws:region": "eu-west-1", "swarmkit:region": "us-east-1", "swarmkit:adminCidr": "203.0.113.0/24" }, /swarmkit:region is not used on AWS: set aws:region instead/);
        rejects(lab({ "swarmkit:labImages": "images" }), /swarmkit:labImages = "images" is not allowed: an absolute path/);
        assert.equal(parse(lab({ "swarmkit:labImages": "/srv/images" })).lab?.images, "/srv/images");
        assert.equal(parse(lab({ "swarmkit:machineRevision": "2" })).machineRevision, 2);
        rejects(lab({ "swarmkit:machineRevision": "-1" }), /swarmkit:machineRevision/);
    });

    it("requires a region for the clouds", () => {
        rejects({ "swarmkit:provider": "aws", "swarmkit:adminCidr": "203.0.113.0/24" }, /aws:region is missing: set the AWS region: pulumi config set aws:region/);
        rejects({ "swarmkit:provider": "digitalocean", "swarmkit:adminCidr": "203.0.113.0/24" }, /swarmkit:region is missing: set the DigitalOcean region/);
        assert.equal(parse({ "swarmkit:provider": "aws", "aws:region": "eu-west-1", "swarmkit:adminCidr": "203.0.113.0/24" }).aws?.region, "eu-west-1");
    });

    it("requires the admin range on the clouds and validates every CIDR", () => {
        rejects({ "swarmkit:provider": "aws", "aws:region": "eu-west-1" }, /swarmkit:adminCidr is missing: the range allowed to reach SSH/);
        for (const bad of ["10.0.0.0", "10.0.0.0/33", "300.1.1.1/32", "10.0.0.1/24", "x/8"]) {
            rejects({ "swarmkit:provider": "aws", "aws:region": "eu-west-1", "swarmkit:adminCidr": bad }, /swarmkit:adminCidr = ".*" is not allowed: an IPv4 CIDR/);
        }
        rejects(lab({ "swarmkit:labSubnet": "10.77.0.0/16" }), /the lab takes a \/24/);
    });

    it("requires both halves of a key, or neither", () => {
        rejects({ "swarmkit:provider": "aws", "aws:region": "eu-west-1", "swarmkit:adminCidr": "203.0.113.0/24", "swarmkit:sshPublicKey": KEY }, /swarmkit:sshPrivateKey is missing/);
        rejects({}, /swarmkit:sshPublicKey is missing: local providers take a key made with ssh-keygen/);
        rejects(lab({ "swarmkit:sshPublicKey": "not a key" }), /swarmkit:sshPublicKey is not allowed: an OpenSSH public key line/);
        const generated = parse({ "swarmkit:provider": "aws", "aws:region": "eu-west-1", "swarmkit:adminCidr": "203.0.113.0/24" });
        assert.equal(generated.ssh.publicKey, undefined);
    });

    it("rejects wrong types for every other key", () => {
        rejects(lab({ "swarmkit:workers": "-2" }), /swarmkit:workers = "-2" is not allowed: a whole number from 0 to 500/);
        rejects(lab({ "swarmkit:workers": "many" }), /swarmkit:workers = "many"/);
        rejects(lab({ "swarmkit:autolock": "yes" }), /swarmkit:autolock = "yes" is not allowed: true or false/);
        rejects(lab({ "swarmkit:drainManagers": "1" }), /swarmkit:drainManagers = "1" is not allowed: true or false/);
        rejects(lab({ "swarmkit:drainManagers": "true" }), /with swarmkit:workers = 0: nothing could run any task/);
        rejects(lab({ "swarmkit:publishedPorts": "80" }), /swarmkit:publishedPorts = "80" is not allowed: a JSON list of TCP ports/);
        rejects(lab({ "swarmkit:publishedPorts": "[2377]" }), /swarmkit:publishedPorts = "\[2377\]" is not allowed/);
        rejects(lab({ "swarmkit:publishedPorts": "[80, 80]" }), /each port once/);
        rejects(lab({ "swarmkit:labName": "Bad_Name" }), /swarmkit:labName = "Bad_Name" is not allowed/);
        rejects(lab({ "swarmkit:tokenRotation": "-1" }), /swarmkit:tokenRotation/);
    });

    it("reports every problem at once", () => {
        assert.throws(
            () => parse(lab({ "swarmkit:managers": "4", "swarmkit:workers": "x", "swarmkit:autolock": "maybe" })),
            (err: unknown) => err instanceof ConfigError && err.problems.length === 3,
        );
    });

    it("keeps the private key a secret", async () => {
        const c = parse(lab());
        const pulumi = await import("@pulumi/pulumi");
        assert.equal(await pulumi.isSecret(c.ssh.privateKey!), true);
    });
});
