/**
 * The user data of one droplet: the kit's shared cloud-init (Docker, the host firewall from the port table) with
 * the DigitalOcean specifics filled in. Pure.
 */
import { DigitalOceanSettings } from "../settings";
import { HostsCommon } from "../types";
import { HostFirewallArgs } from "../../firewall/hostFirewall";
import { CloudInitArgs, HostKeyPair, renderCloudInit } from "../cloudInit";

/** DigitalOcean's Marketplace Docker images ("docker-20-04", "docker-22-04", ...) ship Docker already. */
export function isDockerImage(imageSlug: string): boolean {
    return /^docker(-|$)/.test(imageSlug);
}

export interface DropletUserDataArgs {
    hostname: string;
    common: Pick<HostsCommon, "adminCidr" | "publishedPorts" | "ssh"> & Partial<Pick<HostsCommon, "dataPathPort" | "docker">>;
    settings: DigitalOceanSettings;
    sshPublicKey: string;
    hostKey: HostKeyPair;
}

/**
 * The host firewall of a droplet. Nodes talk over the VPC, and the load balancer reaches them from its VPC address.
 * Behind the cloud firewall, which admits SSH from adminCidr only, the host does not pin SSH to a range too (a new
 * admin address then needs one `pulumi up`); without it the host firewall is the only filter and does.
 */
export function dropletFirewall(config: Pick<HostsCommon, "adminCidr" | "publishedPorts"> & Partial<Pick<HostsCommon, "dataPathPort">>, settings: DigitalOceanSettings): HostFirewallArgs {
    return {
        nodes: [settings.vpcCidr],
        admin: [settings.cloudFirewall ? "0.0.0.0/0" : config.adminCidr],
        loadBalancer: [settings.vpcCidr],
        publishedPorts: config.publishedPorts,
        ...(config.dataPathPort === undefined ? {} : { dataPathPort: config.dataPathPort }),
    };
}

export function dropletCloudInitArgs(args: DropletUserDataArgs): CloudInitArgs {
    const { common: config, settings } = args;
    return {
        hostname: args.hostname,
        firewall: dropletFirewall(config, settings),
        hostKey: args.hostKey,
        // DigitalOcean authorises the droplet's SSH keys for root itself; another login user has to be created.
        sshAuthorizedKeys: config.ssh.user === "root" ? undefined : [args.sshPublicKey],
        user: config.ssh.user,
        dockerPreinstalled: isDockerImage(settings.image),
        docker: config.docker,
    };
}

export function dropletUserData(args: DropletUserDataArgs): string {
    return renderCloudInit(dropletCloudInitArgs(args));
}
