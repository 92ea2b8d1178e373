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
import { FIREWALL_CHAINS, FIREWALL_PATH, HostFirewallArgs, INPUT_CHAIN, PUBLISHED_CHAIN, renderHostFirewall } from "./hostFirewall";

export interface HostFirewallsArgs {
    hosts: SwarmHost[];
    /** The same rules for every host of the cluster. */
    rules: pulumi.Input<HostFirewallArgs>;
    /** The machines outlive the cluster (your own hosts): on destroy the firewall is removed from each. */
    removeOnDestroy?: boolean;
}

/** Where the INPUT policy a host had before the kit's first firewall is kept, for the removal to restore. */
const POLICY_BEFORE = `${FIREWALL_PATH}.input-policy-before`;

/** Saves the firewall script on the host and runs it. */
export function renderApplyFirewall(host: string, firewall: string, keepPolicyBefore = false): string {
    if (firewall.includes("SWARMKIT_FIREWALL")) throw new Error("the firewall script must not contain the heredoc marker");
    return [
        ...stepPrelude({ host, step: "firewall" }),
        `as_root mkdir -p ${FIREWALL_PATH.replace(/\/[^/]+$/, "")}`,
        // The policy the host had before the kit's first firewall (which sets DROP): a removal restores it.
        ...(keepPolicyBefore ? [`[ -s ${POLICY_BEFORE} ] || as_root sh -c 'iptables -w -S INPUT | sed -n "s/^-P INPUT //p" > ${POLICY_BEFORE}'`] : []),
        `as_root sh -c 'cat >${FIREWALL_PATH}.new && chmod 0755 ${FIREWALL_PATH}.new && mv ${FIREWALL_PATH}.new ${FIREWALL_PATH}' <<'SWARMKIT_FIREWALL' || fail "cannot write ${FIREWALL_PATH}"`,
        firewall.trimEnd(),
        "SWARMKIT_FIREWALL",
        `out=$(as_root /bin/sh ${FIREWALL_PATH} 2>&1) || fail "the host firewall did not apply: $out"`,
        "",
    ].join("\n");
}

/**
 * Removes the kit's host firewall: the jumps into its chains, the chains, its script, and the INPUT policy as it was
 * before. Idempotent. Run on destroy on machines that outlive the cluster.
 */
export function renderRemoveFirewall(host: string): string {
    return [
        ...stepPrelude({ host, step: "remove firewall" }),
        `while as_root iptables -w -D INPUT -j ${INPUT_CHAIN} 2>/dev/null; do :; done`,
        `while as_root iptables -w -D DOCKER-USER -j ${PUBLISHED_CHAIN} 2>/dev/null; do :; done`,
        `for chain in ${FIREWALL_CHAINS.join(" ")}; do as_root iptables -w -F "$chain" 2>/dev/null || true; as_root iptables -w -X "$chain" 2>/dev/null || true; done`,
        `policy=$(as_root cat ${POLICY_BEFORE} 2>/dev/null || true)`,
        `as_root iptables -w -P INPUT "\${policy:-ACCEPT}" || fail "cannot restore the INPUT policy"`,
        `as_root rm -f ${FIREWALL_PATH} ${POLICY_BEFORE}`,
        `as_root rmdir ${FIREWALL_PATH.replace(/\/[^/]+$/, "")} 2>/dev/null || true`,
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
                    create: firewall.apply((script) => renderApplyFirewall(host.name, script, args.removeOnDestroy)),
                    ...(args.removeOnDestroy ? { delete: renderRemoveFirewall(host.name) } : {}),
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
