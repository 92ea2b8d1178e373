/**
 * The Docker engine version each node runs, read from the swarm's node list once the swarm's steps are done (the
 * list carries every node's engine version, so one read on the operating manager is enough), and checked against
 * the version the cluster expects.
 */
import { SwarmHost } from "../host";
import { probe } from "../ssh/probe";
import { Prober, parseRead, probeTarget } from "./observe";
import { renderRead } from "./scripts";
import { engineMatches } from "./settings";

/** By host name, the version its Ready entry reports; empty when the operator could not be read. */
export async function readEngineVersions(operator: SwarmHost, prober: Prober = probe): Promise<Record<string, string>> {
    const target = await probeTarget(operator);
    if (!target) return {};
    const result = await prober(target, renderRead(true));
    if (result.kind !== "ok") return {};
    const nodes = parseRead(result.stdout).nodes ?? [];
    const versions: Record<string, string> = {};
    for (const n of nodes) if (n.status === "Ready" && n.engineVersion) versions[n.hostname] = n.engineVersion;
    return versions;
}

/** "worker-1 runs Docker 27.0.3" for each configured host whose engine is not the wanted one. */
export function engineMismatches(versions: Record<string, string>, hosts: string[], wanted: string): string[] {
    return hosts.filter((h) => versions[h] !== undefined && !engineMatches(versions[h], wanted)).map((h) => `${h} runs Docker ${versions[h]}, the config says ${wanted}`);
}
