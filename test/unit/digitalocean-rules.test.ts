import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ESP_PROTOCOL_NUMBER, portTable } from "../../components/ports";
import { CLOUD_FIREWALL_PROTOCOLS, expressibleRows, inboundRules } from "../../components/hardware/digitalocean/firewallRules";
import { forwardingRules, healthcheck, wantsLoadBalancer } from "../../components/hardware/digitalocean/loadBalancerRules";
import { clusterTagName, dropletName, roleTagName, slug } from "../../components/hardware/digitalocean/naming";
import { renderReadyCheck } from "../../components/hardware/readiness";
import { isDockerImage } from "../../components/hardware/digitalocean/userData";
import { HOST_FIREWALL_UNIT, renderCloudInit } from "../../components/hardware/cloudInit";
import { INPUT_CHAIN, renderHostFirewall } from "../../components/firewall/hostFirewall";
import type { DigitalOceanSettings } from "../../components/config";

const ROOT = path.join(__dirname, "..", "..");
const settings = (loadBalancer: boolean): DigitalOceanSettings => ({
    region: "fra1",
    size: { manager: "s-1vcpu-2gb", worker: "s-2vcpu-4gb" },
    image: "ubuntu-24-04-x64",
    vpcCidr: "10.43.0.0/20",
    loadBalancer,
    cloudFirewall: true,
});

describe("cloud firewall rules from the port table", () => {
    const table = portTable([80, 443]);
    const sources = { adminCidr: "198.51.100.0/24", clusterTag: "swarmkit-x", loadBalancerUid: "lb-1" };

    it("the port table has an ESP row (IP protocol 50) for the host firewall", () => {
        assert.equal(ESP_PROTOCOL_NUMBER, 50);
        assert.equal(table.filter((r) => r.protocol === "esp").length, 1);
    });

    it("skips the ESP row: a cloud firewall rule can only name tcp, udp or icmp", () => {
        assert.equal(expressibleRows(table).length, table.length - 1);
        assert.ok(expressibleRows(table).every((r) => r.protocol !== "esp"));
        const rules = inboundRules(table, sources);
        assert.equal(rules.length, table.length - 1);
        for (const rule of rules) assert.ok(CLOUD_FIREWALL_PROTOCOLS.includes(rule.protocol as string), `${rule.protocol}`);
    });

    it("turns each other row into one rule with exactly the row's source", () => {
        const rules = inboundRules(table, sources);
        for (const [i, row] of expressibleRows(table).entries()) {
            const rule = rules[i];
            assert.equal(rule.protocol, row.protocol);
            assert.equal(rule.portRange, String(row.port));
            const expected =
                row.source === "admin"
                    ? { sourceAddresses: [sources.adminCidr] }
                    : row.source === "nodes"
                      ? { sourceTags: [sources.clusterTag] }
                      : { sourceLoadBalancerUids: [sources.loadBalancerUid] };
            assert.deepEqual(rule, { protocol: row.protocol, portRange: String(row.port), ...expected });
        }
    });

    it("leaves published ports without a rule when there is no load balancer", () => {
        const rules = inboundRules(table, { adminCidr: sources.adminCidr, clusterTag: sources.clusterTag });
        assert.deepEqual(rules.map((r) => r.portRange), ["22", "2377", "7946", "7946", "4789"]);
    });
});

describe("load balancer rules", () => {
    it("forwards each published port over tcp, checks health on the first", () => {
        assert.deepEqual(forwardingRules([8080, 443]), [
            { entryProtocol: "tcp", entryPort: 8080, targetProtocol: "tcp", targetPort: 8080 },
            { entryProtocol: "tcp", entryPort: 443, targetProtocol: "tcp", targetPort: 443 },
        ]);
        assert.deepEqual(healthcheck([8080, 443]), { protocol: "tcp", port: 8080 });
        assert.throws(() => healthcheck([]), /at least one published port/);
    });

    it("is wanted only when enabled and there are published ports", () => {
        assert.equal(wantsLoadBalancer(settings(true), [80]), true);
        assert.equal(wantsLoadBalancer(settings(true), []), false);
        assert.equal(wantsLoadBalancer(settings(false), [80]), false);
    });
});

describe("DigitalOcean naming and images", () => {
    it("folds stack names into tag-safe names", () => {
        assert.equal(slug("Do.3_test"), "do-3-test");
        assert.equal(slug("..."), "stack");
        assert.equal(clusterTagName("do-3"), "swarmkit-do-3");
        assert.equal(roleTagName("do-3", "worker"), "swarmkit-do-3-worker");
        assert.equal(dropletName("do-5", "manager-2"), "swarmkit-do-5-manager-2");
    });

    it("recognises DigitalOcean's docker images", () => {
        assert.equal(isDockerImage("docker-20-04"), true);
        assert.equal(isDockerImage("ubuntu-24-04-x64"), false);
        assert.equal(isDockerImage("dockerfile-lab"), false);
    });
});

describe("readiness check", () => {
    const script = renderReadyCheck("manager-1", { replaceUfw: true });
    it("waits for cloud-init, accepts its 'recoverable errors' exit code, times out", () => {
        assert.ok(script.includes("timeout 900 cloud-init status --wait"));
        assert.ok(script.includes('[ "$rc" = 0 ] || [ "$rc" = 2 ]'));
    });
    it("turns off ufw (docker images open 2375/2376 with it) and re-runs and checks the host firewall", () => {
        assert.ok(script.includes("ufw --force disable"));
        assert.ok(script.includes("systemctl restart swarmkit-firewall.service"));
        assert.ok(script.includes("iptables -w -C INPUT -j SWARMKIT-INPUT"));
        assert.ok(script.includes('"-P INPUT DROP"'));
    });
    it("fails when anything listens on Docker's remote API ports", () => {
        assert.ok(script.includes("ss -Hltn '( sport = :2375 or sport = :2376 )'"));
    });
    it("checks the unit and chain that cloud-init and the host firewall really install", () => {
        const args = { nodes: ["10.43.0.0/20"], admin: ["0.0.0.0/0"], loadBalancer: ["10.43.0.0/20"], publishedPorts: [] };
        const userData = renderCloudInit({ hostname: "manager-1", user: "root", firewall: args });
        const check = renderReadyCheck("manager-1");
        assert.ok(userData.includes(`/etc/systemd/system/${HOST_FIREWALL_UNIT}`));
        assert.ok(check.includes(`systemctl is-enabled --quiet ${HOST_FIREWALL_UNIT}`));
        assert.ok(renderHostFirewall(args).includes(`iptables -w -I INPUT 1 -j ${INPUT_CHAIN}`));
        assert.ok(check.includes(`iptables -w -C INPUT -j ${INPUT_CHAIN}`));
    });
});

describe("the DigitalOcean SDK is loaded only when used", () => {
    function sources(dir: string): string[] {
        return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sources(full);
            return entry.name.endsWith(".ts") ? [full] : [];
        });
    }

    it("nothing outside components/hardware/digitalocean imports @pulumi/digitalocean at top level", () => {
        const files = [...sources(path.join(ROOT, "components")), path.join(ROOT, "index.ts")].filter(
            (f) => fs.existsSync(f) && !f.startsWith(path.join(ROOT, "components", "hardware", "digitalocean") + path.sep),
        );
        assert.ok(files.length > 5);
        const topLevel = /^\s*(import\s+(?!type\b)[^;]*?from\s*["']@pulumi\/digitalocean["']|import\s*["']@pulumi\/digitalocean["']|.*\brequire\(\s*["']@pulumi\/digitalocean["']\s*\))/m;
        for (const file of files) {
            assert.ok(!topLevel.test(fs.readFileSync(file, "utf8")), `${path.relative(ROOT, file)} imports @pulumi/digitalocean at top level`);
        }
    });

    it("the program's hardware loads the module with a dynamic import", () => {
        const factory = fs.readFileSync(path.join(ROOT, "components/stackHardware.ts"), "utf8");
        assert.ok(factory.includes('await import("./digitalocean")'));
    });
});
