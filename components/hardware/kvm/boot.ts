/**
 * How a KVM guest boots and whether it needs a package mirror: the checks shared by the stack config and the
 * library's args (pure, no Pulumi), and the virt-install arguments they turn into.
 */
import type { KvmSettings } from "../settings";

type BootSettings = Pick<KvmSettings, "kernel" | "initrd" | "kernelArgs" | "imageHasDocker">;

/** What is wrong with the boot settings, one sentence each; `names` spells each setting as the caller's user does. */
export function kvmBootProblems(s: Partial<BootSettings>, docker: { package?: string; version?: string }, names: (k: string) => string = (k) => k): string[] {
    const problems: string[] = [];
    for (const k of ["initrd", "kernelArgs"] as const) {
        if (s[k] !== undefined && s.kernel === undefined) problems.push(`${names(k)} is set without ${names("kernel")}: direct kernel boot needs the kernel's path`);
    }
    for (const k of ["kernel", "initrd"] as const) {
        const path = s[k];
        if (path !== undefined && !path.startsWith("/")) problems.push(`${names(k)} = ${JSON.stringify(path)} is not allowed: an absolute path on the libvirt host`);
    }
    if (s.kernelArgs !== undefined && /["\n]/.test(s.kernelArgs)) problems.push(`${names("kernelArgs")} must not contain double quotes or newlines`);
    if (s.imageHasDocker && (docker.package !== undefined || docker.version !== undefined)) {
        problems.push(`${names("imageHasDocker")} = true: the image's own Docker is used, so dockerPackage and dockerVersion cannot be set (cloud-init installs nothing)`);
    }
    return problems;
}

/** virt-install's --boot value for direct kernel boot, or undefined when the image boots by itself. */
export function directBootOption(s: BootSettings): string | undefined {
    if (s.kernel === undefined) return undefined;
    const parts = [`kernel=${s.kernel}`];
    if (s.initrd !== undefined) parts.push(`initrd=${s.initrd}`);
    // virt-install's option parser takes a double-quoted value with spaces and commas in it.
    if (s.kernelArgs !== undefined) parts.push(`kernel_args="${s.kernelArgs}"`);
    return parts.join(",");
}
