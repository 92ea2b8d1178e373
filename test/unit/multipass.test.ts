/**
 * MultipassHosts under mocks (hosts, commands, cloud-init), and its rendered create/delete scripts run for real
 * under /bin/sh against a scripted stand-in for the multipass CLI.
 */
import { multipassArgs } from "../../components/stackHardware";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { addOutputFaker, childOptions, installMocks, isSecretValue, recordDependencies, resources, reveal, settle, unwrap } from "./mocks";
import { SwarmkitConfig, parseConfig } from "../../components/config";
import { INSTALL_HINT, renderMultipassCreate, renderMultipassDelete } from "../../components/hardware/multipass/script";
import { CLOUD_INIT_ENV, HOST_KEY_PRIVATE_PLACEHOLDER, HOST_KEY_PUBLIC_PLACEHOLDER, NODES_CIDR_PLACEHOLDER, parseVmOutput } from "../../components/hardware/multipass/localVm";
import { retryWaitSeconds } from "../../components/ssh/dialPolicy";
import type { MultipassHosts as MultipassHostsType } from "../../components/hardware/multipass";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestKeyNotARealOne swarmkit@unit";
const PRIVATE_KEY = "-----BEGIN FAKE TEST KEY-----\nnot-a-real-key\n-----END FAKE TEST KEY-----";

function configOf(values: Record<string, string> = {}): SwarmkitConfig {
    const all: Record<string, string> = {
        "swarmkit:provider": "multipass",
        "swarmkit:managers": "3",
        "swarmkit:workers": "2",
        "swarmkit:publishedPorts": "[8080]",
        "swarmkit:adminCidr": "192.168.1.0/24",
        "swarmkit:sshPublicKey": PUBLIC_KEY,
        "swarmkit:sshPrivateKey": PRIVATE_KEY,
        ...values,
    };
    return parseConfig((key) => all[key]);
}

// Each VM's create script answers with an address from the range, and an id.
let vmCount = 0;
addOutputFaker((args) => {
    if (args.type !== "command:local:Command" || !args.name.startsWith("mp")) return undefined;
    vmCount++;
    return { stdout: JSON.stringify({ address: `10.80.5.${10 + vmCount}`, id: `machine-${args.name}`, hostKey: `ssh-ed25519 AAAAhost${vmCount}`, nodesCidr: "10.80.5.0/24" }) + "\n" };
});

let MultipassHosts: typeof MultipassHostsType;
before(async () => {
    await installMocks();
    ({ MultipassHosts } = await import("../../components/hardware/multipass"));
});

describe("MultipassHosts with 3 managers and 2 workers", () => {
    let component: MultipassHostsType;
    const commands = () => resources.filter((r) => r.type === "command:local:Command" && r.name.startsWith("mp-"));
    before(async () => {
        const config = configOf({ "swarmkit:nodesCidr": "10.80.5.0/24" });
        component = new MultipassHosts(
            "mp",
            multipassArgs(config, { publicKey: PUBLIC_KEY, privateKey: config.ssh.privateKey as pulumi.Output<string> }),
            { transformations: [recordDependencies] },
        );
        for (const host of component.hosts) await unwrap(host.machineId);
        await settle();
    });

    it("declares one local command per VM, in host order, replaced by delete-then-create", () => {
        assert.deepEqual(
            commands().map((r) => r.name),
            ["mp-manager-1", "mp-manager-2", "mp-manager-3", "mp-worker-1", "mp-worker-2"],
        );
        for (const r of commands()) assert.equal(childOptions.get(r.name)?.deleteBeforeReplace, true, r.name);
    });

    it("names each VM <stack>-<host> and renders the create and delete scripts", () => {
        const c = commands().find((r) => r.name === "mp-worker-2")!;
        assert.match(c.inputs.create, /^name='unit-worker-2'$/m);
        assert.match(c.inputs.create, /multipass launch --name "\$name" --cpus '2' --memory '2G' --disk '10G' --cloud-init "\$user_data" '24.04'/);
        assert.match(c.inputs.create, /if multipass info "\$name" >\/dev\/null 2>&1; then/);
        assert.match(c.inputs.delete, /^name='unit-worker-2'$/m);
        assert.match(c.inputs.delete, /multipass delete --purge "\$name"/);
        assert.ok(!c.inputs.create.includes(PUBLIC_KEY), "the cloud-init is not on the command line");
    });

    it("passes a cloud-init with Docker, the stack's key and the host firewall through the environment", () => {
        const c = commands().find((r) => r.name === "mp-manager-1")!;
        const userData: string = reveal(c.inputs.environment)[CLOUD_INIT_ENV];
        assert.match(userData, /^#cloud-config\n/);
        assert.match(userData, /^hostname: "manager-1"$/m);
        assert.match(userData, /"docker\.io"/);
        assert.match(userData, /- name: "ubuntu"/);
        assert.ok(userData.includes(`- ${JSON.stringify(PUBLIC_KEY)}`), "the stack's key is authorised");
        // The boot-time copy: swarm ports and SSH from the VM network only, nothing published. adminCidr and the
        // published ports come with the kit's firewall step, so changing them never touches the VM itself.
        assert.ok(userData.includes("-A SWARMKIT-INPUT -s 10.80.5.0/24 -j SWARMKIT-NODES"));
        assert.ok(userData.includes("-A SWARMKIT-INPUT -s 10.80.5.0/24 -j SWARMKIT-ADMIN"));
        assert.ok(!userData.includes("192.168.1.0/24") && !userData.includes("--ctorigdstport 8080"));
        assert.ok(!userData.includes(NODES_CIDR_PLACEHOLDER));
    });

    it("applies adminCidr and the published ports with the kit's firewall step", async () => {
        assert.deepEqual((await unwrap(component.firewall)).value, { nodes: ["10.80.5.0/24"], admin: ["192.168.1.0/24"], loadBalancer: ["10.80.5.0/24"], publishedPorts: [8080] });
    });

    it("gives the swarm each VM's address, id and an SSH connection as ubuntu with the secret key", async () => {
        assert.deepEqual(
            component.hosts.map((h) => [h.name, h.role]),
            [["manager-1", "manager"], ["manager-2", "manager"], ["manager-3", "manager"], ["worker-1", "worker"], ["worker-2", "worker"]],
        );
        for (const h of component.hosts) {
            const ssh = (await unwrap(h.sshAddress)).value;
            assert.match(ssh, /^10\.80\.5\.\d+$/);
            assert.equal((await unwrap(h.privateAddress)).value, ssh);
            assert.equal((await unwrap(h.connection.host)).value, ssh);
            assert.equal((await unwrap(h.machineId)).value, `machine-mp-${h.name}`);
            assert.equal(h.connection.user, "ubuntu");
            const key = await unwrap(h.connection.privateKey);
            assert.equal(key.secret, true);
            assert.equal(key.value, PRIVATE_KEY);
            assert.match((await unwrap(h.connection.hostKey)).value, /^ssh-ed25519 AAAAhost\d+$/, "the key its create script printed is pinned");
            // The readiness check is patient with a booting VM; the steps after it expect an answer.
            const ready = resources.find((r) => r.name === `mp-${h.name}-ready`)!;
            assert.ok(retryWaitSeconds(reveal(ready.inputs.connection).dialErrorLimit) >= 120, "tolerates a slow boot");
            assert.ok(retryWaitSeconds(Number(h.connection.dialErrorLimit)) < 10, "a VM that is down fails fast");
        }
        assert.equal(new Set(await Promise.all(component.hosts.map(async (h) => (await unwrap(h.sshAddress)).value))).size, 5);
    });

    it("leaves the range to the script when nodesCidr is not configured", async () => {
        const config = configOf({ "swarmkit:managers": "1", "swarmkit:workers": "0" });
        const c = new MultipassHosts("mpauto", multipassArgs(config, { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY }));
        await unwrap(c.hosts[0].machineId);
        await settle();
        const r = resources.find((x) => x.name === "mpauto-manager-1")!;
        assert.ok(reveal(r.inputs.environment)[CLOUD_INIT_ENV].includes(`-s ${NODES_CIDR_PLACEHOLDER}`));
        assert.ok(!isSecretValue(r.inputs.create));
    });
});

describe("parseVmOutput", () => {
    it("reads the JSON line and rejects anything else", () => {
        const line = '{"address":"10.1.2.3","id":"abc","hostKey":"ssh-ed25519 AAAAk","nodesCidr":"10.1.2.0/24"}\n';
        assert.deepEqual(parseVmOutput(line), { address: "10.1.2.3", id: "abc", hostKey: "ssh-ed25519 AAAAk", nodesCidr: "10.1.2.0/24" });
        assert.throws(() => parseVmOutput("Launched: x\n"), /not \{"address"/);
        assert.throws(() => parseVmOutput('{"address":"10.1.2.3","id":"abc"}'), /not \{"address"/);
    });
});

const FAKE_MULTIPASS = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
info)
  [ -f "$FAKE_DIR/exists" ] || { echo "info failed: instance \\"$2\\" does not exist" >&2; exit 2; }
  if [ "\${3:-}" = --format ]; then printf '{"errors":[],"info":{"%s":{"ipv4":["%s"],"state":"%s"}}}\\n' "$2" "\${FAKE_IP:-10.80.5.11}" "\${FAKE_STATE:-Running}"; else echo "Name: $2"; fi
  ;;
start) : ;;
launch)
  if [ -n "\${FAKE_LAUNCH_ERROR:-}" ]; then echo "$FAKE_LAUNCH_ERROR" >&2; exit 2; fi
  while [ $# -gt 0 ]; do [ "$1" = --cloud-init ] && cp "$2" "$FAKE_DIR/user-data"; shift; done
  touch "$FAKE_DIR/exists"; echo "Launched: vm"
  ;;
exec) case "$*" in *ssh_host_ed25519_key.pub*) echo "ssh-ed25519 AAAAfromvm root@vm" ;; *) echo 0123456789abcdef ;; esac ;;
delete) rm -f "$FAKE_DIR/exists" ;;
esac
`;
const FAKE_IP = `#!/bin/sh
echo "7: mpqemubr0    inet 10.99.3.1/24 brd 10.99.3.255 scope global mpqemubr0\\       valid_lft forever preferred_lft forever"
`;

let bin: string;
let emptyBin: string;
before(() => {
    bin = mkdtempSync(join(tmpdir(), "swarmkit-fake-multipass-"));
    emptyBin = mkdtempSync(join(tmpdir(), "swarmkit-fake-none-"));
    writeFileSync(join(bin, "multipass"), FAKE_MULTIPASS);
    writeFileSync(join(bin, "ip"), FAKE_IP);
    chmodSync(join(bin, "multipass"), 0o755);
    chmodSync(join(bin, "ip"), 0o755);
});

const SETTINGS = { image: "24.04", cpus: 2, memory: "2G", disk: "10G", nodesCidr: "10.80.5.0/24" };
const USER_DATA = `#cloud-config\nssh_keys:\n  ed25519_private: |\n    ${HOST_KEY_PRIVATE_PLACEHOLDER}\n  ed25519_public: "${HOST_KEY_PUBLIC_PLACEHOLDER}"\nruncmd:\n  - ["iptables", "-s", "${NODES_CIDR_PLACEHOLDER}"]\n`;

function run(script: string, opts: { exists?: boolean; env?: Record<string, string>; path?: string } = {}) {
    const dir = mkdtempSync(join(tmpdir(), "swarmkit-mp-run-"));
    const log = join(dir, "log");
    writeFileSync(log, "");
    if (opts.exists) writeFileSync(join(dir, "exists"), "");
    const result = spawnSync("/bin/sh", ["-c", script], {
        encoding: "utf8",
        env: {
            PATH: `${opts.path ?? bin}:/usr/bin:/bin`,
            HOME: dir,
            FAKE_LOG: log,
            FAKE_DIR: dir,
            [CLOUD_INIT_ENV]: USER_DATA,
            ...opts.env,
        },
    });
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    return { ...result, calls, dir };
}

describe("the multipass create script", () => {
    const script = renderMultipassCreate({ name: "lab-manager-1", settings: SETTINGS });

    it("launches the VM with the settings and the cloud-init from the environment, and prints only the JSON line", () => {
        const r = run(script);
        assert.equal(r.status, 0, r.stderr);
        const launch = r.calls.find((c) => c.startsWith("launch "));
        assert.match(launch ?? "", /^launch --name lab-manager-1 --cpus 2 --memory 2G --disk 10G --cloud-init \S+\/swarmkit-cloud-init-\w+ 24\.04$/);
        const out = JSON.parse(r.stdout);
        assert.deepEqual({ ...out, hostKey: "-" }, { address: "10.80.5.11", id: "0123456789abcdef", hostKey: "-", nodesCidr: "10.80.5.0/24" });
        assert.match(out.hostKey, /^ssh-ed25519 AAAA\S+$/);
        assert.ok(r.calls.includes("info lab-manager-1 --format json"));
        assert.ok(r.calls.includes("exec lab-manager-1 -- cat /etc/machine-id"));
        const userData = readFileSync(join(r.dir, "user-data"), "utf8");
        assert.ok(userData.includes('["iptables", "-s", "10.80.5.0/24"]'));
        assert.ok(userData.includes(`ed25519_public: "${out.hostKey}"`), "the VM gets the key that is pinned");
        assert.match(userData, /    -----BEGIN [A-Z]+ PRIVATE KEY-----\n/);
        assert.ok(!existsSync(launch!.split(" ")[9]), "the temporary cloud-init file is removed");
        assert.match(r.stderr, /Launched: vm/);
    });

    it("does not launch a VM that multipass already knows, and keeps the host key it printed when it made it", () => {
        const previous = JSON.stringify({ address: "10.80.5.11", id: "x", hostKey: "ssh-ed25519 AAAAfirst", nodesCidr: "10.80.5.0/24" });
        const r = run(script, { exists: true, env: { PULUMI_COMMAND_STDOUT: previous } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.calls.filter((c) => c.startsWith("launch") || c.startsWith("start")).length, 0);
        assert.match(r.stderr, /exists, not launching it again/);
        assert.equal(JSON.parse(r.stdout).address, "10.80.5.11");
        assert.equal(JSON.parse(r.stdout).hostKey, "ssh-ed25519 AAAAfirst");
    });

    it("starts a stopped VM (a workstation reboot), and pins the key a VM made elsewhere has", () => {
        const r = run(script, { exists: true, env: { FAKE_STATE: "Stopped" } });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.calls.includes("start lab-manager-1"));
        assert.equal(JSON.parse(r.stdout).hostKey, "ssh-ed25519 AAAAfromvm");
    });

    it("fills in the range of multipass's bridge when nodesCidr is not configured", () => {
        const r = run(renderMultipassCreate({ name: "lab-manager-1", settings: { ...SETTINGS, nodesCidr: undefined } }), { env: { FAKE_IP: "10.99.3.7" } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(readFileSync(join(r.dir, "user-data"), "utf8"), /"-s", "10\.99\.3\.0\/24"/);
    });

    it("refuses an address outside the nodes range", () => {
        const r = run(script, { env: { FAKE_IP: "192.168.64.5" } });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /got address 192\.168\.64\.5 outside the nodes range 10\.80\.5\.0\/24/);
        assert.equal(r.stdout, "");
    });

    it("says how to install multipass when it is missing", () => {
        const r = run(script, { path: emptyBin });
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`multipass is not installed: ${INSTALL_HINT.replace(/\./g, "\\.")}`));
        assert.equal(r.stdout, "");
    });

    for (const message of [
        "launch failed: KVM is not available on this host",
        "launch failed: CPU does not support virtualization",
        "Could not open '/dev/kvm': No such file or directory",
    ]) {
        it(`says how to enable KVM when launch fails with "${message}"`, () => {
            const r = run(script, { env: { FAKE_LAUNCH_ERROR: message } });
            assert.equal(r.status, 1);
            assert.ok(r.stderr.includes(message), "multipass's own message is shown");
            assert.match(r.stderr, /hardware virtualization \(KVM\) is not available: enable VT-x\/AMD-V .*modprobe kvm_intel/);
            assert.equal(r.stdout, "");
        });
    }

    it("reports any other launch failure as such", () => {
        const r = run(script, { env: { FAKE_LAUNCH_ERROR: "launch failed: image not found" } });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /multipass launch failed/);
        assert.doesNotMatch(r.stderr, /KVM/);
    });
});

describe("the multipass delete script", () => {
    const script = renderMultipassDelete("lab-worker-1");
    it("deletes and purges an existing VM", () => {
        const r = run(script, { exists: true });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, ["info lab-worker-1", "delete --purge lab-worker-1"]);
    });
    it("tolerates a VM that is already gone, or no multipass at all", () => {
        const gone = run(script);
        assert.equal(gone.status, 0, gone.stderr);
        assert.deepEqual(gone.calls, ["info lab-worker-1"]);
        assert.equal(run(script, { path: emptyBin }).status, 0);
    });
});
