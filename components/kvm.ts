/** `swarmkit/kvm`: swarm hosts as KVM guests under libvirt on this workstation. */
export { KvmHosts, kvmArgsProblems } from "./hardware/kvm";
export type { KvmHostsArgs } from "./hardware/kvm";
