import * as pulumi from "@pulumi/pulumi";
import { SwarmkitConfig } from "../config";

export interface SshKeyPair {
    publicKey: pulumi.Output<string>;
    /** Secret. */
    privateKey: pulumi.Output<string>;
}

/**
 * The stack's SSH key: the one from config, or an ED25519 key generated with @pulumi/tls (its private key lives
 * only in the state, encrypted). @pulumi/tls is loaded only when a key has to be generated.
 */
export async function resolveSshKey(config: SwarmkitConfig, opts?: pulumi.CustomResourceOptions): Promise<SshKeyPair> {
    if (config.ssh.publicKey !== undefined && config.ssh.privateKey !== undefined) {
        return { publicKey: pulumi.output(config.ssh.publicKey), privateKey: pulumi.secret(config.ssh.privateKey) };
    }
    const tls = await import("@pulumi/tls");
    const key = new tls.PrivateKey("ssh-key", { algorithm: "ED25519" }, opts);
    return { publicKey: key.publicKeyOpenssh.apply((k) => k.trim()), privateKey: pulumi.secret(key.privateKeyOpenssh) };
}
