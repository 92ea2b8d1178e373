/**
 * The same program through the Automation API, inline (in this process): `npx tsx automation.ts up|destroy STACK
 * [CONFIG.json]`, where CONFIG.json holds the stack's config as {"example:key": {"value": "...", "secret": true}}.
 * It needs no Node.js language host, and prints the stack's outputs as JSON (secrets masked) after `up`.
 */
import { readFileSync } from "node:fs";
import { ConfigMap, LocalWorkspace } from "@pulumi/pulumi/automation";
import { program } from "./program";

async function main() {
    const [operation, stackName, configFile] = process.argv.slice(2);
    if (!["up", "destroy", "preview"].includes(operation) || !stackName) throw new Error("usage: automation.ts up|preview|destroy STACK [CONFIG.json]");
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: "swarmkit-example", program }, { workDir: __dirname });
    if (configFile) await stack.setAllConfig(JSON.parse(readFileSync(configFile, "utf8")) as ConfigMap);
    const onOutput = (s: string) => process.stderr.write(s);
    if (operation === "up") {
        const result = await stack.up({ onOutput, color: "never" });
        const outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
        process.stdout.write(`${JSON.stringify({ changes: result.summary.resourceChanges, outputs })}\n`);
    } else if (operation === "preview") {
        const result = await stack.preview({ onOutput, color: "never" });
        process.stdout.write(`${JSON.stringify({ changes: result.changeSummary })}\n`);
    } else {
        await stack.destroy({ onOutput, color: "never" });
        await stack.workspace.removeStack(stackName);
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
