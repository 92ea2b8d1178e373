/**
 * Runs a Pulumi operation on a stack of this project through the Automation API, with the program inline (in
 * this process). Same result as `pulumi up` in the project directory, and it needs no Node.js language host,
 * which the toolchain built here cannot have.
 *   node --import tsx scripts/stack.ts up|preview|destroy|refresh|verify STACK
 *
 * `up` then checks the live swarm against the config (components/swarm/verify.ts) and exits non-zero, naming the
 * nodes, when they differ. On the clouds `up` and `preview` refresh first, so instances deleted outside Pulumi are
 * seen and made again.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalWorkspace, OutputMap, PulumiCommand } from "@pulumi/pulumi/automation";
import { swarmkitProgram } from "../components/program";
import { ProbeTarget, probe } from "../components/ssh/probe";
import { SwarmNode } from "../components/swarm/cluster";
import { LiveCheck, describeMatch, liveCheck, verifySwarm } from "../components/swarm/verify";
import { engineOptions } from "./engineOptions";
import { migrateStack } from "./migrate";

export const PROJECT_ROOT = resolve(__dirname, "..");

export async function selectStack(stackName: string) {
    const pulumiCommand = await PulumiCommand.get();
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "swarmkit", program: swarmkitProgram },
        { workDir: PROJECT_ROOT, pulumiCommand },
    );
}

/**
 * The stack's provider, read from its config file (stackConfigDir): a plain value, and reading the file spares a
 * CLI call on every run. Absent means the default, the lab.
 */
export function stackProvider(stackName: string): string {
    const file = join(PROJECT_ROOT, "stacks", `Pulumi.${stackName}.yaml`);
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    return /^\s+swarmkit:provider:\s*["']?([a-z]+)["']?\s*$/m.exec(text)?.[1] ?? "netns";
}

/** Cloud instances can vanish outside Pulumi; a refresh finds them. Lab and local VMs are looked at by the program. */
export function needsRefresh(stackName: string): boolean {
    return ["aws", "digitalocean"].includes(stackProvider(stackName));
}

/** How long `up` waits for a swarm that is still settling (nodes restarted a moment ago) to match the config. */
const VERIFY_SECONDS = Number(process.env.SWARMKIT_VERIFY_SECONDS ?? 45);

/**
 * Checks the live swarm of a stack that is up against its config (as the stack's outputs state it: its nodes, roles,
 * autolock, drainManagers); returns the differences (empty: it matches). The program already read the swarm once its
 * last step was done (the `liveCheck` output): when that read matched, it stands; otherwise, or when there was no
 * such read (`verify`, an older stack), the swarm is read again until it matches or VERIFY_SECONDS pass.
 */
export async function verifyStack(
    outputs: OutputMap,
    log: (line: string) => void,
    { useLiveCheck = true, prober = probe, seconds = VERIFY_SECONDS }: { useLiveCheck?: boolean; prober?: typeof probe; seconds?: number } = {},
): Promise<string[]> {
    const nodes = (outputs.nodes?.value ?? []) as SwarmNode[];
    const autolock = outputs.autolock?.value === true;
    const drainManagers = outputs.drainManagers?.value === true;
    const dockerVersion = (outputs.dockerVersion?.value as string | undefined) || undefined;
    const privateKey = outputs.sshPrivateKey?.value as string | undefined;
    if (nodes.length === 0 || !privateKey) return ["the stack has no nodes in its outputs: is it up?"];
    const expect = { hosts: nodes.map((n) => ({ name: n.name, role: n.role })), autolock, drainManagers, dockerVersion };
    const read = outputs.liveCheck?.value as LiveCheck | undefined;
    if (useLiveCheck && read && read.differences.length === 0) {
        log(describeMatch(read));
        return [];
    }
    const managers: ProbeTarget[] = nodes
        .filter((n) => n.role === "manager")
        .map((n) => ({ name: n.name, host: n.sshAddress, port: 22, user: n.sshUser, privateKey, hostKey: n.hostKey }));
    const { differences, live } = await verifySwarm(managers, expect, seconds, prober);
    if (differences.length === 0) log(describeMatch(liveCheck(expect, live)));
    return differences;
}

async function main() {
    const [operation, stackName = "lab"] = process.argv.slice(2);
    const stack = await selectStack(stackName);
    const onOutput = (out: string) => process.stdout.write(out);
    if (["up", "preview", "destroy"].includes(operation)) await migrateStack(stack, console.log);
    switch (operation) {
        case "up": {
            const result = await stack.up({ ...engineOptions(), onOutput, color: "auto", refresh: needsRefresh(stackName) });
            const differences = await verifyStack(result.outputs, console.log);
            if (differences.length > 0) {
                console.error(`\nswarmkit: the live swarm differs from the config, and this run could not make it match:\n  - ${differences.join("\n  - ")}`);
                process.exit(2);
            }
            break;
        }
        case "verify": {
            const differences = await verifyStack(await stack.outputs(), console.log, { useLiveCheck: false });
            if (differences.length > 0) {
                console.error(`swarmkit: the live swarm differs from the config:\n  - ${differences.join("\n  - ")}`);
                process.exit(2);
            }
            break;
        }
        case "preview":
            await stack.preview({ ...engineOptions(), onOutput, color: "auto", refresh: needsRefresh(stackName) });
            break;
        case "refresh":
            await stack.refresh({ ...engineOptions(), onOutput, color: "auto" });
            break;
        case "destroy":
            await stack.destroy({ ...engineOptions(), onOutput, color: "auto" });
            break;
        default:
            throw new Error(`unknown operation ${operation}: use up, preview, refresh, verify or destroy`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        // The engine's output already said what failed; print the rest without a stack trace.
        console.error(`\n${err instanceof Error ? err.message.split("\n").slice(-12).join("\n") : err}`);
        process.exit(1);
    });
}
