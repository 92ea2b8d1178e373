/**
 * Your own hosts: machines that already exist and run Docker (a bare-metal rack, VMs made elsewhere), reached over
 * SSH. Nothing is made or deleted: the kit checks each machine, applies the host firewall, bootstraps the swarm, and
 * on destroy leaves the machines as they were (out of the swarm, firewall removed).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { swarmNetworkProblems } from "../../swarm/settings";
import { Role, SwarmHost } from "../../host";
import { isValidCidr } from "../../net";
import { LIVE_HOST } from "../../ssh/dialPolicy";
import { MANAGER_COUNTS } from "../settings";
import { Hardware, HostsArgsError } from "../types";
import { renderExistingHostCheck } from "./check";

export interface ExistingHost {
    /** The machine's hostname: the swarm node's name. */
    name: string;
    role: Role;
    /** Where this program reaches it over SSH. */
    sshAddress: pulumi.Input<string>;
    /** The address on the private network that swarm advertises and nodes use between themselves. */
    privateAddress: pulumi.Input<string>;
    /** The login user (root, or a sudoer without a password). Default: the args' sshUser. */
    user?: pulumi.Input<string>;
    /** The machine's public SSH host key ("ssh-ed25519 AAAA..."): every connection checks the machine against it. */
    hostKey: pulumi.Input<string>;
    /** Default 22. */
    port?: pulumi.Input<number>;
}

export interface ExistingHostsArgs {
    /** The machines; the first manager founds the swarm. 1, 3, 5 or 7 managers. */
    hosts: ExistingHost[];
    /** The private key every host authorises for its login user. */
    sshPrivateKey: pulumi.Input<string>;
    /** Default root. */
    sshUser?: string;
    /** Where SSH may come from (the host firewall admits it from there only). */
    adminCidr: string;
    /**
     * Where the nodes' private addresses lie, as CIDRs. Default: each host's private address (/32), which needs the
     * addresses known when the program runs.
     */
    nodesCidrs?: string[];
    /** Where your load balancer sends from: the only sources that reach the published ports. Default none. */
    loadBalancerCidrs?: string[];
    /** TCP ports services publish. Default none. */
    publishedPorts?: number[];
    /** The swarm's VXLAN port, opened between the nodes. Default 4789. */
    dataPathPort?: number;
}

export function existingHostsProblems(args: ExistingHostsArgs): string[] {
    const problems: string[] = [];
    const managers = args.hosts.filter((h) => h.role === "manager").length;
    if (!(MANAGER_COUNTS as readonly number[]).includes(managers)) problems.push(`${managers} managers among the hosts: use 1, 3, 5 or 7 (an odd number, so a majority keeps quorum)`);
    const names = args.hosts.map((h) => h.name);
    for (const h of args.hosts) {
        if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(h.name)) problems.push(`host name ${JSON.stringify(h.name)}: a hostname (letters, digits, "-")`);
        if (h.role !== "manager" && h.role !== "worker") problems.push(`host ${h.name}: role ${JSON.stringify(h.role)} is not manager or worker`);
        if (typeof h.hostKey === "string" && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(h.hostKey)) {
            problems.push(`host ${h.name}: hostKey is not an OpenSSH public key line (ssh-keyscan -t ed25519 ADDRESS prints it)`);
        }
    }
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    if (dup.length > 0) problems.push(`host names must be unique: ${[...new Set(dup)].join(", ")}`);
    if (!isValidCidr(args.adminCidr)) problems.push(`adminCidr = ${JSON.stringify(args.adminCidr)}: an IPv4 CIDR such as 203.0.113.0/24`);
    for (const [key, list] of [["nodesCidrs", args.nodesCidrs], ["loadBalancerCidrs", args.loadBalancerCidrs]] as const) {
        for (const c of list ?? []) if (!isValidCidr(c)) problems.push(`${key}: ${JSON.stringify(c)} is not an IPv4 CIDR`);
    }
    if (args.nodesCidrs === undefined && args.hosts.some((h) => typeof h.privateAddress !== "string")) {
        problems.push("nodesCidrs is missing: the hosts' private addresses are outputs, so say where they lie");
    }
    for (const port of args.publishedPorts ?? []) {
        if (!Number.isInteger(port) || port < 1 || port > 65535 || [22, 2375, 2376, 2377, 7946].includes(port)) problems.push(`publishedPorts: ${port} is not an allowed TCP port`);
    }
    if (args.dataPathPort !== undefined) problems.push(...swarmNetworkProblems({ dataPathPort: args.dataPathPort }));
    return problems;
}

export class ExistingHosts extends pulumi.ComponentResource implements Hardware {
    /** Managers first, in the order given. */
    public readonly hosts: SwarmHost[];
    public readonly firewall: HostFirewallArgs;
    public readonly machinesOutlive = true;
    public readonly dataPathPort?: number;

    constructor(name: string, args: ExistingHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:hosts:ExistingHosts", name, {}, opts);
        const problems = existingHostsProblems(args);
        if (problems.length > 0) throw new HostsArgsError("ExistingHosts", problems);
        const privateKey = pulumi.secret(args.sshPrivateKey);
        const ordered = [...args.hosts.filter((h) => h.role === "manager"), ...args.hosts.filter((h) => h.role === "worker")];
        this.firewall = {
            nodes: args.nodesCidrs ?? ordered.map((h) => `${h.privateAddress as string}/32`),
            admin: [args.adminCidr],
            loadBalancer: args.loadBalancerCidrs ?? [],
            publishedPorts: args.publishedPorts ?? [],
            ...(args.dataPathPort === undefined ? {} : { dataPathPort: args.dataPathPort }),
        };
        this.dataPathPort = args.dataPathPort;
        this.hosts = ordered.map((h): SwarmHost => {
            const connection = {
                host: h.sshAddress,
                port: h.port ?? 22,
                user: h.user ?? args.sshUser ?? "root",
                privateKey,
                hostKey: h.hostKey,
                ...LIVE_HOST,
            };
            const check = new command.remote.Command(
                `${name}-${h.name}-check`,
                { connection, create: renderExistingHostCheck(h.name), triggers: [h.hostKey], addPreviousOutputInEnv: false },
                { parent: this },
            );
            return {
                name: h.name,
                role: h.role,
                sshAddress: h.sshAddress,
                privateAddress: h.privateAddress,
                connection,
                // The machine is who its host key says: a reinstalled machine (a new key) joins again.
                machineId: pulumi.all([h.hostKey, check.stdout]).apply(([key]) => key.trim()),
            };
        });
        this.registerOutputs({ hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, address: h.privateAddress })) });
    }
}
