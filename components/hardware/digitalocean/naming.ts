/**
 * Names and tags of one cluster's DigitalOcean resources, from its stem (`<stack>-<component>`, or the kit's stack). Tags and VPC names take lowercase letters, digits and "-"
 * here (DigitalOcean allows a few more characters, stack names allow others), so the stack name is folded.
 */
import { Role } from "../../host";

/** "Do.3_test" -> "do-3-test". */
export function slug(value: string): string {
    const folded = value
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-|-$/g, "");
    return folded === "" ? "stack" : folded;
}

/** The tag every droplet of the stack carries; the cloud firewall and the load balancer select droplets by it. */
export function clusterTagName(stem: string): string {
    return `swarmkit-${slug(stem)}`;
}

/** A second tag per role, e.g. "swarmkit-do-3-manager", for the console and doctl (`--tag-name`). */
export function roleTagName(stem: string, role: Role): string {
    return `${clusterTagName(stem)}-${role}`;
}

/** Droplet names are unique per stack and readable in the console; the hostname stays the logical host name. */
export function dropletName(stem: string, hostName: string): string {
    return `${clusterTagName(stem)}-${hostName}`;
}
