/**
 * The AWS pieces that need no Pulumi engine: the AWS settings of parseConfig, the aws-3/aws-5 stack files, the
 * pure helpers of components/hardware/aws, and the rule that only that folder loads @pulumi/aws.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseConfig } from "../../components/config";
import { checkExistingSubnets, subnetCidrs } from "../../components/hardware/aws/network";
import { placeHosts } from "../../components/hardware/aws/placement";
import { ruleMatch } from "../../components/hardware/aws/securityGroups";
import { portTable } from "../../components/ports";

const yaml = require("js-yaml") as { load(text: string): unknown };
const ROOT = path.resolve(__dirname, "..", "..");

const BASE: Record<string, string> = {
    "swarmkit:provider": "aws",
    "aws:region": "eu-west-1",
    "swarmkit:adminCidr": "203.0.113.0/24",
};

function parse(extra: Record<string, string>) {
    const raw: Record<string, string> = { ...BASE, ...extra };
    return parseConfig((k) => raw[k]);
}

function problems(extra: Record<string, string>): string[] {
    try {
        parse(extra);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    assert.fail(`config ${JSON.stringify(extra)} was accepted`);
}

describe("AWS settings", () => {
    it("defaults: 3 zones, 10.42.0.0/16, t3.small managers, t3.medium workers, 20 GiB root volumes, user ubuntu", () => {
        const config = parse({});
        assert.deepEqual(config.aws, {
            region: "eu-west-1",
            instanceType: { manager: "t3.small", worker: "t3.medium" },
            amiId: undefined,
            vpcCidr: "10.42.0.0/16",
            availabilityZones: 3,
            existingVpc: undefined,
            rootVolumeGiB: 20,
        });
        assert.equal(config.ssh.user, "ubuntu");
    });

    it("refuses fewer than 3 zones, naming the key, the value and what is allowed", () => {
        assert.deepEqual(problems({ "swarmkit:availabilityZones": "2" }), ['swarmkit:availabilityZones = "2" is not allowed: a whole number from 3 to 6']);
    });

    it("refuses a VPC range the kit cannot cut into subnets", () => {
        const [problem] = problems({ "swarmkit:vpcCidr": "10.0.0.0/12" });
        assert.match(problem, /^swarmkit:vpcCidr = "10\.0\.0\.0\/12" is not allowed: a range from \/16 to \/24/);
        assert.deepEqual(problems({ "swarmkit:vpcCidr": "10.0.0.0/26" }).length, 1);
        assert.equal(parse({ "swarmkit:vpcCidr": "10.0.0.0/24" }).aws?.vpcCidr, "10.0.0.0/24");
    });

    it("takes an existing VPC with at least 3 subnets", () => {
        const config = parse({ "swarmkit:vpcId": "vpc-1", "swarmkit:subnetIds": '["subnet-a", "subnet-b", "subnet-c"]' });
        assert.deepEqual(config.aws?.existingVpc, { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b", "subnet-c"] });
        const [problem] = problems({ "swarmkit:vpcId": "vpc-1", "swarmkit:subnetIds": '["subnet-a", "subnet-b"]' });
        assert.match(problem, /^swarmkit:subnetIds = "\[\\"subnet-a\\", \\"subnet-b\\"\]" is not allowed: at least 3 public subnets/);
    });

    it("refuses a root volume below the image's 8 GiB", () => {
        assert.deepEqual(problems({ "swarmkit:diskGiB": "4" }), ['swarmkit:diskGiB = "4" is not allowed: a whole number from 8 to 16384']);
        assert.equal(parse({ "swarmkit:diskGiB": "40" }).aws?.rootVolumeGiB, 40);
    });
});

describe("stacks/Pulumi.aws-3.yaml and Pulumi.aws-5.yaml", () => {
    for (const [stack, managers, workers] of [
        ["aws-3", 3, 3],
        ["aws-5", 5, 3],
    ] as const) {
        it(`${stack}: ${managers} managers, ${workers} workers, eu-west-1, ports 80 and 443, the placeholder admin range`, () => {
            const file = path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`);
            const text = fs.readFileSync(file, "utf8");
            const doc = yaml.load(text) as { config: Record<string, unknown> };
            for (const key of Object.keys(doc.config)) assert.match(key, /^(swarmkit|aws):/, `${key} is in no namespace the kit reads`);
            const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, String(v)]));
            const config = parseConfig((k) => raw[k]);
            assert.equal(config.provider, "aws");
            assert.equal(config.managers, managers);
            assert.equal(config.workers, workers);
            assert.deepEqual(config.publishedPorts, [80, 443]);
            assert.equal(config.adminCidr, "203.0.113.0/24");
            assert.equal(config.aws?.region, "eu-west-1");
            assert.deepEqual(config.aws?.instanceType, { manager: "t3.small", worker: "t3.medium" });
            // Tasks run in every zone: each of the 3 zones gets a worker.
            const workerZones = placeHosts(config.managers, config.workers, config.aws?.availabilityZones ?? 0).filter((p) => p.role === "worker").map((p) => p.zone);
            assert.deepEqual([...new Set(workerZones)].sort(), [0, 1, 2]);
            // The placeholder says it has to be changed.
            assert.match(text, /Placeholder[^\n]*\n[^\n]*pulumi config set swarmkit:adminCidr/);
        });
    }
});

describe("AWS helpers", () => {
    it("cuts one subnet per zone, four bits longer than the VPC", () => {
        assert.deepEqual(subnetCidrs("10.42.0.0/16", 3), ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]);
        assert.deepEqual(subnetCidrs("192.168.4.0/24", 6).at(-1), "192.168.4.80/28");
        assert.throws(() => subnetCidrs("10.0.0.0/26", 3));
    });

    it("places managers and workers round-robin over the zones", () => {
        assert.deepEqual(
            placeHosts(5, 3, 3).map((p) => `${p.name}@${p.zone}`),
            ["manager-1@0", "manager-2@1", "manager-3@2", "manager-4@0", "manager-5@1", "worker-1@0", "worker-2@1", "worker-3@2"],
        );
        assert.deepEqual(placeHosts(7, 0, 4).map((p) => p.zone), [0, 1, 2, 3, 0, 1, 2]);
    });

    it("spells ESP as protocol 50 with no ports, tcp/udp rows with their port", () => {
        const rows = portTable([80]);
        const byName = (name: string) => {
            const row = rows.find((r) => r.name === name);
            assert.ok(row, name);
            return ruleMatch(row);
        };
        // No ports at all for ESP: the provider's 0/0 "ports" for a portless protocol broke later edits of the rule.
        assert.deepEqual(byName("esp"), { ipProtocol: "50" });
        assert.deepEqual(byName("vxlan"), { ipProtocol: "udp", fromPort: 4789, toPort: 4789 });
        assert.deepEqual(byName("published-80"), { ipProtocol: "tcp", fromPort: 80, toPort: 80 });
    });

    it("refuses existing subnets that share a zone or sit in another VPC", () => {
        const ok = [
            { id: "subnet-a", vpcId: "vpc-1", availabilityZone: "eu-west-1a" },
            { id: "subnet-b", vpcId: "vpc-1", availabilityZone: "eu-west-1b" },
            { id: "subnet-c", vpcId: "vpc-1", availabilityZone: "eu-west-1c" },
        ];
        checkExistingSubnets("vpc-1", ok);
        assert.throws(
            () => checkExistingSubnets("vpc-1", [...ok.slice(0, 2), { id: "subnet-d", vpcId: "vpc-1", availabilityZone: "eu-west-1a" }]),
            /the existing subnets are not allowed: subnets subnet-a, subnet-d share the zone eu-west-1a/,
        );
        assert.throws(
            () => checkExistingSubnets("vpc-1", [...ok.slice(0, 2), { id: "subnet-e", vpcId: "vpc-2", availabilityZone: "eu-west-1c" }]),
            /subnet subnet-e is in vpc-2, not in the VPC vpc-1/,
        );
    });
});

describe("the AWS SDK boundary", () => {
    it("only components/hardware/aws imports @pulumi/aws (anything else loads it with await import)", () => {
        const awsDir = path.join(ROOT, "components", "hardware", "aws");
        const offenders: string[] = [];
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) {
                    if (!["node_modules", ".git", "test", "dist"].includes(entry.name) && !entry.name.startsWith(".") && full !== awsDir) walk(full);
                } else if (entry.name.endsWith(".ts")) {
                    const text = fs.readFileSync(full, "utf8");
                    if (/^\s*import\s+(?!type\b)[^;]*from\s+["']@pulumi\/aws["']|^\s*import\s+["']@pulumi\/aws["']|require\(\s*["']@pulumi\/aws["']\s*\)/m.test(text)) {
                        offenders.push(path.relative(ROOT, full));
                    }
                }
            }
        };
        walk(ROOT);
        assert.deepEqual(offenders, []);
    });
});
