/**
 * Finds the managers of a stack that came back locked (autolock, after a reboot or a dockerd restart) and unlocks
 * them with the stack's secret unlock key. The key travels on ssh's stdin only; it is never printed.
 *   npm run unlock -- STACK
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectStack } from "./stack";

interface NodeOutput {
    name: string;
    role: string;
    sshAddress: string;
}

export async function unlockStack(stackName: string, log: (line: string) => void = console.log): Promise<Record<string, string>> {
    const stack = await selectStack(stackName);
    const outputs = await stack.outputs();
    const unlockKey = outputs.unlockKey?.value as string | undefined;
    if (!unlockKey) throw new Error(`stack ${stackName} has no unlock key: is autolock on and the stack up?`);
    const privateKey = (await stack.getConfig("swarmkit:sshPrivateKey").catch(() => undefined))?.value;
    if (!privateKey) throw new Error(`stack ${stackName} has no swarmkit:sshPrivateKey in its config to reach the managers with`);
    const user = (outputs.dockerHost?.value as string).replace(/^ssh:\/\/([^@]+)@.*$/, "$1");
    const managers = (outputs.nodes.value as NodeOutput[]).filter((n) => n.role === "manager");

    const dir = mkdtempSync(join(tmpdir(), "swarmkit-unlock-"));
    const keyFile = join(dir, "key");
    writeFileSync(keyFile, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    const ssh = (address: string, command: string, input = "") =>
        spawnSync(
            "ssh",
            ["-i", keyFile, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `${user}@${address}`, command],
            { input, encoding: "utf8" },
        );
    const result: Record<string, string> = {};
    try {
        for (const m of managers) {
            const state = ssh(m.sshAddress, "docker info --format '{{.Swarm.LocalNodeState}}'");
            if (state.status !== 0) {
                result[m.name] = `unreachable: ${state.stderr.trim()}`;
            } else if (state.stdout.trim() !== "locked") {
                result[m.name] = state.stdout.trim();
            } else {
                const unlock = ssh(m.sshAddress, "docker swarm unlock", `${unlockKey}\n`);
                result[m.name] = unlock.status === 0 ? "unlocked" : `unlock failed: ${unlock.stderr.replace(unlockKey, "***").trim()}`;
            }
            log(`${m.name} (${m.sshAddress}): ${result[m.name]}`);
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    return result;
}

if (require.main === module) {
    unlockStack(process.argv[2] ?? "lab")
        .then((r) => process.exit(Object.values(r).some((s) => s.startsWith("unlock failed")) ? 1 : 0))
        .catch((err) => {
            console.error(`swarmkit unlock: ${err instanceof Error ? err.message : err}`);
            process.exit(1);
        });
}
