/**
 * Finds the managers of a stack that came back locked (autolock, after a reboot or a dockerd restart) and unlocks
 * them with the stack's secret unlock key. The key travels on stdin only; it is never printed. `pulumi up` does the
 * same by itself; this is for when only the swarm, not the stack, should be touched.
 *   npm run unlock -- STACK
 */
import { ProbeTarget, probe } from "../components/ssh/probe";
import { SwarmNode } from "../components/swarm/cluster";
import { parseRead } from "../components/swarm/observe";
import { renderRead } from "../components/swarm/scripts";
import { selectStack } from "./stack";

/** Unlocks a manager: the key on stdin, through a builtin, never in a process's arguments. */
const UNLOCK = "IFS= read -r key; printf '%s\\n' \"$key\" | { if [ \"$(id -u)\" = 0 ]; then docker swarm unlock; else sudo -n docker swarm unlock; fi; } >/dev/null 2>&1 && echo unlocked";

export async function unlockStack(stackName: string, log: (line: string) => void = console.log): Promise<Record<string, string>> {
    const stack = await selectStack(stackName);
    const outputs = await stack.outputs();
    const unlockKey = outputs.unlockKey?.value as string | undefined;
    if (!unlockKey) throw new Error(`stack ${stackName} has no unlock key: is autolock on and the stack up?`);
    const privateKey = outputs.sshPrivateKey?.value as string | undefined;
    if (!privateKey) throw new Error(`stack ${stackName} has no sshPrivateKey output to reach the managers with: run pulumi up once`);
    const managers = (outputs.nodes.value as SwarmNode[]).filter((n) => n.role === "manager");
    const result: Record<string, string> = {};
    for (const m of managers) {
        const target: ProbeTarget = { name: m.name, host: m.sshAddress, port: 22, user: m.sshUser, privateKey, hostKey: m.hostKey };
        const read = await probe(target, renderRead());
        if (read.kind === "hostKeyMismatch") result[m.name] = `not touched: its SSH host key changed (pinned ${read.expected}, presents ${read.presented})`;
        else if (read.kind === "unreachable") result[m.name] = `unreachable: ${read.error}`;
        else {
            const state = parseRead(read.stdout).local.state;
            if (state !== "locked") result[m.name] = state;
            else {
                const unlock = await probe(target, UNLOCK, `${unlockKey}\n`);
                result[m.name] = unlock.kind === "ok" && unlock.stdout.trim() === "unlocked" ? "unlocked" : "unlock failed";
            }
        }
        log(`${m.name} (${m.sshAddress}): ${result[m.name]}`);
    }
    return result;
}

if (require.main === module) {
    unlockStack(process.argv[2] ?? "lab")
        .then((r) => process.exit(Object.values(r).some((s) => s.startsWith("unlock failed") || s.startsWith("not touched")) ? 1 : 0))
        .catch((err) => {
            console.error(`swarmkit unlock: ${err instanceof Error ? err.message : err}`);
            process.exit(1);
        });
}
