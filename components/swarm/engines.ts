/**
 * The Docker engine version each node runs, read from the swarm's node list once the swarm's steps are done (the
 * list carries every node's engine version, so one read on the operating manager is enough), and checked against
 * the version the cluster expects. The same read is the live check `up` reports (verify.ts), so that a run that
 * matches needs no second read.
 */
import { SwarmHost } from "../host";
import { probe } from "../ssh/probe";
import { Prober, parseRead, probeTarget } from "./observe";
import { renderRead } from "./scripts";
import { engineMatches } from "./settings";
import { LiveSwarm } from "./verify";

export interface AfterSteps {
    /** By host name, the version its Ready entry reports; empty when the operator could not be read. */
    versions: Record<string, string>;
    /** The swarm as the operator sees it; absent when it could not be read or cannot act for the swarm. */
    live?: LiveSwarm;
}

/** One read on the operator once the swarm's steps are done: the engine versions, and the swarm for the live check. */
export async function readAfterSteps(operator: SwarmHost, prober: Prober = probe): Promise<AfterSteps> {
    const target = await probeTarget(operator);
    if (!target) return { versions: {} };
    const result = await prober(target, renderRead(true));
    if (result.kind !== "ok") return { versions: {} };
    const { local, nodes } = parseRead(result.stdout);
    const versions: Record<string, string> = {};
    for (const n of nodes ?? []) if (n.status === "Ready" && n.engineVersion) versions[n.hostname] = n.engineVersion;
    const live = local.controlAvailable && nodes ? { operator: operator.name, nodes, operatorState: local, managerProblems: [] } : undefined;
    return { versions, live };
}

/** "worker-1 runs Docker 27.0.3" for each configured host whose engine is not the wanted one. */
export function engineMismatches(versions: Record<string, string>, hosts: string[], wanted: string): string[] {
    return hosts.filter((h) => versions[h] !== undefined && !engineMatches(versions[h], wanted)).map((h) => `${h} runs Docker ${versions[h]}, the config says ${wanted}`);
}
