/** Offline un-autolock of swarm-node.key (pure): keys are made here the way swarmkit makes them; no key fixtures. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createHash, createHmac, createPrivateKey, generateKeyPairSync, pbkdf2Sync, randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { decodePem, formatUnlockKey, isLockedSwarmKey, parseUnlockKey, unlockSwarmKey } from "../../components/swarm/stateUnlock";

// --- DER, just enough to write what swarmkit's ca/pkcs8 writes
const der = (tag: number, ...parts: Buffer[]): Buffer => {
    const body = Buffer.concat(parts);
    const n = body.length;
    const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
    return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...p: Buffer[]) => der(0x30, ...p);
const octets = (b: Buffer) => der(0x04, b);
const oid = (hex: string) => der(0x06, Buffer.from(hex, "hex"));
const OID_PBES2 = "2a864886f70d01050d"; // 1.2.840.113549.1.5.13
const OID_PBKDF2 = "2a864886f70d01050c"; // 1.2.840.113549.1.5.12
const OID_AES256CBC = "60864801650304012a"; // 2.16.840.1.101.3.4.1.42

/** ca/pkcs8 encryptPrivateKey: 8-byte salt, 2048 rounds of PBKDF2-SHA1 (PRF left at its default), AES-256-CBC. */
function swarmkitPkcs8Encrypt(pkcs8: Buffer, password: Buffer): Buffer {
    const salt = randomBytes(8);
    const iv = randomBytes(16);
    const key = pbkdf2Sync(password, salt, 2048, 32, "sha1");
    const c = createCipheriv("aes-256-cbc", key, iv);
    const encrypted = Buffer.concat([c.update(pkcs8), c.final()]);
    const kdf = seq(oid(OID_PBKDF2), seq(octets(salt), der(0x02, Buffer.from([0x08, 0x00]))));
    const alg = seq(oid(OID_PBES2), seq(kdf, seq(oid(OID_AES256CBC), octets(iv))));
    return seq(alg, octets(encrypted));
}

/** x509.EncryptPEMBlock, AES-256-CBC (older swarmkit): EVP_BytesToKey(MD5) with iv[:8] as salt. */
function legacyEncrypt(data: Buffer, password: Buffer): { bytes: Buffer; dekInfo: string } {
    const iv = randomBytes(16);
    const d1 = createHash("md5").update(Buffer.concat([password, iv.subarray(0, 8)])).digest();
    const d2 = createHash("md5").update(Buffer.concat([d1, password, iv.subarray(0, 8)])).digest();
    const c = createCipheriv("aes-256-cbc", Buffer.concat([d1, d2]), iv);
    return { bytes: Buffer.concat([c.update(data), c.final()]), dekInfo: `AES-256-CBC,${iv.toString("hex").toUpperCase()}` };
}

/** manager/deks.go encodePEMHeaderValue with a KEK: MaybeEncryptedRecord{1: SECRETBOX, 2: box, 3: nonce}. */
function secretboxHeader(dek: Buffer, kek: Buffer): string {
    const nonce = randomBytes(24);
    const box = Buffer.from(nacl.secretbox(dek, nonce, kek));
    return Buffer.concat([Buffer.from([0x08, 0x01, 0x12, box.length]), box, Buffer.from([0x1a, 24]), nonce]).toString("base64");
}

/** The same in FIPS mode: Fernet (signing key kek[:16], AES-128 key kek[16:]), algorithm 2, no nonce. */
function fernetHeader(dek: Buffer, kek: Buffer): string {
    const iv = randomBytes(16);
    const c = createCipheriv("aes-128-cbc", kek.subarray(16, 32), iv);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)));
    const signed = Buffer.concat([Buffer.from([0x80]), ts, iv, c.update(dek), c.final()]);
    const token = Buffer.concat([signed, createHmac("sha256", kek.subarray(0, 16)).update(signed).digest()]);
    return Buffer.concat([Buffer.from([0x08, 0x02, 0x12, token.length]), token]).toString("base64");
}

/** With no KEK (encryption.NoopCrypter): MaybeEncryptedRecord{2: dek}, algorithm 0 left out. */
const plainHeader = (dek: Buffer) => Buffer.concat([Buffer.from([0x12, dek.length]), dek]).toString("base64");

function pem(type: string, headers: [string, string][], bytes: Buffer): string {
    const b64 = bytes.toString("base64").match(/.{1,64}/g)!.join("\n");
    const h = headers.length ? headers.map(([k, v]) => `${k}: ${v}\n`).join("") + "\n" : "";
    return `-----BEGIN ${type}-----\n${h}${b64}\n-----END ${type}-----\n`;
}

function fixture() {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const kek = randomBytes(32);
    const dek = randomBytes(32);
    return {
        pkcs8: privateKey.export({ type: "pkcs8", format: "der" }),
        sec1: privateKey.export({ type: "sec1", format: "der" }),
        kek,
        dek,
        unlockKey: "SWMKEY-1-" + kek.toString("base64").replace(/=+$/, ""),
    };
}

describe("unlockSwarmKey", () => {
    it("turns an autolocked swarm-node.key into what swarmkit writes with autolock off", () => {
        const f = fixture();
        const locked = pem("ENCRYPTED PRIVATE KEY", [["kek-version", "27"], ["raft-dek", secretboxHeader(f.dek, f.kek)]], swarmkitPkcs8Encrypt(f.pkcs8, f.kek));
        assert.ok(isLockedSwarmKey(locked));

        const out = unlockSwarmKey(locked, f.unlockKey);
        // kek-version one below the removed KEK's, so that the manager takes the swarm's unlock key again.
        assert.equal(out, pem("PRIVATE KEY", [["kek-version", "26"], ["raft-dek", plainHeader(f.dek)]], f.pkcs8));
        assert.ok(!isLockedSwarmKey(out));
        const key = createPrivateKey({ key: decodePem(out).bytes, format: "der", type: "pkcs8" });
        assert.equal(key.asymmetricKeyType, "ec");
        // Unlocking again is refused: nothing is encrypted any more.
        assert.throws(() => unlockSwarmKey(out, f.unlockKey), /not encrypted/);
    });

    it("refuses a wrong or malformed unlock key", () => {
        const f = fixture();
        const locked = pem("ENCRYPTED PRIVATE KEY", [["kek-version", "0"], ["raft-dek", secretboxHeader(f.dek, f.kek)]], swarmkitPkcs8Encrypt(f.pkcs8, f.kek));
        const other = formatUnlockKey(randomBytes(32));
        assert.throws(() => unlockSwarmKey(locked, other), /wrong unlock key/);
        // Without DEK headers only the key itself can tell: the padding check plus a parse of the plaintext.
        const bare = pem("ENCRYPTED PRIVATE KEY", [["kek-version", "0"]], swarmkitPkcs8Encrypt(f.pkcs8, f.kek));
        for (let i = 0; i < 20; i++) assert.throws(() => unlockSwarmKey(bare, formatUnlockKey(randomBytes(32))), /wrong unlock key/);
        assert.throws(() => unlockSwarmKey(locked, "SWMKEY-2-abc"), /SWMKEY-1-/);
        assert.throws(() => unlockSwarmKey(locked, "SWMKEY-1-not*base64"), /base64/);
        assert.throws(() => unlockSwarmKey("hello", f.unlockKey), /no PEM block/);
    });

    it("keeps, re-encodes and drops headers as swarmkit's KeyReadWriter does", () => {
        const f = fixture();
        const pending = randomBytes(32);
        const locked = pem(
            "ENCRYPTED PRIVATE KEY",
            [
                ["kek-version", "0"],
                ["raft-dek", secretboxHeader(f.dek, f.kek)],
                ["raft-dek-needs-rotation", "true"],
                ["raft-dek-pending", secretboxHeader(pending, f.kek)],
                ["some-future-header", "kept"],
            ],
            swarmkitPkcs8Encrypt(f.pkcs8, f.kek),
        );
        const out = decodePem(unlockSwarmKey(locked, f.unlockKey));
        assert.deepEqual(
            [...out.headers],
            [
                ["kek-version", "0"],
                ["raft-dek", plainHeader(f.dek)],
                ["raft-dek-needs-rotation", "true"],
                ["raft-dek-pending", plainHeader(pending)],
                ["some-future-header", "kept"],
            ],
        );
        assert.equal(decodePem(unlockSwarmKey(locked, f.unlockKey, { kekVersion: 99n })).headers.get("kek-version"), "99");
    });

    it("reads a legacy Proc-Type/DEK-Info EC key, keeping its type and dropping the encryption headers", () => {
        const f = fixture();
        const { bytes, dekInfo } = legacyEncrypt(f.sec1, f.kek);
        const locked = pem(
            "EC PRIVATE KEY",
            [["Proc-Type", "4,ENCRYPTED"], ["DEK-Info", dekInfo], ["kek-version", "5"], ["raft-dek", secretboxHeader(f.dek, f.kek)]],
            bytes,
        );
        assert.equal(unlockSwarmKey(locked, f.unlockKey), pem("EC PRIVATE KEY", [["kek-version", "4"], ["raft-dek", plainHeader(f.dek)]], f.sec1));
        assert.throws(() => unlockSwarmKey(locked, formatUnlockKey(randomBytes(32))), /wrong unlock key/);
    });

    it("reads FIPS-mode (Fernet) DEK headers and PBES2 with another PRF", () => {
        const f = fixture();
        // OpenSSL's PBES2 names its PRF (hmacWithSHA256), swarmkit's leaves the SHA-1 default implicit.
        const openssl = createPrivateKey({ key: f.pkcs8, format: "der", type: "pkcs8" }).export({
            type: "pkcs8",
            format: "der",
            cipher: "aes-256-cbc",
            passphrase: f.kek,
        });
        const locked = pem("ENCRYPTED PRIVATE KEY", [["kek-version", "3"], ["raft-dek", fernetHeader(f.dek, f.kek)]], openssl);
        assert.equal(unlockSwarmKey(locked, f.unlockKey), pem("PRIVATE KEY", [["kek-version", "2"], ["raft-dek", plainHeader(f.dek)]], f.pkcs8));
        assert.throws(() => unlockSwarmKey(locked, formatUnlockKey(randomBytes(32))), /wrong unlock key/);
    });

    it("parses unlock keys as encryption.ParseHumanReadableKey does", () => {
        const kek = randomBytes(32);
        assert.deepEqual(parseUnlockKey(formatUnlockKey(kek)), kek);
        assert.deepEqual(parseUnlockKey(`  ${formatUnlockKey(kek)}\n`), kek);
        assert.throws(() => parseUnlockKey(formatUnlockKey(kek) + "="), /base64/);
    });
});
