/**
 * Resource operations the engine runs at once. The CLI's default is 4 per CPU (8 on a 2-core machine), which sends
 * the hosts, their joins and their firewall steps out in waves of 8; the kit's steps mostly wait on SSH, so it lets
 * every host's step run at once. PULUMI_PARALLEL, when set, is the operator's choice and wins.
 */
export const ENGINE_PARALLEL = 256;

/** The options every operation of the kit passes the engine. */
export function engineOptions(): { parallel?: number } {
    return process.env.PULUMI_PARALLEL ? {} : { parallel: ENGINE_PARALLEL };
}
