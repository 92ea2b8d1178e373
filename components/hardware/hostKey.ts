/**
 * A cloud machine's SSH host key, made by the kit before the machine exists and put into its user data, so the kit
 * pins it from the first connection on (no trust on first use). Its private half lives only in the state, encrypted,
 * and in the (secret) user data. @pulumi/tls is loaded by the cloud targets only.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

export function createHostKey(name: string, parent: pulumi.Resource): tls.PrivateKey {
    return new tls.PrivateKey(name, { algorithm: "ED25519" }, { parent, additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem"] });
}
