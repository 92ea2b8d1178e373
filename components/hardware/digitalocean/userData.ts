/**
 * The user data of one droplet: the kit's shared cloud-init (Docker, the host firewall from the port table) with
 * the DigitalOcean specifics filled in. Pure.
 */
import { DigitalOceanSettings, SwarmkitConfig } from "../../config";
import { CloudInitArgs, renderCloudInit } from "../cloudInit";

/** DigitalOcean's Marketplace Docker images ("docker-20-04", "docker-22-04", ...) ship Docker already. */
export function isDockerImage(imageSlug: string): boolean {
    return /^docker(-|$)/.test(imageSlug);
}

export interface DropletUserDataArgs {
    hostname: string;
    config: SwarmkitConfig;
    settings: DigitalOceanSettings;
    sshPublicKey: string;
}

export function dropletCloudInitArgs(args: DropletUserDataArgs): CloudInitArgs {
    const { config, settings } = args;
    return {
        hostname: args.hostname,
        firewall: {
            // Nodes talk over the VPC, and the load balancer reaches them from its VPC address.
            nodesCidr: settings.vpcCidr,
            adminCidr: config.adminCidr,
            loadBalancerCidr: settings.vpcCidr,
            publishedPorts: config.publishedPorts,
        },
        // DigitalOcean authorises the droplet's SSH keys for root itself; another login user has to be created.
        sshAuthorizedKeys: config.ssh.user === "root" ? undefined : [args.sshPublicKey],
        user: config.ssh.user,
        dockerPreinstalled: isDockerImage(settings.image),
    };
}

export function dropletUserData(args: DropletUserDataArgs): string {
    return renderCloudInit(dropletCloudInitArgs(args));
}
