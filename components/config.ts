/**
 * The kit's only reader of stack config. `parseConfig` is pure (raw strings in, plain typed objects out, every
 * problem reported at once) so that bad input fails before any resource is declared; `loadConfig` feeds it from
 * `pulumi.Config`.
 */
import * as pulumi from "@pulumi/pulumi";
import { cidrWithin, isValidCidr } from "./net";
import { KVM_VIRT_TYPES } from "./hardware/settings";
import { kvmBootProblems } from "./hardware/kvm/boot";
import { NodeLabels, SwarmNetwork, dockerVersionProblems, nodeLabelsProblems, swarmNetworkProblems } from "./swarm/settings";
import { hostNames } from "./host";

export const PROVIDERS = ["aws", "digitalocean", "multipass", "kvm", "netns", "hosts"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export { LAB_MAX_WORKERS, MANAGER_COUNTS } from "./hardware/settings";
import { LAB_MAX_WORKERS, MANAGER_COUNTS } from "./hardware/settings";
export type { AwsSettings, DigitalOceanSettings, MultipassSettings, KvmSettings, LabSettings } from "./hardware/settings";
import type { AwsSettings, DigitalOceanSettings, MultipassSettings, KvmSettings, LabSettings } from "./hardware/settings";

export interface SwarmkitConfig {
    provider: ProviderName;
    managers: number;
    workers: number;
    drainManagers: boolean;
    autolock: boolean;
    publishedPorts: number[];
    adminCidr: string;
    /** Bumping it rotates the worker and manager join tokens. */
    tokenRotation: number;
    /** Part of every machine's spec: bumping it replaces every machine, one node at a time (a rolling rebuild). */
    machineRevision: number;
    /** Bumping it rotates the unlock key (autolock). */
    unlockKeyRotation: number;
    /** Bumping it rotates the swarm's root CA. */
    caRotation: number;
    /** The user's node labels, by role and by host name. */
    nodeLabels?: NodeLabels;
    /** The swarm's network settings, fixed when it is founded. */
    network: SwarmNetwork;
    /** The Docker engine the VM targets install (package, apt version) and every node is checked against (version). */
    docker: { package?: string; version?: string };
    ssh: {
        user: string;
        /** Absent: a key pair is generated with @pulumi/tls. */
        publicKey?: string;
        /** Secret. Present exactly when publicKey is. */
        privateKey?: pulumi.Output<string>;
    };
    aws?: AwsSettings;
    digitalocean?: DigitalOceanSettings;
    multipass?: MultipassSettings;
    kvm?: KvmSettings;
    lab?: LabSettings;
    hosts?: HostsSettings;
}

/** provider hosts: machines of your own. */
export interface HostsSettings {
    machines: { name: string; role: "manager" | "worker"; sshAddress: string; privateAddress: string; user?: string; hostKey: string; port?: number }[];
    nodesCidrs?: string[];
    loadBalancerCidrs?: string[];
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid swarmkit stack config:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Raw config as strings, the way `pulumi config` stores it; keys are "namespace:key". */
export type RawConfig = (key: string) => string | undefined;

const DEFAULT_USERS: Record<ProviderName, string> = {
    aws: "ubuntu",
    digitalocean: "root",
    multipass: "ubuntu",
    kvm: "ubuntu",
    hosts: "root",
    netns: "root",
};

class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: RawConfig) {}

    private fail(key: string, value: string, allowed: string): undefined {
        this.problems.push(`${key} = ${JSON.stringify(value)} is not allowed: ${allowed}`);
        return undefined;
    }

    string(key: string): string | undefined {
        const value = this.raw(key);
        return value === undefined || value.trim() === "" ? undefined : value.trim();
    }

    required(key: string, why: string): string | undefined {
        const value = this.string(key);
        if (value === undefined) this.problems.push(`${key} is missing: ${why}`);
        return value;
    }

    integer(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const value = this.string(key);
        if (value === undefined) return fallback;
        if (!/^-?\d+$/.test(value)) return this.fail(key, value, `a whole number from ${min} to ${max}`) ?? fallback;
        const n = Number(value);
        if (n < min || n > max) return this.fail(key, value, `a whole number from ${min} to ${max}`) ?? fallback;
        return n;
    }

    boolean(key: string, fallback: boolean): boolean {
        const value = this.string(key);
        if (value === undefined) return fallback;
        if (value === "true") return true;
        if (value === "false") return false;
        return this.fail(key, value, "true or false") ?? fallback;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
        const value = this.string(key);
        if (value === undefined) return fallback;
        if ((allowed as readonly string[]).includes(value)) return value as T;
        return this.fail(key, value, `one of ${allowed.join(", ")}`) ?? fallback;
    }

    cidr(key: string, fallback: string | undefined, why: string): string | undefined {
        const value = this.string(key);
        if (value === undefined) {
            if (fallback === undefined) this.problems.push(`${key} is missing: ${why}`);
            return fallback;
        }
        if (!isValidCidr(value)) return this.fail(key, value, "an IPv4 CIDR such as 203.0.113.0/24 (address/prefix, prefix 0-32)");
        return value;
    }

    portList(key: string): number[] {
        const value = this.string(key);
        if (value === undefined) return [];
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        const allowed = "a JSON list of TCP ports from 1 to 65535, e.g. [80, 443], without 22, 2375, 2376, 2377 or 7946";
        if (!Array.isArray(parsed) || !parsed.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
            return this.fail(key, value, allowed) ?? [];
        }
        const reserved = [22, 2375, 2376, 2377, 7946];
        if (parsed.some((p: number) => reserved.includes(p))) return this.fail(key, value, allowed) ?? [];
        if (new Set(parsed).size !== parsed.length) return this.fail(key, value, `${allowed}; each port once`) ?? [];
        return parsed as number[];
    }

    /** A whole number when set, else undefined. */
    optionalInteger(key: string, min: number, max: number): number | undefined {
        return this.string(key) === undefined ? undefined : this.integer(key, min, min, max);
    }

    /** A JSON list of IPv4 CIDRs when set. */
    cidrs(key: string): string[] | undefined {
        const list = this.stringList(key);
        if (list === undefined) return undefined;
        const bad = list.filter((c) => !isValidCidr(c));
        if (bad.length > 0) this.fail(key, this.string(key) ?? "", `a JSON list of IPv4 CIDRs such as ["10.200.0.0/16"] (${bad.join(", ")} is not one)`);
        return list;
    }

    stringList(key: string): string[] | undefined {
        const value = this.string(key);
        if (value === undefined) return undefined;
        try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((s) => typeof s === "string" && s !== "")) return parsed;
        } catch {
            // reported below
        }
        return this.fail(key, value, 'a non-empty JSON list of strings, e.g. ["subnet-1", "subnet-2"]');
    }

    managerCount(key: string): number {
        const value = this.string(key);
        if (value === undefined) return 3;
        const n = /^\d+$/.test(value) ? Number(value) : NaN;
        if ((MANAGER_COUNTS as readonly number[]).includes(n)) return n;
        if (Number.isInteger(n) && n > 0 && n % 2 === 0) {
            this.fail(
                key,
                value,
                `use 1, 3, 5 or 7. An even count adds no fault tolerance: raft needs a majority (quorum) of ` +
                    `managers, so ${n} managers survive the loss of ${n / 2 - 1}, no more than ${n - 1} do, and a network split ` +
                    `into two halves of ${n / 2} stops both`,
            );
            return 3;
        }
        this.fail(key, value, "1, 3, 5 or 7 managers (an odd number, so a majority of managers keeps quorum; more than 7 slows raft down)");
        return 3;
    }
}

const NS = "swarmkit";
const key = (name: string) => `${NS}:${name}`;

/** Turns raw stack config into the kit's typed settings, or throws a ConfigError naming every bad key. */
export function parseConfig(raw: RawConfig): SwarmkitConfig {
    const r = new Reader(raw);
    const providerValue = r.string(key("provider"));
    let provider: ProviderName = "netns";
    if (providerValue !== undefined) {
        if ((PROVIDERS as readonly string[]).includes(providerValue)) provider = providerValue as ProviderName;
        else r.problems.push(`${key("provider")} = ${JSON.stringify(providerValue)} is not allowed: unknown provider, use one of ${PROVIDERS.join(", ")}`);
    }

    const machines = provider === "hosts" ? parseMachines(r) : undefined;
    const managers = machines ? machines.filter((m) => m.role === "manager").length : r.managerCount(key("managers"));
    const workers = machines ? machines.length - managers : r.integer(key("workers"), 0, 0, 500);
    if (machines && (r.string(key("managers")) !== undefined || r.string(key("workers")) !== undefined)) {
        r.problems.push(`${key("managers")} and ${key("workers")} are not used with provider hosts: ${key("hosts")} lists each machine with its role`);
    }
    if (machines && !(MANAGER_COUNTS as readonly number[]).includes(managers)) {
        r.problems.push(`${key("hosts")} lists ${managers} managers: use 1, 3, 5 or 7 (an odd number, so a majority of managers keeps quorum)`);
    }
    const drainManagers = r.boolean(key("drainManagers"), workers > 0);
    if (drainManagers && workers === 0) {
        r.problems.push(`${key("drainManagers")} = "true" is not allowed with ${key("workers")} = 0: nothing could run any task`);
    }
    const autolock = r.boolean(key("autolock"), true);
    const publishedPorts = r.portList(key("publishedPorts"));
    const tokenRotation = r.integer(key("tokenRotation"), 0, 0);
    const machineRevision = r.integer(key("machineRevision"), 0, 0);
    const unlockKeyRotation = r.integer(key("unlockKeyRotation"), 0, 0);
    const caRotation = r.integer(key("caRotation"), 0, 0);
    if (unlockKeyRotation > 0 && !autolock) r.problems.push(`${key("unlockKeyRotation")} is not allowed with ${key("autolock")} = "false": there is no unlock key to rotate`);
    const network: SwarmNetwork = {
        defaultAddrPool: r.cidrs(key("defaultAddrPool")),
        defaultAddrPoolMaskLength: r.optionalInteger(key("defaultAddrPoolMaskLength"), 8, 29),
        dataPathPort: r.optionalInteger(key("dataPathPort"), 1024, 49151),
    };
    const docker = { package: r.string(key("dockerPackage")), version: r.string(key("dockerVersion")) };
    for (const p of dockerVersionProblems(docker.version)) r.problems.push(`${key("dockerVersion")}: ${p}`);
    if (docker.package !== undefined && !/^[a-z0-9][a-z0-9+.-]+$/.test(docker.package)) {
        r.problems.push(`${key("dockerPackage")} = ${JSON.stringify(docker.package)} is not allowed: a Debian package name such as docker.io or docker-ce`);
    }

    const lab: LabSettings | undefined =
        provider === "netns"
            ? {
                  name: labName(r, key("labName")),
                  subnet: r.cidr(key("labSubnet"), "10.77.0.0/24", "") ?? "10.77.0.0/24",
                  ...labImages(r, key("labImages")),
              }
            : undefined;
    if (lab && !/\/24$/.test(lab.subnet)) r.problems.push(`${key("labSubnet")} = ${JSON.stringify(lab.subnet)} is not allowed: the lab takes a /24`);
    if (lab && workers > LAB_MAX_WORKERS) {
        r.problems.push(`${key("workers")} = "${workers}" is not allowed on lab hosts: at most ${LAB_MAX_WORKERS} (their addresses are .101 to .170 of the lab's /24, and .171 to .240 for their replacements)`);
    }

    const cloud = provider === "aws" || provider === "digitalocean" || provider === "hosts";
    const adminCidr =
        r.cidr(
            key("adminCidr"),
            cloud ? undefined : lab?.subnet ?? "0.0.0.0/0",
            "the range allowed to reach SSH on the nodes, e.g. your office's 203.0.113.0/24 or your own address/32",
        ) ?? "0.0.0.0/0";

    const publicKey = r.string(key("sshPublicKey"));
    const privateKeyRaw = r.string(key("sshPrivateKey"));
    // Your own hosts already authorise a key: only its private half is needed.
    if (provider !== "hosts" && (publicKey === undefined) !== (privateKeyRaw === undefined)) {
        r.problems.push(
            `${key(publicKey === undefined ? "sshPublicKey" : "sshPrivateKey")} is missing: set sshPublicKey and sshPrivateKey (secret) together, or neither to have a key generated`,
        );
    }
    if (publicKey !== undefined && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(publicKey)) {
        r.problems.push(`${key("sshPublicKey")} is not allowed: an OpenSSH public key line (ssh-ed25519 AAAA..., ssh-rsa AAAA...)`);
    }
    if ((provider === "netns" || provider === "multipass" || provider === "kvm") && publicKey === undefined) {
        r.problems.push(`${key("sshPublicKey")} is missing: local providers take a key made with ssh-keygen (npm run up sets one)`);
    }
    if (provider === "hosts" && privateKeyRaw === undefined) {
        r.problems.push(`${key("sshPrivateKey")} is missing: the private key your hosts authorise (pulumi config set --secret swarmkit:sshPrivateKey < KEYFILE)`);
    }
    const user = r.string(key("sshUser")) ?? DEFAULT_USERS[provider];

    const config: SwarmkitConfig = {
        provider,
        managers,
        workers,
        drainManagers,
        autolock,
        publishedPorts,
        adminCidr,
        tokenRotation,
        machineRevision,
        unlockKeyRotation,
        caRotation,
        network,
        docker,
        ssh: { user, publicKey, privateKey: privateKeyRaw === undefined ? undefined : pulumi.secret(privateKeyRaw) },
        lab,
    };

    if (provider === "aws") config.aws = parseAws(r);
    if (provider === "digitalocean") config.digitalocean = parseDigitalOcean(r);
    if (provider === "multipass") config.multipass = parseMultipass(r);
    if (provider === "kvm") config.kvm = parseKvm(r, docker);
    if (machines) config.hosts = { machines, nodesCidrs: cidrList(r, key("nodesCidrs")), loadBalancerCidrs: cidrList(r, key("loadBalancerCidrs")) };

    const names = machines ? machines.map((m) => m.name) : hostNames(managers, workers).map((h) => h.name);
    config.nodeLabels = parseNodeLabels(r, key("nodeLabels"), names);
    if (lab) {
        const zones = r.stringList(key("labZones"));
        if (zones) lab.zones = zones;
    } else if (r.string(key("labZones")) !== undefined) r.problems.push(`${key("labZones")} is for lab hosts only: cloud targets label nodes with their own zones`);
    for (const p of swarmNetworkProblems(network, nodeRanges(config))) r.problems.push(`${NS}:${p}`);

    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return config;
}

/**
 * swarmkit:nodeLabels: a JSON object of labels by role or host name, e.g.
 * {"worker": {"tier": "web"}, "worker-2": {"disk": "ssd"}}.
 */
function parseNodeLabels(r: Reader, k: string, names: string[]): NodeLabels | undefined {
    const value = r.string(k);
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        parsed = undefined;
    }
    const isSet = (o: unknown): o is Record<string, string> =>
        typeof o === "object" && o !== null && !Array.isArray(o) && Object.values(o).every((v) => typeof v === "string");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every(isSet)) {
        r.problems.push(`${k} = ${JSON.stringify(value)} is not allowed: a JSON object of label sets by "manager", "worker" or a host name, e.g. {"worker": {"tier": "web"}, "worker-2": {"disk": "ssd"}}`);
        return undefined;
    }
    const labels: NodeLabels = { hosts: {} };
    for (const [who, set] of Object.entries(parsed as Record<string, Record<string, string>>)) {
        if (who === "manager" || who === "worker") labels[who] = set;
        else (labels.hosts as Record<string, Record<string, string>>)[who] = set;
    }
    for (const p of nodeLabelsProblems(labels, names)) r.problems.push(`${k}: ${p}`);
    return labels;
}

/** Where the nodes' own addresses lie: an overlay pool must not overlap them. */
function nodeRanges(config: SwarmkitConfig): string[] {
    if (config.lab) return [config.lab.subnet];
    if (config.aws) return config.aws.existingVpc ? [] : [config.aws.vpcCidr];
    if (config.digitalocean) return config.digitalocean.existingVpcId ? [] : [config.digitalocean.vpcCidr];
    if (config.multipass?.nodesCidr) return [config.multipass.nodesCidr];
    if (config.kvm?.nodesCidr) return [config.kvm.nodesCidr];
    if (config.hosts) return config.hosts.nodesCidrs ?? config.hosts.machines.map((m) => `${m.privateAddress}/32`);
    return [];
}

/** swarmkit:hosts: a JSON list of {name, role, sshAddress, privateAddress, hostKey, user?, port?}. */
function parseMachines(r: Reader): HostsSettings["machines"] {
    const k = key("hosts");
    const value = r.required(k, 'a JSON list of your machines: [{"name": "node-1", "role": "manager", "sshAddress": "203.0.113.10", "privateAddress": "10.0.0.10", "hostKey": "ssh-ed25519 AAAA..."}, ...]');
    if (value === undefined) return [];
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        r.problems.push(`${k} is not JSON: a list of {name, role, sshAddress, privateAddress, hostKey}`);
        return [];
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
        r.problems.push(`${k} is not allowed: a non-empty JSON list of {name, role, sshAddress, privateAddress, hostKey}`);
        return [];
    }
    const machines: HostsSettings["machines"] = [];
    parsed.forEach((m: Record<string, unknown>, i) => {
        const text = (f: string) => (typeof m?.[f] === "string" && (m[f] as string).trim() !== "" ? (m[f] as string).trim() : undefined);
        const missing = ["name", "role", "sshAddress", "privateAddress", "hostKey"].filter((f) => text(f) === undefined);
        if (missing.length > 0) {
            r.problems.push(`${k}[${i}] is missing ${missing.join(", ")}`);
            return;
        }
        const role = text("role");
        if (role !== "manager" && role !== "worker") {
            r.problems.push(`${k}[${i}].role = ${JSON.stringify(role)} is not allowed: manager or worker`);
            return;
        }
        if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(text("hostKey")!)) {
            r.problems.push(`${k}[${i}].hostKey is not allowed: the machine's OpenSSH public host key line (ssh-keyscan -t ed25519 ADDRESS)`);
        }
        if (typeof m.port === "number" && (!Number.isInteger(m.port) || m.port < 1 || m.port > 65535)) r.problems.push(`${k}[${i}].port is not a TCP port`);
        machines.push({
            name: text("name")!,
            role,
            sshAddress: text("sshAddress")!,
            privateAddress: text("privateAddress")!,
            hostKey: text("hostKey")!,
            ...(text("user") ? { user: text("user") } : {}),
            ...(typeof m.port === "number" ? { port: m.port } : {}),
        });
    });
    const names = machines.map((m) => m.name);
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    if (dup.length > 0) r.problems.push(`${k}: each name once (${[...new Set(dup)].join(", ")} twice)`);
    return machines;
}

function cidrList(r: Reader, k: string): string[] | undefined {
    const list = r.stringList(k);
    if (list === undefined) return undefined;
    const bad = list.filter((c) => !isValidCidr(c));
    if (bad.length > 0) r.problems.push(`${k} = ${JSON.stringify(r.string(k))} is not allowed: IPv4 CIDRs (${bad.join(", ")})`);
    return list;
}

function labImages(r: Reader, k: string): { images?: string } {
    const value = r.string(k);
    if (value === undefined) return {};
    if (!value.startsWith("/")) {
        r.problems.push(`${k} = ${JSON.stringify(value)} is not allowed: an absolute path of a directory of image tarballs (docker save -o DIR/NAME.tar IMAGE)`);
        return {};
    }
    return { images: value };
}

function labName(r: Reader, k: string): string {
    const value = r.string(k) ?? "swarmkit";
    // Interface names are limited to 15 characters: "<name>-br" and "<name>-<n>h" must fit.
    if (!/^[a-z][a-z0-9]{0,7}$/.test(value)) {
        r.problems.push(`${k} = ${JSON.stringify(value)} is not allowed: 1-8 lowercase letters and digits, starting with a letter`);
        return "swarmkit";
    }
    return value;
}

function parseAws(r: Reader): AwsSettings {
    // The AWS provider reads its region from aws:region (or AWS_REGION): that is where the resources go.
    if (r.string(key("region")) !== undefined) {
        r.problems.push(`${key("region")} is not used on AWS: set aws:region instead (pulumi config set aws:region eu-west-1), where the AWS provider takes it from`);
    }
    const region = r.required("aws:region", "set the AWS region: pulumi config set aws:region eu-west-1") ?? "";
    const vpcId = r.string(key("vpcId"));
    const subnetIds = r.stringList(key("subnetIds"));
    if ((vpcId === undefined) !== (subnetIds === undefined)) {
        r.problems.push(`${key(vpcId === undefined ? "vpcId" : "subnetIds")} is missing: an existing VPC needs both vpcId and subnetIds`);
    }
    if (subnetIds !== undefined && subnetIds.length < 3) {
        r.problems.push(
            `${key("subnetIds")} = ${JSON.stringify(r.string(key("subnetIds")))} is not allowed: at least 3 public subnets, each in a different availability zone, so that losing one zone keeps a majority of managers`,
        );
    }
    const vpcCidr = r.cidr(key("vpcCidr"), "10.42.0.0/16", "") ?? "10.42.0.0/16";
    const vpcPrefix = Number(vpcCidr.split("/")[1]);
    if (vpcPrefix < 16 || vpcPrefix > 24) {
        r.problems.push(
            `${key("vpcCidr")} = ${JSON.stringify(vpcCidr)} is not allowed: a range from /16 to /24 (AWS takes /16 to /28, and the kit cuts one public subnet four bits longer per zone)`,
        );
    }
    return {
        region,
        instanceType: {
            manager: r.string(key("managerSize")) ?? "t3.small",
            worker: r.string(key("workerSize")) ?? "t3.medium",
        },
        amiId: r.string(key("amiId")),
        vpcCidr,
        // At least 3: with 2 zones one of them holds a majority of the managers and losing it loses quorum.
        availabilityZones: r.integer(key("availabilityZones"), 3, 3, 6),
        existingVpc: vpcId !== undefined && subnetIds !== undefined ? { vpcId, subnetIds } : undefined,
        rootVolumeGiB: r.integer(key("diskGiB"), 20, 8, 16384),
    };
}

/** The private ranges of RFC 1918. */
const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

function parseDigitalOcean(r: Reader): DigitalOceanSettings {
    const vpcCidr = r.cidr(key("vpcCidr"), "10.43.0.0/20", "") ?? "10.43.0.0/20";
    const prefix = Number(vpcCidr.split("/")[1]);
    if (!RFC1918.some((range) => cidrWithin(vpcCidr, range)) || prefix < 16 || prefix > 28) {
        r.problems.push(
            `${key("vpcCidr")} = ${JSON.stringify(vpcCidr)} is not allowed: DigitalOcean VPC ranges are private (RFC 1918: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), from /16 to /28, and may not overlap another VPC of the account`,
        );
    }
    const existingVpcId = r.string(key("vpcId"));
    if (existingVpcId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(existingVpcId)) {
        r.problems.push(`${key("vpcId")} = ${JSON.stringify(existingVpcId)} is not allowed: a DigitalOcean VPC ID (a UUID, doctl vpcs list)`);
    }
    if (existingVpcId !== undefined && r.string(key("vpcCidr")) !== undefined) {
        r.problems.push(`${key("vpcCidr")} is not allowed with ${key("vpcId")}: the existing VPC's own range is used`);
    }
    const existingSshKey = r.string(key("sshKeyFingerprint"));
    if (existingSshKey !== undefined && !/^(\d+|[0-9a-f]{2}(:[0-9a-f]{2}){15})$/.test(existingSshKey)) {
        r.problems.push(
            `${key("sshKeyFingerprint")} = ${JSON.stringify(existingSshKey)} is not allowed: the MD5 fingerprint (aa:bb:...:ff, doctl compute ssh-key list) or the numeric ID of a key already in the account`,
        );
    }
    return {
        region: r.required(key("region"), "set the DigitalOcean region, e.g. pulumi config set swarmkit:region fra1") ?? "",
        size: {
            manager: r.string(key("managerSize")) ?? "s-1vcpu-2gb",
            worker: r.string(key("workerSize")) ?? "s-2vcpu-4gb",
        },
        image: r.string(key("image")) ?? "ubuntu-24-04-x64",
        vpcCidr,
        existingVpcId,
        existingSshKey,
        loadBalancer: r.boolean(key("loadBalancer"), true),
        cloudFirewall: r.boolean(key("cloudFirewall"), true),
    };
}

function parseMultipass(r: Reader): MultipassSettings {
    const memory = r.string(key("memory")) ?? "2G";
    const disk = r.string(key("disk")) ?? "10G";
    for (const [k, v] of [["memory", memory], ["disk", disk]] as const) {
        if (!/^\d+[KMG]$/.test(v)) r.problems.push(`${key(k)} = ${JSON.stringify(v)} is not allowed: a size such as 2G or 512M`);
    }
    const nodesCidr = r.string(key("nodesCidr")) === undefined ? undefined : r.cidr(key("nodesCidr"), undefined, "");
    return { image: r.string(key("image")) ?? "24.04", cpus: r.integer(key("cpus"), 2, 1, 64), memory, disk, nodesCidr };
}

function parseKvm(r: Reader, docker: { package?: string; version?: string }): KvmSettings {
    const s: KvmSettings = {
        image: r.required(key("image"), "the path of an Ubuntu cloud image (qcow2) on the libvirt host") ?? "",
        network: r.string(key("network")) ?? "default",
        vcpus: r.integer(key("cpus"), 2, 1, 64),
        memoryMiB: r.integer(key("memoryMiB"), 2048, 512),
        diskGiB: r.integer(key("diskGiB"), 10, 4),
        osVariant: r.string(key("osVariant")) ?? "ubuntu22.04",
        nodesCidr: r.string(key("nodesCidr")) === undefined ? undefined : r.cidr(key("nodesCidr"), undefined, ""),
        uri: r.string(key("libvirtUri")) ?? "qemu:///system",
        diskDir: r.string(key("diskDir")) ?? "/var/lib/libvirt/images",
        virtType: r.oneOf(key("virtType"), KVM_VIRT_TYPES, "kvm"),
        kernel: r.string(key("kernel")),
        initrd: r.string(key("initrd")),
        kernelArgs: r.string(key("kernelArgs")),
        imageHasDocker: r.boolean(key("imageHasDocker"), false),
    };
    r.problems.push(...kvmBootProblems(s, docker, key));
    return s;
}

/** Reads the current stack's config. The only place of the kit that touches pulumi.Config. */
export function loadConfig(): SwarmkitConfig {
    // The raw accessor reads secret values too without the "use getSecret" warning; parseConfig re-wraps the
    // private key as a secret before anything else sees it.
    return parseConfig((fullKey) => pulumi.runtime.getConfig(fullKey));
}
