/**
 * Names and tags of one stack's DigitalOcean resources. Tags and VPC names take lowercase letters, digits and "-"
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
export function clusterTagName(stack: string): string {
    return `swarmkit-${slug(stack)}`;
}

/** A second tag per role, e.g. "swarmkit-do-3-manager", for the console and doctl (`--tag-name`). */
export function roleTagName(stack: string, role: Role): string {
    return `${clusterTagName(stack)}-${role}`;
}

/** Droplet names are unique per stack and readable in the console; the hostname stays the logical host name. */
export function dropletName(stack: string, hostName: string): string {
    return `${clusterTagName(stack)}-${hostName}`;
}
