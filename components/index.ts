/**
 * swarmkit as a library: a Docker Swarm cluster as a Pulumi component, made of hosts from any target. This root
 * loads no cloud SDK; each target's hosts are behind their own entry (`swarmkit/aws`, `swarmkit/digitalocean`,
 * `swarmkit/multipass`, `swarmkit/kvm`, `swarmkit/lab`, `swarmkit/hosts`).
 *
 *     const lab = new LabHosts("lab", { managers: 3, workers: 2, subnet: "10.77.0.0/24" });
 *     const swarm = new SwarmCluster("swarm", { hardware: lab });
 *     export const unlockKey = swarm.unlockKey;
 */
export { SwarmCluster } from "./swarm/cluster";
export type { SwarmClusterArgs, SwarmNode, SwarmDeployment } from "./swarm/cluster";
export type { NodeLabels, SwarmNetwork } from "./swarm/settings";
export { BackupError, backupSwarm, restoreSwarm, recoverSwarm, sealBackup, openBackup, backupHeader, newBackupKey } from "./swarm/backup";
export type { BackupHeader, BackupPayload, ManagerTarget } from "./swarm/backup";
export { Rollout } from "./swarm/rollout";
export type { SwarmPlan } from "./swarm/plan";
export { machineSpec, hostNames } from "./host";
export type { SwarmHost, SshConnection, Role, MachineStatus } from "./host";
export type { Hardware, HostsArgs, SshKeyArgs } from "./hardware/types";
export { HostsArgsError } from "./hardware/types";
export { portTable, publishedPortRules, SWARM_PORTS, ADMIN_PORTS, DOCKER_API_PORTS, SSH_PORT, ESP_PROTOCOL_NUMBER } from "./ports";
export type { PortRule, Protocol, Source } from "./ports";
export { renderHostFirewall, firewallRules, FIREWALL_PATH } from "./firewall/hostFirewall";
export type { HostFirewallArgs } from "./firewall/hostFirewall";
export { renderApplyFirewall, renderRemoveFirewall } from "./firewall/hostFirewalls";
export { renderCloudInit, HOST_FIREWALL_UNIT } from "./hardware/cloudInit";
export type { CloudInitArgs, HostKeyPair } from "./hardware/cloudInit";
