import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { renderHostFirewall } from "../../components/firewall/hostFirewall";
import { DOCKER_API_PORTS, portTable } from "../../components/ports";
import { renderCloudInit } from "../../components/hardware/cloudInit";

const args = { nodesCidr: "10.42.0.0/16", adminCidr: "203.0.113.0/24", loadBalancerCidr: "10.42.0.0/16", publishedPorts: [80, 443] };

describe("port table", () => {
    it("holds the swarm ports, ESP, SSH and the published ports, and never Docker's API ports", () => {
        const rows = portTable([80]).map((r) => `${r.protocol}/${r.port ?? "-"}:${r.source}`);
        assert.deepEqual(rows, ["tcp/22:admin", "tcp/2377:nodes", "tcp/7946:nodes", "udp/7946:nodes", "udp/4789:nodes", "esp/-:nodes", "tcp/80:loadBalancer"]);
        for (const port of DOCKER_API_PORTS) assert.ok(!portTable([80]).some((r) => r.port === port));
    });
});

describe("host firewall", () => {
    const script = renderHostFirewall(args);

    it("opens each swarm port from the nodes only, SSH from the admin range, ESP by protocol", () => {
        assert.match(script, /-p tcp --dport 2377 -s 10\.42\.0\.0\/16 .*-j ACCEPT/);
        assert.match(script, /-p tcp --dport 7946 -s 10\.42\.0\.0\/16 /);
        assert.match(script, /-p udp --dport 7946 -s 10\.42\.0\.0\/16 /);
        assert.match(script, /-p udp --dport 4789 -s 10\.42\.0\.0\/16 /);
        assert.match(script, /-p esp -s 10\.42\.0\.0\/16 /);
        assert.match(script, /-p tcp --dport 22 -s 203\.0\.113\.0\/24 /);
    });

    it("drops by default, keeps established traffic and loopback, and never mentions 2375/2376", () => {
        assert.match(script, /ipt -P INPUT DROP/);
        assert.match(script, /-i lo -j ACCEPT/);
        assert.match(script, /ESTABLISHED,RELATED -j ACCEPT/);
        assert.ok(!/2375|2376/.test(script));
        assert.ok(script.indexOf("ipt -P INPUT DROP") > script.indexOf("--dport 22"), "policy DROP only after SSH is allowed");
    });

    it("lets published ports in from the load balancer only", () => {
        assert.match(script, /SWARMKIT-PUBLISHED -p tcp -m conntrack --ctorigdstport 80 --ctdir ORIGINAL ! -s 10\.42\.0\.0\/16 .*-j DROP/);
        assert.match(script, /--ctorigdstport 443 /);
        assert.match(script, /ipt -I DOCKER-USER 1 -j SWARMKIT-PUBLISHED/);
    });

    it("is the firewall cloud-init installs and runs at boot", () => {
        const userData = renderCloudInit({ hostname: "manager-1", firewall: args, user: "ubuntu", sshAuthorizedKeys: ["ssh-ed25519 AAAA test"] });
        assert.match(userData, /^#cloud-config\n/);
        for (const line of script.trimEnd().split("\n")) assert.ok(userData.includes(`      ${line}`), `cloud-init lacks: ${line}`);
        assert.match(userData, /"systemctl", "enable", "swarmkit-firewall.service"/);
        assert.match(userData, /"docker.io"/);
        assert.ok(!/2375|2376|tcp:\/\//.test(userData), "Docker's API stays on its unix socket");
    });
});
