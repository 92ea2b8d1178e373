/** IPv4 helpers for validating CIDRs and handing out lab addresses. */

export function parseIpv4(address: string): number | undefined {
    const parts = address.split(".");
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
        if (!/^\d{1,3}$/.test(part)) return undefined;
        const octet = Number(part);
        if (octet > 255) return undefined;
        value = value * 256 + octet;
    }
    return value;
}

export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** "a.b.c.d/n" with a valid address, a prefix 0-32 and no host bits set. */
export function isValidCidr(cidr: string): boolean {
    const match = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
    if (!match) return false;
    const base = parseIpv4(match[1]);
    const prefix = Number(match[2]);
    if (base === undefined || prefix > 32) return false;
    return base % 2 ** (32 - prefix) === 0;
}

/** The n-th address of a network, e.g. nthAddress("10.77.0.0/24", 11) = "10.77.0.11". */
export function nthAddress(cidr: string, n: number): string {
    const [address, prefix] = cidr.split("/");
    const size = 2 ** (32 - Number(prefix));
    if (n <= 0 || n >= size - 1) throw new Error(`${cidr} has no host number ${n}`);
    return formatIpv4((parseIpv4(address) as number) + n);
}

/** Whether every address of `inner` lies in `outer` (both valid CIDRs). */
export function cidrWithin(inner: string, outer: string): boolean {
    const [innerBase, innerPrefix] = inner.split("/");
    const [outerBase, outerPrefix] = outer.split("/");
    if (Number(innerPrefix) < Number(outerPrefix)) return false;
    const size = 2 ** (32 - Number(outerPrefix));
    return Math.floor((parseIpv4(innerBase) as number) / size) === Math.floor((parseIpv4(outerBase) as number) / size);
}

/** Whether two valid CIDRs share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
    return cidrWithin(a, b) || cidrWithin(b, a);
}
