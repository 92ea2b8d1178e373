/**
 * How long a step keeps dialling a host that refuses or does not answer, chosen from what the upstream command
 * provider does (the kit's own build retries the same way; docs/command-provider.md): `dialErrorLimit` L gives
 * L + 1 attempts, waiting 0.1 s after the first failure, 1.5 times longer after each next one, at most 5 s.
 * An attempt that times out instead of being refused adds `perDialTimeout` seconds.
 */

const FIRST_WAIT = 0.1;
const BACKOFF = 1.5;
const MAX_WAIT = 5;

/** Seconds spent waiting between attempts before a step with this limit gives up (dials themselves not counted). */
export function retryWaitSeconds(dialErrorLimit: number): number {
    let total = 0;
    let wait = FIRST_WAIT;
    for (let i = 0; i < dialErrorLimit; i++) {
        total += Math.min(wait, MAX_WAIT);
        wait *= BACKOFF;
    }
    return total;
}

/** Worst case: every attempt runs into the per-dial timeout (an address that drops packets). */
export function worstCaseSeconds(policy: DialPolicy): number {
    return retryWaitSeconds(policy.dialErrorLimit) + (policy.dialErrorLimit + 1) * policy.perDialTimeout;
}

export interface DialPolicy {
    dialErrorLimit: number;
    perDialTimeout: number;
}

/**
 * A machine that should answer now (created and checked earlier in the run, or long running): a refused
 * connection means sshd or the machine is down, so fail within seconds and name it. 5 retries wait 1.3 s.
 */
export const LIVE_HOST: DialPolicy = { dialErrorLimit: 5, perDialTimeout: 10 };

/** A lab host: its sshd is started before its create step returns; same patience as a live host, shorter dials. */
export const LAB_HOST: DialPolicy = { dialErrorLimit: 5, perDialTimeout: 5 };

/**
 * The first step on a machine that just booted (the readiness check of a cloud or local VM): sshd comes up after
 * the kernel, cloud-init and key generation. 40 retries wait 161 s (~2.7 min), enough for EC2, droplets and KVM
 * guests; a TCG-emulated guest gets more through its own settings.
 */
export const BOOTING_HOST: DialPolicy = { dialErrorLimit: 40, perDialTimeout: 10 };

/** A local VM under software emulation (no KVM) takes minutes to reach sshd: 70 retries wait 311 s (~5.2 min). */
export const EMULATED_BOOT: DialPolicy = { dialErrorLimit: 70, perDialTimeout: 10 };
