/**
 * The engine's floor for `npm run bench`: `pulumi up` of an inline program that returns {} and declares nothing,
 * on a throwaway stack of its own project in DIR (a temp dir with its own Pulumi.yaml), run the same way as
 * scripts/stack.ts runs the kit's program (Automation API, program in this process).
 *   node --import tsx bench/empty.ts up|destroy|rm DIR STACK
 */
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";

export const EMPTY_PROJECT = "swarmkit-bench-empty";

async function main() {
    const [operation, workDir, stackName] = process.argv.slice(2);
    if (!workDir || !stackName) throw new Error("usage: empty.ts up|destroy|rm DIR STACK");
    const pulumiCommand = await PulumiCommand.get();
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, projectName: EMPTY_PROJECT, program: async () => ({}) },
        { workDir, pulumiCommand },
    );
    const onOutput = (out: string) => process.stdout.write(out);
    switch (operation) {
        case "up":
            await stack.up({ onOutput, color: "never" });
            break;
        case "destroy":
            await stack.destroy({ onOutput, color: "never" });
            break;
        case "rm":
            await stack.workspace.removeStack(stackName, { force: true });
            break;
        default:
            throw new Error(`unknown operation ${operation}`);
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
