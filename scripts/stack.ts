/**
 * Runs a Pulumi operation on a stack of this project through the Automation API, with the program inline (in
 * this process). Same result as `pulumi up` in the project directory, and it needs no Node.js language host,
 * which the toolchain built here cannot have.
 *   node --import tsx scripts/stack.ts up|preview|destroy|refresh STACK
 */
import { resolve } from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { swarmkitProgram } from "../components/program";

export const PROJECT_ROOT = resolve(__dirname, "..");

export async function selectStack(stackName: string) {
    const pulumiCommand = await PulumiCommand.get();
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "swarmkit", program: swarmkitProgram },
        { workDir: PROJECT_ROOT, pulumiCommand },
    );
}

async function main() {
    const [operation, stackName = "lab"] = process.argv.slice(2);
    const stack = await selectStack(stackName);
    const onOutput = (out: string) => process.stdout.write(out);
    switch (operation) {
        case "up":
            await stack.up({ onOutput, color: "auto" });
            break;
        case "preview":
            await stack.preview({ onOutput, color: "auto" });
            break;
        case "refresh":
            await stack.refresh({ onOutput, color: "auto" });
            break;
        case "destroy":
            await stack.destroy({ onOutput, color: "auto" });
            break;
        default:
            throw new Error(`unknown operation ${operation}: use up, preview, refresh or destroy`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        // The engine's own output already said what failed; print the rest without a stack trace.
        console.error(`\n${err instanceof Error ? err.message.split("\n").slice(-12).join("\n") : err}`);
        process.exit(1);
    });
}
