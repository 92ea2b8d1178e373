/**
 * The hosts of a local VM target: one local command per VM (create and delete scripts from the target), each
 * turned into a SwarmHost from the JSON line its create script prints, and handed over once cloud-init has finished
 * on it. Shared by Multipass and KVM.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { MachineStatus, SwarmHost, hostNames } from "../../host";
import { BOOTING_HOST, DialPolicy, LIVE_HOST } from "../../ssh/dialPolicy";
import { renderReadyCheck } from "../readiness";
import { HostsCommon, machineDependsOn } from "../types";
import { CLOUD_INIT_ENV, LocalVmUserDataArgs, localVmFirewall, localVmUserData, parseVmOutput, vmName } from "./localVm";

export interface VmScripts {
    create: string;
    delete: string;
}

export interface VmHostsArgs {
    /** Resource names start with it, e.g. "multipass" gives "multipass-manager-1". */
    prefix: string;
    /** VM names are `<stem>-<host>`: unique per stack and component on one workstation. */
    stem: string;
    common: HostsCommon;
    nodesCidr?: string;
    /** The target's create and delete scripts for one VM. */
    scripts: (vm: string) => VmScripts;
    /** What the VM is right now (running, stopped, unknown to the hypervisor), asked when the program runs. */
    status: (vm: string) => MachineStatus;
    /** Patience for the first SSH to a VM that just booted. */
    boot?: DialPolicy;
    /** The settings that make one VM (image, CPUs, memory, disk, revision): a change replaces it. */
    machineSpec: string;
    /** The image has Docker and iptables: cloud-init installs nothing. */
    imageHasDocker?: boolean;
}

const START = "SWARMKIT_VM_START";

export interface VmHosts {
    hosts: SwarmHost[];
    /** The VM network's range, as the create scripts found it. */
    nodesCidr: pulumi.Output<string>;
}

export function declareVmHosts(parent: pulumi.Resource, args: VmHostsArgs): VmHosts {
    const config = args.common;
    const ranges: pulumi.Output<string>[] = [];
    const hosts = hostNames(config.managers, config.workers).map(({ name: hostName, role }): SwarmHost => {
        const vm = vmName(args.stem, hostName);
        const scripts = args.scripts(vm);
        const status = args.status(vm);
        const userData = config.sshPublicKey.apply((publicKey) => {
            const data: LocalVmUserDataArgs = { hostname: hostName, user: config.ssh.user, publicKey, nodesCidr: args.nodesCidr, docker: config.docker, imageHasDocker: args.imageHasDocker };
            return localVmUserData(data);
        });
        const machine = new command.local.Command(
            `${args.prefix}-${hostName}`,
            {
                create: scripts.create,
                delete: scripts.delete,
                interpreter: ["/bin/sh", "-c"],
                environment: {
                    [CLOUD_INIT_ENV]: userData,
                    [START]: status === "starting" ? `start requested ${new Date().toISOString()}` : "as it was",
                },
                // An existing VM's host key is the one this command printed when it made the VM.
                addPreviousOutputInEnv: true,
            },
            // A VM's name is taken while it exists: the old one goes before its replacement (in a rolling change, one
            // VM at a time). A stopped VM is started by running the create script again (a start request); otherwise
            // the request is ignored.
            {
                parent,
                deleteBeforeReplace: true,
                replacementTrigger: args.machineSpec,
                dependsOn: machineDependsOn(config.rollout, { name: hostName, role, machineSpec: args.machineSpec }),
                ignoreChanges: status === "starting" ? [] : [`environment.${START}`],
            },
        );
        const vmOut = machine.stdout.apply(parseVmOutput);
        ranges.push(vmOut.apply((o) => o.nodesCidr));
        const address = vmOut.apply((o) => o.address);
        const base = {
            host: address,
            user: config.ssh.user,
            privateKey: config.sshPrivateKey,
            hostKey: vmOut.apply((o) => o.hostKey),
        };
        // Hands the VM over once cloud-init has installed Docker and the host firewall.
        const ready = new command.remote.Command(
            `${args.prefix}-${hostName}-ready`,
            {
                connection: { ...base, ...(args.boot ?? BOOTING_HOST) },
                create: renderReadyCheck(hostName),
                triggers: [vmOut.apply((o) => o.id)],
                addPreviousOutputInEnv: false,
            },
            { parent },
        );
        return {
            name: hostName,
            role,
            sshAddress: address,
            privateAddress: address,
            machineId: pulumi.all([vmOut, ready.stdout]).apply(([o]) => o.id),
            machineStatus: status,
            machineSpec: args.machineSpec,
            connection: { ...base, ...LIVE_HOST },
        };
    });
    return { hosts, nodesCidr: ranges[0] };
}

export { localVmFirewall };
