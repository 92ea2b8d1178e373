/**
 * The check a cloud VM has to pass before the swarm bootstrap may use it. Clouds let SSH in while cloud-init is
 * still installing Docker and the host firewall; this waits for cloud-init and checks what it left. Pure.
 */
import { FIREWALL_PATH, INPUT_CHAIN } from "../firewall/hostFirewall";
import { DOCKER_API_PORTS } from "../ports";
import { shellQuote } from "../ssh/shell";
import { HOST_FIREWALL_UNIT } from "./cloudInit";

/** Seconds cloud-init gets to finish (package update, the Docker install). */
export const CLOUD_INIT_TIMEOUT = 900;

export interface ReadyCheckOptions {
    /**
     * Turn ufw off and run the host firewall again. DigitalOcean's docker-* images enable ufw with SSH from
     * anywhere and 2375/2376 open; ufw's chains come after the kit's and would let that through.
     */
    replaceUfw?: boolean;
}

export function renderReadyCheck(hostName: string, options: ReadyCheckOptions = {}): string {
    const listeners = DOCKER_API_PORTS.map((port) => `sport = :${port}`).join(" or ");
    const firewall = options.replaceUfw
        ? [
              "if command -v ufw >/dev/null 2>&1 && as_root ufw status 2>/dev/null | grep -q '^Status: active'; then",
              '  as_root ufw --force disable >/dev/null || fail "could not disable ufw"',
              "fi",
              // Disabling ufw resets the INPUT policy; the host firewall is idempotent, so it simply runs again.
              `as_root systemctl restart ${HOST_FIREWALL_UNIT} || fail "the host firewall (${HOST_FIREWALL_UNIT}) did not run"`,
          ]
        : [
              // Under systemd the boot-time unit must be enabled; elsewhere the saved script is what runs at start.
              "if [ -d /run/systemd/system ]; then",
              `  as_root systemctl is-enabled --quiet ${HOST_FIREWALL_UNIT} || fail "the host firewall (${HOST_FIREWALL_UNIT}) is not enabled for the next boots"`,
              "else",
              `  as_root test -s ${FIREWALL_PATH} || fail "the host firewall (${FIREWALL_PATH}) is not installed"`,
              "fi",
          ];
    return [
        "#!/bin/sh",
        "set -u",
        `swarmkit_host=${shellQuote(hostName)}`,
        'fail() { echo "swarmkit: host $swarmkit_host: step ready: $*" >&2; exit 1; }',
        'if [ "$(id -u)" = 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi',
        // Exit code 2 is "done, with recoverable errors" (e.g. a deprecated key); 124 is the timeout.
        "if command -v cloud-init >/dev/null 2>&1; then",
        `  rc=0; timeout ${CLOUD_INIT_TIMEOUT} cloud-init status --wait >/dev/null 2>&1 || rc=$?`,
        `  [ "$rc" != 124 ] || fail "cloud-init did not finish within ${CLOUD_INIT_TIMEOUT} s"`,
        `  [ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "cloud-init failed (exit $rc): $(cloud-init status --long 2>&1 | tail -n 3 | tr '\\n' ' ')"`,
        "fi",
        // The swarm names its nodes after their hostnames.
        `[ "$(hostname)" = "$swarmkit_host" ] || fail "hostname is $(hostname), not $swarmkit_host"`,
        ...firewall,
        `as_root iptables -w -C INPUT -j ${INPUT_CHAIN} 2>/dev/null || fail "the host firewall is not hooked into INPUT"`,
        `[ "$(as_root iptables -w -S INPUT | head -n 1)" = "-P INPUT DROP" ] || fail "the INPUT policy is not DROP"`,
        "command -v docker >/dev/null 2>&1 || fail 'docker is not installed'",
        `! ss -Hltn '( ${listeners} )' | grep -q . || fail "something listens on Docker's remote API ports (${DOCKER_API_PORTS.join(", ")})"`,
        "echo ready",
        "",
    ].join("\n");
}
