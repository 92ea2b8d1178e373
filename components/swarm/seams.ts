/**
 * The test seams of SwarmCluster: not part of its args (a symbol key no user passes by accident), so that the
 * package's public surface carries no test hooks. Unit tests hand the cluster an observation instead of reading
 * machines over SSH, or a prober that stands in for SSH.
 */
import * as pulumi from "@pulumi/pulumi";
import { Prober, SwarmObservation } from "./observe";

export const SEAMS = Symbol("swarmkit.swarm.seams");

export interface SwarmSeams {
    /** Present (even undefined: "a new swarm"): no read of the machines, this is what it found. */
    observation?: SwarmObservation;
    prober?: Prober;
    /** Stands in for the firewall steps: by host name, what its steps wait for. */
    hostReady?: Record<string, pulumi.Input<pulumi.Resource>[]>;
}

/** The args with seams attached. */
export function withSeams<T extends object>(args: T, seams: SwarmSeams): T {
    return Object.assign({ ...args }, { [SEAMS]: seams });
}
