/**
 * KvmHosts under mocks, and its rendered create/delete scripts run for real under /bin/sh against scripted
 * stand-ins for virsh, virt-install and qemu-img.
 */
import { kvmArgs } from "../../components/stackHardware";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { addOutputFaker, childOptions, installMocks, recordDependencies, resources, reveal, settle, unwrap } from "./mocks";
import { KvmSettings, SwarmkitConfig, parseConfig } from "../../components/config";
import { renderKvmCreate, renderKvmDelete } from "../../components/hardware/kvm/script";
import { CLOUD_INIT_ENV, HOST_KEY_PRIVATE_PLACEHOLDER, HOST_KEY_PUBLIC_PLACEHOLDER, NODES_CIDR_PLACEHOLDER } from "../../components/hardware/multipass/localVm";
import type { KvmHosts as KvmHostsType } from "../../components/hardware/kvm";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestKeyNotARealOne swarmkit@unit";
const PRIVATE_KEY = "-----BEGIN FAKE TEST KEY-----\nnot-a-real-key\n-----END FAKE TEST KEY-----";

function configOf(values: Record<string, string> = {}): SwarmkitConfig {
    const all: Record<string, string> = {
        "swarmkit:provider": "kvm",
        "swarmkit:managers": "3",
        "swarmkit:workers": "2",
        "swarmkit:image": "/var/lib/libvirt/images/noble.img",
        "swarmkit:nodesCidr": "192.168.122.0/24",
        "swarmkit:sshPublicKey": PUBLIC_KEY,
        "swarmkit:sshPrivateKey": PRIVATE_KEY,
        ...values,
    };
    return parseConfig((key) => all[key]);
}

let vmCount = 0;
addOutputFaker((args) => {
    if (args.type !== "command:local:Command" || !/^kvm(img)?-/.test(args.name)) return undefined;
    vmCount++;
    return {
        stdout: JSON.stringify({ address: `192.168.122.${10 + vmCount}`, id: `uuid-${args.name}`, hostKey: `ssh-ed25519 AAAAhost${vmCount}`, nodesCidr: "192.168.122.0/24" }) + "\n",
    };
});

let KvmHosts: typeof KvmHostsType;
before(async () => {
    await installMocks();
    ({ KvmHosts } = await import("../../components/hardware/kvm"));
});

describe("config", () => {
    it("needs the image and defaults the rest", () => {
        assert.throws(() => configOf({ "swarmkit:image": "" }), /swarmkit:image is missing/);
        const kvm = configOf({ "swarmkit:nodesCidr": "" }).kvm!;
        assert.deepEqual(
            { ...kvm, image: undefined },
            {
                image: undefined,
                network: "default",
                vcpus: 2,
                memoryMiB: 2048,
                diskGiB: 10,
                osVariant: "ubuntu22.04",
                nodesCidr: undefined,
                uri: "qemu:///system",
                diskDir: "/var/lib/libvirt/images",
                virtType: "kvm",
                kernel: undefined,
                initrd: undefined,
                kernelArgs: undefined,
                imageHasDocker: false,
            },
        );
        assert.throws(() => configOf({ "swarmkit:nodesCidr": "192.168.122.1/24" }), /swarmkit:nodesCidr/);
    });

    it("takes the virtualisation type, direct kernel boot and an image with Docker, and refuses what cannot work", () => {
        const kvm = configOf({ "swarmkit:virtType": "qemu", "swarmkit:kernel": "/img/vmlinuz", "swarmkit:initrd": "/img/initrd.img", "swarmkit:kernelArgs": "root=LABEL=vmroot rw", "swarmkit:imageHasDocker": "true" }).kvm!;
        assert.deepEqual([kvm.virtType, kvm.kernel, kvm.initrd, kvm.kernelArgs, kvm.imageHasDocker], ["qemu", "/img/vmlinuz", "/img/initrd.img", "root=LABEL=vmroot rw", true]);
        assert.throws(() => configOf({ "swarmkit:virtType": "xen" }), /swarmkit:virtType = "xen" is not allowed: one of kvm, qemu, auto/);
        assert.throws(() => configOf({ "swarmkit:initrd": "/img/initrd.img" }), /swarmkit:initrd is set without swarmkit:kernel/);
        assert.throws(() => configOf({ "swarmkit:kernel": "vmlinuz" }), /swarmkit:kernel = "vmlinuz" is not allowed: an absolute path/);
        assert.throws(() => configOf({ "swarmkit:imageHasDocker": "true", "swarmkit:dockerVersion": "26.1.*" }), /swarmkit:imageHasDocker = true: the image's own Docker is used/);
    });
});

describe("KvmHosts on an image with Docker, booted by its kernel", () => {
    it("renders cloud-init that installs nothing, and puts the boot settings into the machine spec", async () => {
        const before = resources.length;
        const config = configOf({ "swarmkit:managers": "1", "swarmkit:workers": "0", "swarmkit:kernel": "/img/vmlinuz", "swarmkit:virtType": "auto", "swarmkit:imageHasDocker": "true" });
        const hw = new KvmHosts("kvmimg", kvmArgs(config, { publicKey: PUBLIC_KEY, privateKey: config.ssh.privateKey as pulumi.Output<string> }), { transformations: [recordDependencies] });
        await unwrap(hw.hosts[0].machineId);
        await settle();
        const vm = resources.slice(before).find((r) => r.type === "command:local:Command" && r.name === "kvmimg-manager-1")!;
        const userData: string = reveal(vm.inputs.environment)[CLOUD_INIT_ENV];
        assert.ok(userData.startsWith("#cloud-config\n"));
        assert.doesNotMatch(userData, /package_update|packages:/, "nothing to fetch from a package mirror");
        assert.match(userData, /systemctl", "enable", "--now", "docker"/, "the image's Docker is still enabled");
        const spec = JSON.parse(childOptions.get("kvmimg-manager-1")!.replacementTrigger as string);
        assert.equal(spec.kernel, "/img/vmlinuz");
        assert.equal(spec.virtType, "auto");
        assert.equal(spec.imageHasDocker, true);
    });
});

describe("KvmHosts with 3 managers and 2 workers", () => {
    let component: KvmHostsType;
    const commands = () => resources.filter((r) => r.type === "command:local:Command" && r.name.startsWith("kvm-"));
    before(async () => {
        const config = configOf();
        component = new KvmHosts(
            "kvm",
            kvmArgs(config, { publicKey: PUBLIC_KEY, privateKey: config.ssh.privateKey as pulumi.Output<string> }),
            { transformations: [recordDependencies] },
        );
        for (const host of component.hosts) await unwrap(host.machineId);
        await settle();
    });

    it("declares one local command per VM, in host order, replaced by delete-then-create", () => {
        assert.deepEqual(
            commands().map((r) => r.name),
            ["kvm-manager-1", "kvm-manager-2", "kvm-manager-3", "kvm-worker-1", "kvm-worker-2"],
        );
        for (const r of commands()) assert.equal(childOptions.get(r.name)?.deleteBeforeReplace, true, r.name);
    });

    it("renders virt-install, the overlay disk, the idempotence guard and the delete", () => {
        const c = commands().find((r) => r.name === "kvm-manager-2")!;
        assert.match(c.inputs.create, /^name='unit-manager-2'$/m);
        assert.match(c.inputs.create, /qemu-img create -f qcow2 -F qcow2 -b "\$image" "\$disk" '10G'/);
        assert.match(c.inputs.create, /^ {4}disk='\/var\/lib\/libvirt\/images\/unit-manager-2\.qcow2'$/m);
        assert.match(
            c.inputs.create,
            /virt-install --import --virt-type "\$1" --name "\$name" --memory '2048' --vcpus '2' --disk "path=\$disk,format=qcow2" --disk "path=\$seed,device=cdrom" --network "network=\$network" --os-variant 'ubuntu22\.04' --graphics none --sound none --noautoconsole/,
        );
        assert.match(c.inputs.create, /if virsh dominfo "\$name" >\/dev\/null 2>&1; then/);
        assert.match(c.inputs.delete, /virsh destroy "\$name" >\/dev\/null 2>&1 \|\| true\n\s+virsh undefine --remove-all-storage "\$name"/);
        const userData: string = reveal(c.inputs.environment)[CLOUD_INIT_ENV];
        assert.match(userData, /"docker\.io"/);
        assert.ok(userData.includes(JSON.stringify(PUBLIC_KEY)));
        assert.ok(userData.includes("-A SWARMKIT-INPUT -s 192.168.122.0/24 -j SWARMKIT-NODES"), "boot-time firewall: nodes are the VM network");
        assert.ok(userData.includes(`ed25519_public: "${HOST_KEY_PUBLIC_PLACEHOLDER}"`), "the create script puts in the VM's own host key");
    });

    it("keeps the machine spec of a VM made before virtType, direct kernel boot and imageHasDocker existed", () => {
        const spec = JSON.parse(childOptions.get("kvm-worker-1")!.replacementTrigger as string);
        assert.deepEqual(Object.keys(spec).sort(), ["diskGiB", "image", "memoryMiB", "network", "osVariant", "revision", "user", "vcpus"]);
    });

    it("applies adminCidr and the published ports with the kit's firewall step, the VM network standing in for the load balancer", async () => {
        assert.deepEqual((await unwrap(component.firewall)).value, {
            nodes: ["192.168.122.0/24"],
            admin: ["0.0.0.0/0"],
            loadBalancer: ["192.168.122.0/24"],
            publishedPorts: [],
        });
    });

    it("gives the swarm each VM's address and UUID, over SSH as ubuntu", async () => {
        assert.deepEqual(component.hosts.map((h) => h.role), ["manager", "manager", "manager", "worker", "worker"]);
        for (const h of component.hosts) {
            const address = (await unwrap(h.sshAddress)).value;
            assert.match(address, /^192\.168\.122\.\d+$/);
            assert.equal((await unwrap(h.privateAddress)).value, address);
            assert.equal((await unwrap(h.machineId)).value, `uuid-kvm-${h.name}`);
            assert.equal(h.connection.user, "ubuntu");
            assert.equal((await unwrap(h.connection.privateKey)).secret, true);
            assert.match((await unwrap(h.connection.hostKey)).value, /^ssh-ed25519 AAAAhost\d+$/, "the key its create script printed is pinned");
        }
    });
});

const FAKE_VIRSH = `#!/bin/sh
echo "virsh $*" >> "$FAKE_LOG"
case "$1" in
dominfo) [ -f "$FAKE_DIR/defined" ] || { echo "error: failed to get domain '$2'" >&2; exit 1; }; echo "Name: $2" ;;
domifaddr)
  n=$(cat "$FAKE_DIR/polls" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/polls"
  echo " Name       MAC address          Protocol     Address"
  echo "-------------------------------------------------------"
  [ "$n" -ge "\${FAKE_ADDRESS_AFTER:-1}" ] && echo " vnet0      52:54:00:12:34:56    ipv4         \${FAKE_IP:-192.168.122.45}/24"
  exit 0 ;;
domcapabilities) [ -z "\${FAKE_NO_KVM_DOMAINS:-}" ] || { echo "error: invalid argument: KVM is not supported on this host" >&2; exit 1; }; echo "<domainCapabilities/>" ;;
domuuid) echo "6f1e0c9a-1111-2222-3333-444455556666" ;;
domstate) echo "\${FAKE_DOMSTATE:-running}" ;;
start) : ;;
net-dumpxml) echo "<network><name>$2</name><ip address='192.168.150.1' netmask='255.255.255.0'><dhcp/></ip></network>" ;;
destroy) [ -f "$FAKE_DIR/running" ] || { echo "error: domain is not running" >&2; exit 1; }; rm -f "$FAKE_DIR/running" ;;
undefine) rm -f "$FAKE_DIR/defined" ;;
esac
`;
const FAKE_VIRT_INSTALL = `#!/bin/sh
echo "virt-install $*" >> "$FAKE_LOG"
if [ -n "\${FAKE_INSTALL_ERROR:-}" ]; then echo "$FAKE_INSTALL_ERROR" >&2; exit 1; fi
case " $* " in *" --virt-type kvm "*) if [ -n "\${FAKE_KVM_BROKEN:-}" ]; then touch "$FAKE_DIR/defined"; echo "ERROR    internal error: process exited while connecting to monitor: failed to initialize kvm: Permission denied" >&2; exit 1; fi ;; esac
touch "$FAKE_DIR/defined" "$FAKE_DIR/running"
`;
// Stands in for the ISO tool: keeps the seed's user-data for the test to read.
const FAKE_XORRISOFS = `#!/bin/sh
echo "xorrisofs $*" >> "$FAKE_LOG"
out=""; prev=""
for a; do
  case "$a" in */user-data) cp "$a" "$FAKE_DIR/user-data" ;; */meta-data) cp "$a" "$FAKE_DIR/meta-data" ;; esac
  [ "$prev" = "-o" ] && out=$a; prev=$a
done
echo iso > "$FAKE_DIR/seed.iso"
`;
const FAKE_QEMU_IMG = `#!/bin/sh
echo "qemu-img $*" >> "$FAKE_LOG"
`;
// Stands in for a scan of the guest's key: no test ever sends anything to the address it is given.
const FAKE_KEYSCAN = `#!/bin/sh
echo "ssh-keyscan $*" >> "$FAKE_LOG"
for a; do host=$a; done
echo "$host ssh-ed25519 AAAAscanned"
`;

let bin: string;
let noVirsh: string;
before(() => {
    bin = mkdtempSync(join(tmpdir(), "swarmkit-fake-kvm-"));
    noVirsh = mkdtempSync(join(tmpdir(), "swarmkit-fake-kvm-novirsh-"));
    // No virsh at all, even where libvirt is installed: every other tool of the machine, virsh left out.
    for (const dir of ["/usr/bin", "/bin"]) {
        for (const tool of readdirSync(dir)) {
            if (tool !== "virsh" && !existsSync(join(noVirsh, tool))) symlinkSync(join(dir, tool), join(noVirsh, tool));
        }
    }
    for (const [name, text] of [["virsh", FAKE_VIRSH], ["virt-install", FAKE_VIRT_INSTALL], ["qemu-img", FAKE_QEMU_IMG], ["xorrisofs", FAKE_XORRISOFS], ["ssh-keyscan", FAKE_KEYSCAN]]) {
        for (const dir of name === "virsh" ? [bin] : [bin, noVirsh]) {
            rmSync(join(dir, name), { force: true });
            writeFileSync(join(dir, name), text);
            chmodSync(join(dir, name), 0o755);
        }
    }
});

const USER_DATA = `#cloud-config\nssh_keys:\n  ed25519_private: |\n    ${HOST_KEY_PRIVATE_PLACEHOLDER}\n  ed25519_public: "${HOST_KEY_PUBLIC_PLACEHOLDER}"\nruncmd:\n  - ["iptables", "-s", "${NODES_CIDR_PLACEHOLDER}"]\n`;

function run(script: string, opts: { defined?: boolean; env?: Record<string, string>; path?: string } = {}) {
    const dir = mkdtempSync(join(tmpdir(), "swarmkit-kvm-run-"));
    const log = join(dir, "log");
    writeFileSync(log, "");
    writeFileSync(join(dir, "image.qcow2"), "");
    if (opts.defined) writeFileSync(join(dir, "defined"), "");
    const result = spawnSync("/bin/sh", ["-c", script], {
        encoding: "utf8",
        env: { PATH: opts.path ?? `${bin}:/usr/bin:/bin`, TMPDIR: dir, FAKE_LOG: log, FAKE_DIR: dir, [CLOUD_INIT_ENV]: USER_DATA, ...opts.env },
    });
    return { ...result, calls: readFileSync(log, "utf8").split("\n").filter(Boolean), dir };
}

function settings(dir: string, extra: Partial<KvmSettings> = {}): KvmSettings {
    return { image: join(dir, "image.qcow2"), network: "default", vcpus: 2, memoryMiB: 2048, diskGiB: 10, osVariant: "ubuntu24.04", uri: "qemu:///system", diskDir: "/pool", virtType: "kvm", imageHasDocker: false, ...extra };
}

/** A /proc/cpuinfo stand-in, with or without the vmx flag. */
function cpuinfo(vt: boolean): string {
    const path = join(mkdtempSync(join(tmpdir(), "swarmkit-cpuinfo-")), "cpuinfo");
    writeFileSync(path, `processor\t: 0\nflags\t\t: fpu sse2 ${vt ? "vmx " : ""}avx2\n`);
    return path;
}

/** The scripts name the image by path: render them for the run's own temp dir. */
function runCreate(extra: Partial<KvmSettings>, opts: Parameters<typeof run>[1] = {}) {
    const dir = mkdtempSync(join(tmpdir(), "swarmkit-kvm-img-"));
    writeFileSync(join(dir, "image.qcow2"), "");
    return { r: run(renderKvmCreate({ name: "lab-manager-1", settings: settings(dir, extra) }), opts), dir };
}

describe("the kvm create script", () => {
    it("makes the overlay, imports the VM, polls for its address and prints only the JSON line", () => {
        const { r, dir } = runCreate({ nodesCidr: "192.168.122.0/24" }, { env: { FAKE_ADDRESS_AFTER: "2" } });
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.deepEqual({ ...out, hostKey: "-" }, { address: "192.168.122.45", id: "6f1e0c9a-1111-2222-3333-444455556666", hostKey: "-", nodesCidr: "192.168.122.0/24" });
        assert.match(out.hostKey, /^ssh-ed25519 AAAA\S+$/);
        // The VM's own host key went into its cloud-init and nowhere else: only its public half is printed.
        const userData = readFileSync(join(r.dir, "user-data"), "utf8");
        assert.ok(userData.includes(`ed25519_public: "${out.hostKey}"`));
        assert.match(userData, /  ed25519_private: \|\n    -----BEGIN [A-Z]+ PRIVATE KEY-----\n(    \S+\n)+    -----END [A-Z]+ PRIVATE KEY-----\n/);
        assert.ok(!r.stdout.includes("PRIVATE KEY") && !r.stderr.includes("PRIVATE KEY"));
        assert.ok(r.calls.includes(`qemu-img create -f qcow2 -F qcow2 -b ${dir}/image.qcow2 /pool/lab-manager-1.qcow2 10G`));
        const install = r.calls.find((c) => c.startsWith("virt-install"))!;
        assert.match(
            install,
            /^virt-install --import --virt-type kvm --name lab-manager-1 --memory 2048 --vcpus 2 --disk path=\/pool\/lab-manager-1\.qcow2,format=qcow2 --disk path=\/pool\/lab-manager-1-seed\.iso,device=cdrom --network network=default --os-variant ubuntu24\.04 --graphics none --sound none --noautoconsole$/,
        );
        assert.equal(r.calls.filter((c) => c.startsWith("virsh domifaddr")).length, 2, "polled until an IPv4 appeared");
        // The seed is the kit's own NoCloud ISO, attached as a CD-ROM: no virt-install install phase.
        assert.ok(r.calls.some((c) => /^xorrisofs -quiet -o \/pool\/lab-manager-1-seed\.iso -V cidata -J -R \S+\/user-data \S+\/meta-data$/.test(c)), r.calls.join("\n"));
        assert.match(readFileSync(join(r.dir, "meta-data"), "utf8"), /^instance-id: lab-manager-1-\d+\n$/);
        assert.doesNotMatch(install, /--cloud-init/);
        assert.match(readFileSync(join(r.dir, "user-data"), "utf8"), /\["iptables", "-s", "192\.168\.122\.0\/24"\]/);
    });

    it("does not create a domain that virsh already knows, and keeps the host key it printed when it made it", () => {
        const previous = JSON.stringify({ address: "192.168.122.45", id: "x", hostKey: "ssh-ed25519 AAAAfirst", nodesCidr: "192.168.122.0/24" });
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24" }, { defined: true, env: { PULUMI_COMMAND_STDOUT: previous } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.filter((c) => /^(virt-install|qemu-img|virsh start|ssh-keyscan)/.test(c)), []);
        assert.equal(JSON.parse(r.stdout).id, "6f1e0c9a-1111-2222-3333-444455556666");
        assert.equal(JSON.parse(r.stdout).hostKey, "ssh-ed25519 AAAAfirst");
    });

    it("starts a domain that is shut off (a workstation reboot), and pins the key a domain made elsewhere presents", () => {
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24" }, { defined: true, env: { FAKE_DOMSTATE: "shut off" } });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.calls.includes("virsh start lab-manager-1"));
        assert.ok(r.calls.includes("ssh-keyscan -t ed25519 192.168.122.45"));
        assert.equal(JSON.parse(r.stdout).hostKey, "ssh-ed25519 AAAAscanned");
        assert.match(r.stderr, /pinning the host key the existing VM presents/);
    });

    it("reads the network's range from libvirt when nodesCidr is not configured", () => {
        const { r } = runCreate({}, { env: { FAKE_IP: "192.168.150.20" } });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.calls.includes("virsh net-dumpxml default"));
        assert.match(readFileSync(join(r.dir, "user-data"), "utf8"), /"-s", "192\.168\.150\.0\/24"/);
    });

    it("says how to install libvirt when virsh is missing", () => {
        const { r } = runCreate({}, { path: noVirsh });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /swarmkit kvm lab-manager-1: virsh is not installed: install libvirt/);
        assert.equal(r.stdout, "");
    });

    it("says how to enable KVM when virt-install cannot use it, and removes the overlay it made", () => {
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24" }, { env: { FAKE_INSTALL_ERROR: "ERROR    Host does not support any virtualization options for arch 'x86_64'" } });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /Host does not support any virtualization/);
        assert.match(r.stderr, /libvirt cannot start KVM guests: enable VT-x\/AMD-V.*set virtType to qemu/);
        assert.equal(r.calls.filter((c) => c.startsWith("virt-install")).length, 1, "virtType kvm never falls back");
    });

    it("runs a software-emulated guest with virtType qemu, its translation cache kept small", () => {
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "qemu" });
        assert.equal(r.status, 0, r.stderr);
        const install = r.calls.find((c) => c.startsWith("virt-install"))!;
        assert.match(install, /--virt-type qemu /);
        assert.match(install, / --xml \.\/features\/tcg\/tb-cache=256 --xml \.\/features\/tcg\/tb-cache\/@unit=MiB$/);
        assert.doesNotMatch(r.stderr, /warning/);
    });

    it("with virtType auto, falls back to qemu with a warning when libvirt offers no KVM", () => {
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "auto" }, { env: { FAKE_NO_KVM_DOMAINS: "1", SWARMKIT_CPUINFO: cpuinfo(true) } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("virt-install")).map((c) => /--virt-type (\S+)/.exec(c)![1]), ["qemu"]);
        assert.match(r.stderr, /swarmkit kvm lab-manager-1: warning: libvirt offers no KVM domains here: falling back to software emulation/);
    });

    it("with virtType auto, retries as qemu with a warning when libvirt offers KVM but cannot start it", () => {
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "auto" }, { env: { FAKE_KVM_BROKEN: "1", SWARMKIT_CPUINFO: cpuinfo(true) } });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.filter((c) => c.startsWith("virt-install")).map((c) => /--virt-type (\S+)/.exec(c)![1]), ["kvm", "qemu"]);
        assert.ok(r.calls.includes("virsh undefine lab-manager-1"), "the domain the failed launch left is undefined first");
        assert.match(r.stderr, /warning: libvirt could not start a KVM guest \(above\): falling back to software emulation/);
        assert.ok(JSON.parse(r.stdout).address);
    });

    it("with virtType auto on a CPU without VT-x/AMD-V, goes straight to qemu; kvm only warns; a remote libvirt is not judged by this CPU", () => {
        const auto = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "auto" }, { env: { SWARMKIT_CPUINFO: cpuinfo(false) } }).r;
        assert.equal(auto.status, 0, auto.stderr);
        assert.deepEqual(auto.calls.filter((c) => c.startsWith("virt-install")).map((c) => /--virt-type (\S+)/.exec(c)![1]), ["qemu"]);
        assert.match(auto.stderr, /warning: this machine's CPU has no VT-x\/AMD-V .*: falling back to software emulation/);
        const kvm = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "kvm" }, { env: { SWARMKIT_CPUINFO: cpuinfo(false) } }).r;
        assert.equal(kvm.status, 0, kvm.stderr);
        assert.match(kvm.calls.find((c) => c.startsWith("virt-install"))!, /--virt-type kvm /);
        assert.match(kvm.stderr, /warning: this machine's CPU has no VT-x\/AMD-V .*a KVM guest may fail or hang/);
        const remote = runCreate({ nodesCidr: "192.168.122.0/24", virtType: "auto", uri: "qemu+ssh://vmhost/system" }, { env: { SWARMKIT_CPUINFO: cpuinfo(false) } }).r;
        assert.match(remote.calls.find((c) => c.startsWith("virt-install"))!, /--virt-type kvm /);
    });

    it("boots the kernel, initrd and command line it is given, after checking they can be read", () => {
        const dir = mkdtempSync(join(tmpdir(), "swarmkit-kvm-boot-"));
        for (const f of ["vmlinuz", "initrd.img"]) writeFileSync(join(dir, f), "");
        const boot = { kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), kernelArgs: "root=LABEL=vmroot rw console=ttyS0" };
        const { r } = runCreate({ nodesCidr: "192.168.122.0/24", ...boot });
        assert.equal(r.status, 0, r.stderr);
        const install = r.calls.find((c) => c.startsWith("virt-install"))!;
        assert.ok(install.includes(` --boot kernel=${boot.kernel},initrd=${boot.initrd},kernel_args="root=LABEL=vmroot rw console=ttyS0" `), install);
        const missing = runCreate({ nodesCidr: "192.168.122.0/24", ...boot, initrd: "/nonexistent/initrd.img" }).r;
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /the initrd \/nonexistent\/initrd\.img cannot be read/);
        assert.deepEqual(missing.calls.filter((c) => /^(qemu-img|virt-install)/.test(c)), [], "nothing is made before the check");
    });

    it("fails clearly on a missing image", () => {
        const r = run(renderKvmCreate({ name: "lab-manager-1", settings: settings("/nonexistent", { nodesCidr: "192.168.122.0/24" }) }));
        assert.equal(r.status, 1);
        assert.match(r.stderr, /the image \/nonexistent\/image\.qcow2 cannot be read/);
    });
});

describe("the kvm delete script", () => {
    const script = renderKvmDelete({ name: "lab-worker-1", settings: settings("/x") });
    it("destroys (not running is fine) and undefines with storage", () => {
        const r = run(script, { defined: true });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, ["virsh dominfo lab-worker-1", "virsh destroy lab-worker-1", "virsh undefine --remove-all-storage lab-worker-1"]);
        assert.match(script, /^rm -f '\/pool\/lab-worker-1-seed\.iso'$/m, "and the seed, should libvirt not count it as the domain's");
    });
    it("tolerates a domain that is already gone", () => {
        const r = run(script);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, ["virsh dominfo lab-worker-1"]);
    });
});
