/**
 * What a local VM is right now, asked of its hypervisor when the program runs (no step): a VM that is stopped (the
 * workstation rebooted, someone stopped it) is started again by this run, one that is unknown is made anew.
 */
import { spawnSync } from "node:child_process";
import { MachineStatus } from "../../host";

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { ok: boolean; stdout: string } | undefined {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20000, env: { ...process.env, ...env } });
    if (r.error) return undefined; // not installed: the create script says so
    return { ok: r.status === 0, stdout: r.stdout ?? "" };
}

export function multipassStatus(vm: string): MachineStatus {
    const r = run("multipass", ["info", vm, "--format", "json"]);
    if (!r) return "unknown";
    if (!r.ok) return "new";
    return /"state"\s*:\s*"Running"/.test(r.stdout) ? "running" : "starting";
}

export function kvmStatus(vm: string, uri: string): MachineStatus {
    const r = run("virsh", ["domstate", vm], { LIBVIRT_DEFAULT_URI: uri });
    if (!r) return "unknown";
    if (!r.ok) return "new";
    return r.stdout.trim() === "running" ? "running" : "starting";
}
