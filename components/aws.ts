/** `swarmkit/aws`: swarm hosts on EC2 (loads @pulumi/aws). */
export { AwsHosts, awsArgsProblems } from "./hardware/aws";
export type { AwsHostsArgs } from "./hardware/aws";
