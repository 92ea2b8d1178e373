/** What every remote step script starts with: strict mode, the host and step it reports failures with, root. */

/** Single-quotes a value for the shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface StepContext {
    /** Logical host name the script runs on, e.g. "manager-1". */
    host: string;
    /** Step name, e.g. "init", "join", "firewall". */
    step: string;
}

/**
 * `fail` and `log` name the host and the step on stderr (a failing step's error carries them to the user under
 * any command provider); `as_root` runs a command as root whether the login user is root or a sudoer.
 */
export function stepPrelude(ctx: StepContext): string[] {
    return [
        "#!/bin/sh",
        "set -eu",
        `swarmkit_host=${shellQuote(ctx.host)}`,
        `swarmkit_step=${shellQuote(ctx.step)}`,
        'fail() { echo "swarmkit: host $swarmkit_host: step $swarmkit_step: $*" >&2; exit 1; }',
        'log() { echo "swarmkit: host $swarmkit_host: step $swarmkit_step: $*" >&2; }',
        'if [ "$(id -u)" = 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi',
    ];
}
