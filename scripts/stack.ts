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
import { resolve } from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { parseConfig } from "../components/config";
import { swarmkitProgram } from "../components/program";
import { ProbeTarget } from "../components/ssh/probe";
import { SwarmNode } from "../components/swarm/cluster";
import { verifySwarm } from "../components/swarm/verify";
import { migrateStack } from "./migrate";

export const PROJECT_ROOT = resolve(__dirname, "..");

export async function selectStack(stackName: string) {
    const pulumiCommand = await PulumiCommand.get();
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "swarmkit", program: swarmkitProgram },
        { workDir: PROJECT_ROOT, pulumiCommand },
    );
}

/** The stack's config as the kit reads it. */
async function stackConfig(stack: Stack) {
    const all = await stack.getAllConfig();
    return parseConfig((key) => all[key]?.value);
}

/** Cloud instances can vanish outside Pulumi; a refresh finds them. Lab and local VMs are looked at by the program. */
export async function needsRefresh(stack: Stack): Promise<boolean> {
    const provider = (await stack.getAllConfig())["swarmkit:provider"]?.value;
    return provider === "aws" || provider === "digitalocean";
}

/** How long `up` waits for a swarm that is still settling (nodes restarted a moment ago) to match the config. */
const VERIFY_SECONDS = Number(process.env.SWARMKIT_VERIFY_SECONDS ?? 45);

/** Checks the live swarm of a stack that is up against its config; returns the differences (empty: it matches). */
export async function verifyStack(stack: Stack, log: (line: string) => void): Promise<string[]> {
    const config = await stackConfig(stack);
    const outputs = await stack.outputs();
    const nodes = (outputs.nodes?.value ?? []) as SwarmNode[];
    const privateKey = outputs.sshPrivateKey?.value as string | undefined;
    if (nodes.length === 0 || !privateKey) return ["the stack has no nodes in its outputs: is it up?"];
    const managers: ProbeTarget[] = nodes
        .filter((n) => n.role === "manager")
        .map((n) => ({ name: n.name, host: n.sshAddress, port: 22, user: n.sshUser, privateKey, hostKey: n.hostKey }));
    const { differences, live } = await verifySwarm(
        managers,
        { hosts: nodes.map((n) => ({ name: n.name, role: n.role })), autolock: config.autolock, drainManagers: config.drainManagers },
        VERIFY_SECONDS,
    );
    if (differences.length === 0) {
        const managerStates = live.nodes.filter((n) => n.managerStatus).map((n) => `${n.hostname} ${n.managerStatus}`);
        log(`swarmkit: the live swarm matches the config: ${managerStates.join(", ")}; ${nodes.length - managerStates.length} workers; every node Ready; autolock ${config.autolock ? "on" : "off"}`);
    }
    return differences;
}

async function main() {
    const [operation, stackName = "lab"] = process.argv.slice(2);
    const stack = await selectStack(stackName);
    const onOutput = (out: string) => process.stdout.write(out);
    if (["up", "preview", "destroy"].includes(operation)) await migrateStack(stack, console.log);
    switch (operation) {
        case "up": {
            await stack.up({ onOutput, color: "auto", refresh: await needsRefresh(stack) });
            const differences = await verifyStack(stack, console.log);
            if (differences.length > 0) {
                console.error(`\nswarmkit: the live swarm differs from the config, and this run could not make it match:\n  - ${differences.join("\n  - ")}`);
                process.exit(2);
            }
            break;
        }
        case "verify": {
            const differences = await verifyStack(stack, console.log);
            if (differences.length > 0) {
                console.error(`swarmkit: the live swarm differs from the config:\n  - ${differences.join("\n  - ")}`);
                process.exit(2);
            }
            break;
        }
        case "preview":
            await stack.preview({ onOutput, color: "auto", refresh: await needsRefresh(stack) });
            break;
        case "refresh":
            await stack.refresh({ onOutput, color: "auto" });
            break;
        case "destroy":
            await stack.destroy({ onOutput, color: "auto" });
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
