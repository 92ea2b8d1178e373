/**
 * The hosts of a local VM target: one local command per VM (create and delete scripts from the target), each
 * turned into a SwarmHost from the JSON line its create script prints. Shared by Multipass and KVM.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SwarmHost, hostNames } from "../../host";
import { HardwareArgs } from "../types";
import { CLOUD_INIT_ENV, LocalVmUserDataArgs, localVmUserData, parseVmOutput, vmName } from "./localVm";

export interface VmScripts {
    create: string;
    delete: string;
}

export interface VmHostsArgs {
    /** Resource names start with it, e.g. "multipass" gives "multipass-manager-1". */
    prefix: string;
    hardware: HardwareArgs;
    nodesCidr?: string;
    /** The target's create and delete scripts for one VM. */
    scripts: (vm: string) => VmScripts;
}

export function declareVmHosts(parent: pulumi.Resource, args: VmHostsArgs): SwarmHost[] {
    const config = args.hardware.config;
    const stack = pulumi.getStack();
    return hostNames(config.managers, config.workers).map(({ name: hostName, role }) => {
        const vm = vmName(stack, hostName);
        const scripts = args.scripts(vm);
        const userData = pulumi.output(args.hardware.sshPublicKey).apply((publicKey) => {
            const data: LocalVmUserDataArgs = {
                hostname: hostName,
                user: config.ssh.user,
                publicKey,
                nodesCidr: args.nodesCidr,
                adminCidr: config.adminCidr,
                publishedPorts: config.publishedPorts,
            };
            return localVmUserData(data);
        });
        const machine = new command.local.Command(
            `${args.prefix}-${hostName}`,
            {
                create: scripts.create,
                delete: scripts.delete,
                interpreter: ["/bin/sh", "-c"],
                environment: { [CLOUD_INIT_ENV]: userData },
                addPreviousOutputInEnv: false,
            },
            // A VM's name is taken while it exists: the old one goes before its replacement.
            { parent, deleteBeforeReplace: true },
        );
        const vmOut = machine.stdout.apply(parseVmOutput);
        const address = vmOut.apply((o) => o.address);
        return {
            name: hostName,
            role,
            sshAddress: address,
            privateAddress: address,
            machineId: vmOut.apply((o) => o.id),
            connection: {
                host: address,
                user: config.ssh.user,
                privateKey: args.hardware.sshPrivateKey,
                // VMs boot slowly and cloud-init installs Docker before sshd lets the key in.
                dialErrorLimit: 200,
                perDialTimeout: 10,
            },
        };
    });
}
