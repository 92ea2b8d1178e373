/**
 * What a lab host is right now, read from this machine when the program runs (no step, no SSH): the same tests as
 * scripts/lab/host.sh's `status`. Lets `pulumi preview` and `pulumi up` see hosts that a reboot took away.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MachineStatus } from "../../host";

const PACKAGE_ROOT = resolve(__dirname, "../../..");

/**
 * Where host.sh keeps the hosts' disks: SWARMKIT_LAB_DIR, else .lab beside the scripts, which in this repository is
 * the project. A project that installed the package keeps them in its own .lab (not inside node_modules, which a
 * reinstall wipes): its lab commands carry SWARMKIT_LAB_DIR=.lab, relative to the project like the commands.
 */
export function labStateEnv(): Record<string, string> {
    if (process.env.SWARMKIT_LAB_DIR !== undefined || resolve(process.cwd()) === PACKAGE_ROOT) return {};
    return { SWARMKIT_LAB_DIR: ".lab" };
}

export function labStateRoot(): string {
    return resolve(process.env.SWARMKIT_LAB_DIR ?? labStateEnv().SWARMKIT_LAB_DIR ?? join(PACKAGE_ROOT, ".lab"));
}

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** running: its holder and namespace exist; starting: only its disk is left (this run starts it); new: nothing. */
export function labHostStatus(lab: string, host: string, root = labStateRoot()): MachineStatus {
    const dir = join(root, lab, host);
    const pidFile = join(dir, "pid");
    if (existsSync(pidFile) && existsSync(`/run/netns/${lab}-${host}`)) {
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return "running";
    }
    if (existsSync(join(dir, "machine-id")) && existsSync(join(dir, "ssh", "host_ed25519"))) return "starting";
    return "new";
}

export function labNetworkUp(lab: string): boolean {
    return existsSync(`/sys/class/net/${lab}-br`);
}
