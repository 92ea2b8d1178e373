/** The kit's host shape turned into @pulumi/command's connection: the private key always secret, the host key pinned. */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost } from "../host";

export function commandConnection(host: SwarmHost): command.types.input.remote.ConnectionArgs {
    const c = host.connection;
    return {
        host: c.host,
        port: c.port ?? 22,
        user: c.user,
        privateKey: pulumi.secret(c.privateKey),
        hostKey: c.hostKey,
        dialErrorLimit: c.dialErrorLimit,
        perDialTimeout: c.perDialTimeout,
    };
}
