/**
 * The host firewall as a step of its own on every host, applied over SSH: when its rules change (a new adminCidr,
 * other published ports) one `pulumi up` rewrites them on every running machine, and nothing is replaced. The
 * script is also saved where the boot-time unit (cloud-init) or the lab's start runs it, so a reboot restores the
 * current rules, not the first ones.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost } from "../host";
import { commandConnection } from "../ssh/connection";
import { stepPrelude } from "../ssh/shell";
import { FIREWALL_PATH, HostFirewallArgs, renderHostFirewall } from "./hostFirewall";

export interface HostFirewallsArgs {
    hosts: SwarmHost[];
    /** The same rules for every host of the cluster. */
    rules: pulumi.Input<HostFirewallArgs>;
}

/** Saves the firewall script on the host and runs it. */
export function renderApplyFirewall(host: string, firewall: string): string {
    if (firewall.includes("SWARMKIT_FIREWALL")) throw new Error("the firewall script must not contain the heredoc marker");
    return [
        ...stepPrelude({ host, step: "firewall" }),
        `as_root mkdir -p ${FIREWALL_PATH.replace(/\/[^/]+$/, "")}`,
        `as_root sh -c 'cat >${FIREWALL_PATH}.new && chmod 0755 ${FIREWALL_PATH}.new && mv ${FIREWALL_PATH}.new ${FIREWALL_PATH}' <<'SWARMKIT_FIREWALL' || fail "cannot write ${FIREWALL_PATH}"`,
        firewall.trimEnd(),
        "SWARMKIT_FIREWALL",
        `out=$(as_root /bin/sh ${FIREWALL_PATH} 2>&1) || fail "the host firewall did not apply: $out"`,
        "",
    ].join("\n");
}

export class HostFirewalls extends pulumi.ComponentResource {
    /** The firewall step of each host, by host name: depend on them before using the hosts. */
    public readonly steps: Record<string, command.remote.Command>;

    constructor(name: string, args: HostFirewallsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarmkit:firewall:HostFirewalls", name, {}, opts);
        const firewall = pulumi.output(args.rules).apply((rules) => renderHostFirewall(rules as HostFirewallArgs));
        this.steps = {};
        for (const host of args.hosts) {
            this.steps[host.name] = new command.remote.Command(
                `${name}-${host.name}`,
                {
                    connection: commandConnection(host),
                    create: firewall.apply((script) => renderApplyFirewall(host.name, script)),
                    // A new machine gets the rules applied; the same machine only when they change.
                    triggers: [host.machineId],
                    addPreviousOutputInEnv: false,
                },
                { parent: this },
            );
        }
        this.registerOutputs({ hosts: Object.keys(this.steps) });
    }
}
