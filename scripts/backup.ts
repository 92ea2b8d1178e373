/**
 * Backup and restore of a stack's swarm, and recovery from lost quorum (components/swarm/backup.ts):
 *   npm run backup -- STACK [--out DIR]          a backup from a follower manager, sealed with the stack's backup key,
 *                                                written to backups/STACK/ (or DIR) with a timestamp
 *   npm run restore -- STACK FILE [--host NAME]  re-forms a swarm that lost quorum from a backup, on one manager
 *   npm run recover -- STACK [--host NAME]       the same without a backup, from a surviving manager's own state
 * After restore or recover, `npm run up -- STACK` brings back the other managers. The backup key is the stack
 * secret `swarmkit:backupKey`, made on the first backup; keep it (with the stack's config) to open the backups.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SwarmNode } from "../components/swarm/cluster";
import { BackupError, ManagerTarget, backupSwarm, newBackupKey, recoverSwarm, restoreSwarm } from "../components/swarm/backup";
import { PROJECT_ROOT, selectStack } from "./stack";

const KEY = "swarmkit:backupKey";

function option(args: string[], name: string): string | undefined {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
}

async function main() {
    const [operation, stackName = "lab", ...rest] = process.argv.slice(2);
    const stack = await selectStack(stackName);
    const outputs = await stack.outputs();
    const nodes = (outputs.nodes?.value ?? []) as SwarmNode[];
    const privateKey = outputs.sshPrivateKey?.value as string | undefined;
    if (nodes.length === 0 || !privateKey) throw new BackupError(`stack ${stackName} has no nodes in its outputs: is it up?`);
    const managers: ManagerTarget[] = nodes
        .filter((n) => n.role === "manager")
        .map((n) => ({ name: n.name, host: n.sshAddress, port: 22, user: n.sshUser, privateKey, hostKey: n.hostKey, privateAddress: n.privateAddress }));
    const autolock = outputs.autolock?.value !== false;
    const key = async (create: boolean) => {
        try {
            return (await stack.getConfig(KEY)).value;
        } catch {
            if (!create) throw new BackupError(`stack ${stackName} has no ${KEY}: its backups were sealed with a key this stack does not hold`);
            const made = newBackupKey();
            await stack.setConfig(KEY, { value: made, secret: true });
            console.log(`swarmkit backup: made the stack's backup key (${KEY}, a secret in stacks/Pulumi.${stackName}.yaml): keep it to open the backups`);
            return made;
        }
    };
    switch (operation) {
        case "backup": {
            const { header, file } = await backupSwarm({ managers, unlockKey: (outputs.unlockKey?.value as string) ?? "", key: await key(true), label: stackName });
            const dir = option(rest, "--out") ?? join(PROJECT_ROOT, "backups", stackName);
            mkdirSync(dir, { recursive: true });
            const path = join(dir, `${stackName}-${header.createdAt.replace(/[:.]/g, "-")}.swarmbackup`);
            writeFileSync(path, file, { mode: 0o600 });
            console.log(`swarmkit backup: ${header.host} (node ${header.nodeId}, cluster ${header.clusterId}) → ${path} (${file.length} bytes, sealed)`);
            console.log(path);
            break;
        }
        case "restore": {
            const path = rest.find((a, i) => !a.startsWith("--") && rest[i - 1] !== "--host");
            if (!path) throw new BackupError("usage: npm run restore -- STACK FILE [--host NAME]");
            const r = await restoreSwarm({ managers, file: readFileSync(path), key: await key(false), host: option(rest, "--host"), autolock });
            console.log(`swarmkit restore: the swarm was re-formed on ${r.host} (node ${r.nodeId}) from ${path}. Now run: npm run up -- ${stackName} (the other managers join)`);
            break;
        }
        case "recover": {
            const r = await recoverSwarm({ managers, unlockKey: (outputs.unlockKey?.value as string) ?? "", host: option(rest, "--host"), autolock });
            console.log(`swarmkit recover: the swarm was re-formed on ${r.host} (node ${r.nodeId}) from its own state. Now run: npm run up -- ${stackName} (the other managers join)`);
            break;
        }
        default:
            throw new BackupError(`unknown operation ${operation}: use backup, restore or recover`);
    }
}

main().catch((err) => {
    console.error(`swarmkit: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
});
