/**
 * The check a machine of your own passes before the kit uses it: it runs Docker, it is named as its host (swarm
 * names its nodes after their hostnames, and the kit finds a node's entries by it), and nothing listens on Docker's
 * remote API ports. Pure.
 */
import { DOCKER_API_PORTS } from "../../ports";
import { stepPrelude } from "../../ssh/shell";

export function renderExistingHostCheck(hostName: string): string {
    const listeners = DOCKER_API_PORTS.map((port) => `sport = :${port}`).join(" or ");
    return [
        ...stepPrelude({ host: hostName, step: "check" }),
        `[ "$(hostname)" = "$swarmkit_host" ] || fail "its hostname is $(hostname): name the host as its hostname (swarm names nodes after hostnames)"`,
        "command -v docker >/dev/null 2>&1 || fail 'docker is not installed'",
        "docker info >/dev/null 2>&1 || as_root docker info >/dev/null 2>&1 || fail 'docker does not answer (is dockerd running?)'",
        `! ss -Hltn '( ${listeners} )' 2>/dev/null | grep -q . || fail "something listens on Docker's remote API ports (${DOCKER_API_PORTS.join(", ")})"`,
        "echo ready",
        "",
    ].join("\n");
}
