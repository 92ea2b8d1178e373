import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../config";
import { Hardware } from "./types";
import { Rollout } from "../swarm/rollout";
import { SshKeyPair, resolveSshKey } from "./sshKey";

/**
 * Builds the hardware the config names, and says which SSH key its hosts take. Each target's module (and so its
 * cloud SDK) is loaded only when the stack uses it.
 */
export async function createHardware(
    config: SwarmkitConfig,
    rollout?: Rollout,
    opts?: pulumi.ComponentResourceOptions,
): Promise<{ hardware: Hardware; sshKey: SshKeyPair }> {
    const sshKey = await resolveSshKey(config);
    return { hardware: await targetHardware(config, sshKey, rollout, opts), sshKey };
}

async function targetHardware(config: SwarmkitConfig, key: SshKeyPair, rollout: Rollout | undefined, opts?: pulumi.ComponentResourceOptions): Promise<Hardware> {
    const args = { config, sshPublicKey: key.publicKey, sshPrivateKey: key.privateKey, rollout };
    switch (config.provider) {
        case "netns":
            return new (await import("./netns")).LabHosts("lab", args, opts);
        case "aws":
            return new (await import("./aws")).AwsHosts("aws", args, opts);
        case "digitalocean":
            return new (await import("./digitalocean")).DigitalOceanHosts("do", args, opts);
        case "multipass":
            return new (await import("./multipass")).MultipassHosts("multipass", args, opts);
        case "kvm":
            return new (await import("./kvm")).KvmHosts("kvm", args, opts);
    }
}
