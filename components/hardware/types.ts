import * as pulumi from "@pulumi/pulumi";
import { HostFirewallArgs } from "../firewall/hostFirewall";
import { SwarmHost } from "../host";
import { isValidCidr } from "../net";
import { Rollout } from "../swarm/rollout";
import { MANAGER_COUNTS } from "./settings";
import { swarmNetworkProblems } from "../swarm/settings";

/** An SSH key pair in OpenSSH form. */
export interface SshKeyArgs {
    /** OpenSSH public key line authorised on every host ("ssh-ed25519 AAAA..."). */
    publicKey: pulumi.Input<string>;
    /** The matching private key; kept secret wherever it goes. */
    privateKey: pulumi.Input<string>;
}

/** What every target's hosts component takes, besides its own settings. */
export interface HostsArgs {
    /** 1, 3, 5 or 7: an odd number, so a majority of managers keeps quorum. */
    managers: number;
    /** Default 0. */
    workers?: number;
    /** Where SSH to the hosts may come from (a CIDR). Each target says its default. */
    adminCidr?: string;
    /** TCP ports services publish, reachable from the target's load balancer only. Default none. */
    publishedPorts?: number[];
    /** The login user on the hosts. Each target says its default. */
    sshUser?: string;
    /** The key the hosts authorise. Absent: an ED25519 key is generated (with @pulumi/tls, kept in the state). */
    sshKey?: SshKeyArgs;
    /** Part of every machine's spec: bumping it replaces every machine (one node at a time with a rollout). */
    machineRevision?: number;
    /** The swarm's VXLAN port for overlay traffic, opened between the nodes by every firewall. Default 4789. */
    dataPathPort?: number;
    /**
     * The Docker engine cloud-init installs (VM targets): the package (default `docker.io`) and its apt version
     * (`26.1.5+dfsg1-9`, or a pattern such as `26.1.*`; absent: the newest). Part of the machine spec: a change
     * replaces the machines, one node at a time with a rollout. Lab hosts run the machine's own engine.
     */
    docker?: DockerEngine;
    /**
     * The rolling replacement the machines take part in (`await Rollout.read(clusterName)`, passed to the cluster as
     * well): a machine whose settings changed is replaced one node at a time. Absent: as Pulumi replaces resources.
     */
    rollout?: Rollout;
}

export interface DockerEngine {
    package?: string;
    version?: string;
}

/** The engine's part of a machine spec: absent for the default (docker.io, the newest), so older specs stay the same. */
export function engineSpec(docker: DockerEngine | undefined): string | undefined {
    const name = docker?.package ?? "docker.io";
    return name === "docker.io" && !docker?.version ? undefined : `${name}=${docker?.version ?? "newest"}`;
}

/** HostsArgs with the defaults filled in and the key resolved: what a target's code reads. */
export interface HostsCommon {
    managers: number;
    workers: number;
    adminCidr: string;
    publishedPorts: number[];
    machineRevision: number;
    /** Absent: Docker's 4789. */
    dataPathPort?: number;
    docker: { package: string; version?: string };
    ssh: { user: string };
    sshPublicKey: pulumi.Output<string>;
    /** Secret. */
    sshPrivateKey: pulumi.Output<string>;
    rollout?: Rollout;
}

/** Bad args of a hosts component: reported as the message alone, before anything is declared. */
export class HostsArgsError extends pulumi.RunError {
    constructor(component: string, readonly problems: string[]) {
        super(`${component}: invalid args:\n  - ${problems.join("\n  - ")}`);
    }
}

const RESERVED_PORTS = [22, 2375, 2376, 2377, 7946];

/** The problems of the shared args; empty when they are good. */
export function hostsArgsProblems(args: HostsArgs): string[] {
    const problems: string[] = [];
    if (!(MANAGER_COUNTS as readonly number[]).includes(args.managers)) {
        problems.push(`managers = ${args.managers}: use 1, 3, 5 or 7 (an odd number, so a majority of managers keeps quorum)`);
    }
    const workers = args.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) problems.push(`workers = ${workers}: a whole number, 0 or more`);
    if (args.adminCidr !== undefined && !isValidCidr(args.adminCidr)) problems.push(`adminCidr = ${JSON.stringify(args.adminCidr)}: an IPv4 CIDR such as 203.0.113.0/24`);
    for (const port of args.publishedPorts ?? []) {
        if (!Number.isInteger(port) || port < 1 || port > 65535 || RESERVED_PORTS.includes(port)) {
            problems.push(`publishedPorts: ${port} is not a TCP port from 1 to 65535 other than 22, 2375, 2376, 2377 or 7946`);
        }
    }
    if (new Set(args.publishedPorts ?? []).size !== (args.publishedPorts ?? []).length) problems.push("publishedPorts: each port once");
    const revision = args.machineRevision ?? 0;
    if (!Number.isInteger(revision) || revision < 0) problems.push(`machineRevision = ${revision}: a whole number, 0 or more`);
    if (args.dataPathPort !== undefined) problems.push(...swarmNetworkProblems({ dataPathPort: args.dataPathPort }));
    if (args.docker?.package !== undefined && !/^[a-z0-9][a-z0-9+.-]+$/.test(args.docker.package)) problems.push(`docker.package = ${JSON.stringify(args.docker.package)}: a Debian package name`);
    if (args.docker?.version !== undefined && !/^[A-Za-z0-9.+~:*-]+$/.test(args.docker.version)) problems.push(`docker.version = ${JSON.stringify(args.docker.version)}: an apt version, e.g. 26.1.5+dfsg1-9 or 26.1.*`);
    return problems;
}

/**
 * Checks the shared and the target's own args (throws HostsArgsError naming every problem) and fills in the defaults.
 * Without a key, one is generated as `<name>-ssh-key` under `parent` (@pulumi/tls is loaded only then).
 */
export function resolveHostsArgs(
    component: string,
    name: string,
    args: HostsArgs,
    defaults: { adminCidr: string; sshUser: string },
    targetProblems: string[],
    parent: pulumi.Resource,
): HostsCommon {
    const problems = [...hostsArgsProblems(args), ...targetProblems];
    if (problems.length > 0) throw new HostsArgsError(component, problems);
    let key = args.sshKey;
    if (!key) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const tls = require("@pulumi/tls") as typeof import("@pulumi/tls");
        const generated = new tls.PrivateKey(`${name}-ssh-key`, { algorithm: "ED25519" }, { parent });
        key = { publicKey: generated.publicKeyOpenssh.apply((k) => k.trim()), privateKey: generated.privateKeyOpenssh };
    }
    return {
        managers: args.managers,
        workers: args.workers ?? 0,
        adminCidr: args.adminCidr ?? defaults.adminCidr,
        publishedPorts: [...(args.publishedPorts ?? [])],
        machineRevision: args.machineRevision ?? 0,
        dataPathPort: args.dataPathPort,
        docker: { package: args.docker?.package ?? "docker.io", version: args.docker?.version },
        ssh: { user: args.sshUser ?? defaults.sshUser },
        sshPublicKey: pulumi.output(key.publicKey),
        sshPrivateKey: pulumi.secret(key.privateKey),
        rollout: args.rollout,
    };
}

/**
 * A physical name stem (VM names, cloud tags, lab names) from the component's name: unique per stack and component,
 * so two clusters can live in one stack, and two stacks on one workstation or account.
 */
export function physicalStem(componentName: string): string {
    return `${pulumi.getStack()}-${componentName}`;
}

/** What a machine resource waits for in the roll, with the hardware's own dependencies. */
export function machineDependsOn(
    rollout: Rollout | undefined,
    host: { name: string; role: "manager" | "worker"; machineSpec: string },
    own: pulumi.Resource[] = [],
): pulumi.Input<pulumi.Resource[]> {
    if (!rollout) return own;
    return rollout.machineDependsOn(host.name, host.role, host.machineSpec).then((roll) => [...own, ...roll]);
}

/**
 * What every hosts component offers, and what a SwarmCluster is made of: the hosts in the common shape and the host
 * firewall they need. Machines that are not the kit's to make (your own hosts) outlive the cluster: on destroy each
 * node leaves the swarm and its firewall is removed, instead of the machine going.
 */
export interface Hardware {
    readonly hosts: SwarmHost[];
    /** The host firewall its hosts need (which ranges are nodes, admins, the load balancer on this target). */
    readonly firewall?: pulumi.Input<HostFirewallArgs>;
    /** The machines stay when the cluster is destroyed (see above). Default false. */
    readonly machinesOutlive?: boolean;
    /** The UDP port its firewalls open for overlay traffic (VXLAN), which the swarm is founded with. Default 4789. */
    readonly dataPathPort?: number;
}
