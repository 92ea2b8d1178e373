/**
 * Where each host goes: managers round-robin over the zones (manager-1 in zone 0, manager-2 in zone 1, ...), so
 * no zone ever holds a majority of the managers as long as there are 3 zones or more, and losing one zone keeps
 * raft's quorum; workers round-robin on their own, starting at zone 0 as well (with as many workers as zones, or
 * more, every zone runs tasks: aws-3 and aws-5 have 3 workers for 3 zones).
 */
import { Role, hostNames } from "../../host";

export interface Placement {
    name: string;
    role: Role;
    /** Index into the list of zones (and of their public subnets). */
    zone: number;
}

export function placeHosts(managers: number, workers: number, zoneCount: number): Placement[] {
    if (!Number.isInteger(zoneCount) || zoneCount < 1) throw new Error(`cannot place hosts in ${zoneCount} zones`);
    const seen: Record<Role, number> = { manager: 0, worker: 0 };
    return hostNames(managers, workers).map(({ name, role }) => ({ name, role, zone: seen[role]++ % zoneCount }));
}

