import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { firewallRules, renderHostFirewall } from "../../components/firewall/hostFirewall";
import { renderApplyFirewall } from "../../components/firewall/hostFirewalls";
import { DOCKER_API_PORTS, portTable } from "../../components/ports";
import { renderCloudInit } from "../../components/hardware/cloudInit";

const args = { nodes: ["10.42.0.0/16"], admin: ["203.0.113.0/24"], loadBalancer: ["10.42.0.0/16"], publishedPorts: [80, 443] };

describe("port table", () => {
    it("holds the swarm ports, ESP, SSH and the published ports, and never Docker's API ports", () => {
        const rows = portTable([80]).map((r) => `${r.protocol}/${r.port ?? "-"}:${r.source}`);
        assert.deepEqual(rows, ["tcp/22:admin", "tcp/2377:nodes", "tcp/7946:nodes", "udp/7946:nodes", "udp/4789:nodes", "esp/-:nodes", "tcp/80:loadBalancer"]);
        for (const port of DOCKER_API_PORTS) assert.ok(!portTable([80]).some((r) => r.port === port));
    });
});

describe("host firewall", () => {
    const script = renderHostFirewall(args);
    const rules = firewallRules(args);

    it("opens each swarm port from the nodes only, SSH from the admin range, ESP by protocol", () => {
        assert.ok(rules.includes("-A SWARMKIT-INPUT -s 10.42.0.0/16 -j SWARMKIT-NODES"));
        assert.ok(rules.includes("-A SWARMKIT-INPUT -s 203.0.113.0/24 -j SWARMKIT-ADMIN"));
        for (const match of ["-p tcp -m tcp --dport 2377", "-p tcp -m tcp --dport 7946", "-p udp -m udp --dport 7946", "-p udp -m udp --dport 4789", "-p esp"]) {
            assert.ok(rules.some((r) => r.startsWith(`-A SWARMKIT-NODES ${match} `) && r.endsWith("-j ACCEPT")), match);
        }
        assert.ok(rules.some((r) => r.startsWith("-A SWARMKIT-ADMIN -p tcp -m tcp --dport 22 ")));
        assert.ok(!rules.some((r) => r.startsWith("-A SWARMKIT-NODES -p tcp -m tcp --dport 22 ")), "SSH is not a swarm port");
    });

    it("takes address ranges as well as CIDRs", () => {
        const lab = firewallRules({ ...args, nodes: ["10.77.0.11-10.77.0.250"] });
        assert.ok(lab.includes("-A SWARMKIT-INPUT -m iprange --src-range 10.77.0.11-10.77.0.250 -j SWARMKIT-NODES"));
    });

    it("drops by default, keeps established traffic and loopback, and never mentions 2375/2376", () => {
        assert.match(script, /iptables -w -P INPUT DROP/);
        assert.ok(rules.includes("-A SWARMKIT-INPUT -i lo -j ACCEPT"));
        assert.ok(rules.includes("-A SWARMKIT-INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"));
        assert.ok(!/2375|2376/.test(script));
        assert.ok(script.indexOf("iptables -w -P INPUT DROP") > script.indexOf("--dport 22"), "policy DROP only after SSH is allowed");
    });

    it("replaces its chains in one transaction, so a re-run leaves no gap", () => {
        assert.match(script, /iptables-restore -w --noflush <<'SWARMKIT_RULES'\n\*filter\n:SWARMKIT-INPUT - \[0:0\]\n:SWARMKIT-NODES - \[0:0\]\n:SWARMKIT-ADMIN - \[0:0\]\n:SWARMKIT-PUBLISHED - \[0:0\]\n/);
        assert.match(script, /\nCOMMIT\nSWARMKIT_RULES\n/);
        assert.match(script, /iptables -w -C INPUT -j SWARMKIT-INPUT 2>\/dev\/null \|\| iptables -w -I INPUT 1 -j SWARMKIT-INPUT/);
    });

    it("judges only inbound flows DNATed to a published port: a container's own connections out pass", () => {
        const published = rules.filter((r) => r.startsWith("-A SWARMKIT-PUBLISHED "));
        assert.equal(published[0], "-A SWARMKIT-PUBLISHED -m conntrack ! --ctstate DNAT -j RETURN", "not DNATed (a container connecting out to 443): not judged");
        assert.equal(published[1], "-A SWARMKIT-PUBLISHED -m conntrack --ctdir REPLY -j RETURN", "replies pass");
        assert.ok(!published.some((r) => /--ctdir ORIGINAL ! -s/.test(r)), "the old rule, which matched any flow to a published port, is gone");
    });

    it("lets a listed published port in from the load balancer only, an unlisted one from the nodes only", () => {
        const published = rules.filter((r) => r.startsWith("-A SWARMKIT-PUBLISHED "));
        assert.deepEqual(published.slice(2), [
            '-A SWARMKIT-PUBLISHED -p tcp -m conntrack --ctorigdstport 80 -s 10.42.0.0/16 -m comment --comment "published-80" -j RETURN',
            '-A SWARMKIT-PUBLISHED -p tcp -m conntrack --ctorigdstport 80 -m comment --comment "published-80 from elsewhere" -j DROP',
            '-A SWARMKIT-PUBLISHED -p tcp -m conntrack --ctorigdstport 443 -s 10.42.0.0/16 -m comment --comment "published-443" -j RETURN',
            '-A SWARMKIT-PUBLISHED -p tcp -m conntrack --ctorigdstport 443 -m comment --comment "published-443 from elsewhere" -j DROP',
            "-A SWARMKIT-PUBLISHED -s 10.42.0.0/16 -j RETURN",
            '-A SWARMKIT-PUBLISHED -m comment --comment "unlisted published port" -j DROP',
        ]);
        assert.match(script, /iptables -w -I DOCKER-USER 1 -j SWARMKIT-PUBLISHED/);
    });

    it("is applied by the kit over SSH: saved where the boot unit runs it, then run", () => {
        const apply = renderApplyFirewall("worker-1", script);
        assert.match(apply, /swarmkit_step='firewall'/);
        assert.match(apply, /as_root sh -c 'cat >\/etc\/swarmkit\/firewall\.new && chmod 0755 \/etc\/swarmkit\/firewall\.new && mv \/etc\/swarmkit\/firewall\.new \/etc\/swarmkit\/firewall' <<'SWARMKIT_FIREWALL'/);
        assert.ok(apply.includes(script.trimEnd()));
        assert.match(apply, /out=\$\(as_root \/bin\/sh \/etc\/swarmkit\/firewall 2>&1\) \|\| fail "the host firewall did not apply: \$out"/);
    });

    it("is the boot-time copy cloud-init installs and runs at every boot", () => {
        const userData = renderCloudInit({ hostname: "manager-1", firewall: args, user: "ubuntu", sshAuthorizedKeys: ["ssh-ed25519 AAAA test"] });
        assert.match(userData, /^#cloud-config\n/);
        for (const line of script.trimEnd().split("\n")) assert.ok(userData.includes(`      ${line}`), `cloud-init lacks: ${line}`);
        assert.match(userData, /- path: \/etc\/swarmkit\/firewall\n/);
        assert.match(userData, /ExecStart=\/bin\/sh \/etc\/swarmkit\/firewall/);
        assert.match(userData, /"systemctl", "enable", "swarmkit-firewall.service"/);
        assert.match(userData, /"docker.io"/);
        assert.ok(!/2375|2376|tcp:\/\//.test(userData), "Docker's API stays on its unix socket");
    });

    it("gives a VM the kit's own host key and no other key type", () => {
        const userData = renderCloudInit({
            hostname: "manager-1",
            firewall: args,
            user: "ubuntu",
            hostKey: { privateKey: "-----BEGIN FAKE TEST KEY-----\nAAAA\n-----END FAKE TEST KEY-----", publicKey: "ssh-ed25519 AAAAhost" },
        });
        assert.match(userData, /ssh_deletekeys: true\nssh_genkeytypes: \[\]\nssh_keys:\n  ed25519_private: \|\n    -----BEGIN FAKE TEST KEY-----\n    AAAA\n    -----END FAKE TEST KEY-----\n  ed25519_public: "ssh-ed25519 AAAAhost"\n/);
    });
});
