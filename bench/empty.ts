/**
 * The engine's floor for `npm run bench`: `pulumi up` of an inline program on a throwaway stack of its own project
 * in DIR (a temp dir with its own Pulumi.yaml), run the same way as scripts/stack.ts runs the kit's program
 * (Automation API, program in this process).
 *   node --import tsx bench/empty.ts up|destroy|rm DIR STACK [COMMANDS COMPONENTS]
 * Without COMMANDS the program declares nothing and returns {}: the empty program. With them it declares
 * COMPONENTS component resources and COMMANDS `command:local:Command` resources spread over them, each running
 * `true` once: as many resources, of the kinds the kit's stack holds, with nothing to do. Its no-op up is what the
 * engine costs for that many resources, whatever they do.
 */
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { engineOptions } from "../scripts/engineOptions";

export const EMPTY_PROJECT = "swarmkit-bench-empty";

async function floorProgram(commands: number, components: number): Promise<Record<string, never>> {
    // Loaded only here: the empty program loads no provider SDK.
    const pulumi = await import("@pulumi/pulumi");
    const command = await import("@pulumi/command");
    class Group extends pulumi.ComponentResource {
        constructor(name: string) {
            super("swarmkitbench:floor:Group", name);
            this.registerOutputs({});
        }
    }
    const parents = Array.from({ length: components }, (_, i) => new Group(`group-${i}`));
    for (let i = 0; i < commands; i++) {
        const parent = parents.length ? parents[i % parents.length] : undefined;
        new command.local.Command(`step-${i}`, { create: "true" }, { parent });
    }
    return {};
}

async function main() {
    const [operation, workDir, stackName, commandsArg, componentsArg] = process.argv.slice(2);
    if (!workDir || !stackName) throw new Error("usage: empty.ts up|destroy|rm DIR STACK [COMMANDS COMPONENTS]");
    const commands = Number(commandsArg ?? 0);
    const components = Number(componentsArg ?? 0);
    if (!Number.isInteger(commands) || !Number.isInteger(components) || commands < 0 || components < 0) {
        throw new Error("COMMANDS and COMPONENTS are counts (whole numbers, 0 or more)");
    }
    const program = commands + components > 0 ? () => floorProgram(commands, components) : async () => ({});
    const pulumiCommand = await PulumiCommand.get();
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: EMPTY_PROJECT, program }, { workDir, pulumiCommand });
    const onOutput = (out: string) => process.stdout.write(out);
    switch (operation) {
        case "up":
            await stack.up({ ...engineOptions(), onOutput, color: "never" });
            break;
        case "destroy":
            await stack.destroy({ ...engineOptions(), onOutput, color: "never" });
            break;
        case "rm":
            await stack.workspace.removeStack(stackName, { force: true });
            break;
        default:
            throw new Error(`unknown operation ${operation}`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
