/**
 * Offline "un-autolock" of a backed-up swarm manager state folder (pure: no I/O).
 *
 * With autolock on, the only KEK-protected file under /var/lib/docker/swarm is certificates/swarm-node.key
 * (swarmkit ca/keyreadwriter.go KeyReadWriter.writeKey): the TLS key is an encrypted PKCS#8 PEM
 * ("ENCRYPTED PRIVATE KEY", PBES2/PBKDF2-SHA1/AES-256-CBC, ca/pkcs8 EncryptPEMBlock), or in keys written by
 * old swarmkit an "EC PRIVATE KEY" with legacy Proc-Type/DEK-Info (x509.EncryptPEMBlock, AES-256-CBC), and the
 * raft DEK headers `raft-dek` / `raft-dek-pending` (manager/deks.go encodePEMHeaderValue) are base64 of a
 * MaybeEncryptedRecord sealed with the KEK (NaCl secretbox, or Fernet in FIPS mode). The raft WAL and snapshots
 * are encrypted with the DEK, not the KEK, so they stay as they are. Everything else (certs, state.json,
 * docker-state.json, worker/tasks.db) is plaintext.
 *
 * unlockSwarmKey rewrites that one file into the form swarmkit writes with autolock off: plain key, DEK headers
 * as NotEncrypted records, other headers kept.
 */
import { createDecipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual } from "node:crypto";
// XSalsa20-Poly1305 (NaCl secretbox) is not in node:crypto / OpenSSL.
import nacl from "tweetnacl";

const UNLOCK_KEY_PREFIX = "SWMKEY-1-";
const KEK_VERSION = "kek-version";
const RAFT_DEK = "raft-dek";
const RAFT_DEK_PENDING = "raft-dek-pending";
const RAFT_DEK_NEEDS_ROTATION = "raft-dek-needs-rotation";

/** MaybeEncryptedRecord.Algorithm (swarmkit api/types.proto). */
export const RecordAlgorithm = {
    NotEncrypted: 0,
    NACLSecretboxSalsa20Poly1305: 1,
    FernetAES128CBC: 2,
} as const;

export interface MaybeEncryptedRecord {
    algorithm: number;
    data: Buffer;
    nonce: Buffer;
}

export interface PemBlock {
    type: string;
    /** In file order; Go's pem.Encode writes Proc-Type first, then the rest sorted. */
    headers: Map<string, string>;
    bytes: Buffer;
}

export interface UnlockOptions {
    /**
     * kek-version to write. Default: one below the version of the KEK being removed (0 stays 0). Why: a manager
     * compares this with the cluster object's version when it applies the cluster's unlock key
     * (manager/deks.go compareKEKs, via Manager.updateKEK at start-up); the same version with a different KEK is
     * an error that stops the manager, and a higher version would make it ignore the cluster's key. One below
     * makes the restored manager take the swarm's unlock key again (it is autolocked again with the same key).
     */
    kekVersion?: bigint;
}

/** The raw KEK of an unlock key `SWMKEY-1-<base64, no padding>` (encryption.ParseHumanReadableKey). */
export function parseUnlockKey(unlockKey: string): Buffer {
    const key = unlockKey.trim();
    if (!key.startsWith(UNLOCK_KEY_PREFIX)) throw new Error("invalid swarm unlock key: it does not start with SWMKEY-1-");
    const body = key.slice(UNLOCK_KEY_PREFIX.length);
    // Go's RawStdEncoding: standard alphabet, no padding; Buffer.from would silently skip bad characters.
    if (!/^[A-Za-z0-9+/]+$/.test(body)) throw new Error("invalid swarm unlock key: not base64 (raw, standard alphabet)");
    const kek = Buffer.from(body, "base64");
    if (kek.toString("base64").replace(/=+$/, "") !== body) throw new Error("invalid swarm unlock key: not canonical base64");
    return kek;
}

/** The unlock key text of a raw KEK (encryption.HumanReadableKey). */
export function formatUnlockKey(kek: Uint8Array): string {
    return UNLOCK_KEY_PREFIX + Buffer.from(kek).toString("base64").replace(/=+$/, "");
}

// ---------------------------------------------------------------------------------------------------------------
// PEM, as Go's encoding/pem reads and writes it

export function decodePem(text: string): PemBlock {
    const lines = text.replace(/\r\n/g, "\n").split("\n");
    const begin = lines.findIndex((l) => /^-----BEGIN [^-]+-----\s*$/.test(l));
    if (begin < 0) throw new Error("swarm-node.key: no PEM block");
    const type = /^-----BEGIN ([^-]+)-----/.exec(lines[begin])![1];
    const headers = new Map<string, string>();
    let i = begin + 1;
    // Headers run up to the first line without a colon (Go: up to a blank line or the body).
    for (; i < lines.length; i++) {
        const line = lines[i];
        const colon = line.indexOf(":");
        if (colon < 0) break;
        headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const end = lines.findIndex((l, j) => j >= i && l.trim() === `-----END ${type}-----`);
    if (end < 0) throw new Error(`swarm-node.key: no END line for ${type}`);
    const body = lines.slice(i, end).join("").replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error("swarm-node.key: PEM body is not base64");
    return { type, headers, bytes: Buffer.from(body, "base64") };
}

export function encodePem(block: PemBlock): string {
    let out = `-----BEGIN ${block.type}-----\n`;
    if (block.headers.size > 0) {
        const keys = [...block.headers.keys()];
        const ordered = [...keys.filter((k) => k === "Proc-Type"), ...keys.filter((k) => k !== "Proc-Type").sort()];
        for (const k of ordered) out += `${k}: ${block.headers.get(k)}\n`;
        out += "\n";
    }
    const b64 = block.bytes.toString("base64");
    for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + "\n";
    return out + `-----END ${block.type}-----\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal DER reader (just what PBES2 parameters need)

interface Tlv {
    tag: number;
    value: Buffer;
    end: number;
}

function readTlv(buf: Buffer, offset: number): Tlv {
    if (offset + 2 > buf.length) throw new Error("DER: truncated");
    const tag = buf[offset];
    let len = buf[offset + 1];
    let pos = offset + 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4 || pos + n > buf.length) throw new Error("DER: bad length");
        len = 0;
        for (let k = 0; k < n; k++) len = len * 256 + buf[pos + k];
        pos += n;
    }
    if (pos + len > buf.length) throw new Error("DER: truncated");
    return { tag, value: buf.subarray(pos, pos + len), end: pos + len };
}

function children(tlv: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let pos = 0; pos < tlv.value.length; ) {
        const c = readTlv(tlv.value, pos);
        out.push(c);
        pos = c.end;
    }
    return out;
}

function oid(tlv: Tlv): string {
    if (tlv.tag !== 0x06 || tlv.value.length === 0) throw new Error("DER: expected an OID");
    const parts: number[] = [Math.floor(tlv.value[0] / 40), tlv.value[0] % 40];
    let n = 0;
    for (const b of tlv.value.subarray(1)) {
        n = n * 128 + (b & 0x7f);
        if (!(b & 0x80)) {
            parts.push(n);
            n = 0;
        }
    }
    return parts.join(".");
}

function integer(tlv: Tlv): number {
    if (tlv.tag !== 0x02 || tlv.value.length > 6) throw new Error("DER: expected a small INTEGER");
    return tlv.value.reduce((acc, b) => acc * 256 + b, 0);
}

const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const PRF: Record<string, string> = {
    "1.2.840.113549.2.7": "sha1",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
};
const CIPHERS: Record<string, { name: string; keyLen: number }> = {
    "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyLen: 16 },
    "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyLen: 24 },
    "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyLen: 32 },
};

function cbcDecrypt(cipher: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
    try {
        const d = createDecipheriv(cipher, key, iv);
        return Buffer.concat([d.update(data), d.final()]);
    } catch {
        // A bad PKCS#7 padding is how CBC shows a wrong password.
        throw new Error("swarm-node.key: the unlock key does not decrypt the TLS key (wrong unlock key?)");
    }
}

/** ca/pkcs8 DecryptPEMBlock: EncryptedPrivateKeyInfo with PBES2 (swarmkit writes PBKDF2-SHA1, 2048, AES-256-CBC). */
function decryptPkcs8(der: Buffer, password: Buffer): Buffer {
    const info = children(readTlv(der, 0));
    if (info.length !== 2 || info[0].tag !== 0x30 || info[1].tag !== 0x04) throw new Error("swarm-node.key: not an EncryptedPrivateKeyInfo");
    const [algOid, params] = children(info[0]);
    if (oid(algOid) !== OID_PBES2) throw new Error(`swarm-node.key: unsupported key encryption ${oid(algOid)} (expected PBES2)`);
    const [kdf, enc] = children(params);
    const [kdfOid, kdfParams] = children(kdf);
    if (oid(kdfOid) !== OID_PBKDF2) throw new Error(`swarm-node.key: unsupported KDF ${oid(kdfOid)} (expected PBKDF2)`);
    const kp = children(kdfParams);
    if (kp.length < 2 || kp[0].tag !== 0x04) throw new Error("swarm-node.key: bad PBKDF2 parameters");
    const salt = kp[0].value;
    const iterations = integer(kp[1]);
    let prf = "sha1"; // the DEFAULT of PBKDF2-params, and what swarmkit's pkcs8 uses
    for (const p of kp.slice(2)) {
        if (p.tag === 0x30) {
            const name = PRF[oid(children(p)[0])];
            if (!name) throw new Error(`swarm-node.key: unsupported PBKDF2 PRF ${oid(children(p)[0])}`);
            prf = name;
        }
    }
    const [encOid, ivTlv] = children(enc);
    const cipher = CIPHERS[oid(encOid)];
    if (!cipher || ivTlv.tag !== 0x04) throw new Error(`swarm-node.key: unsupported cipher ${oid(encOid)}`);
    const key = pbkdf2Sync(password, salt, iterations, cipher.keyLen, prf);
    const plain = cbcDecrypt(cipher.name, key, ivTlv.value, info[1].value);
    assertKey(plain, "pkcs8");
    return plain;
}

/** x509.DecryptPEMBlock (legacy OpenSSL PEM encryption): key = EVP_BytesToKey(MD5, password, iv[:8]). */
function decryptLegacy(block: PemBlock, password: Buffer): Buffer {
    const dekInfo = block.headers.get("DEK-Info") ?? "";
    const m = /^(AES-(128|192|256)-CBC),([0-9A-Fa-f]{32})$/.exec(dekInfo);
    if (!m) throw new Error(`swarm-node.key: unsupported DEK-Info '${dekInfo}'`);
    const keyLen = Number(m[2]) / 8;
    const iv = Buffer.from(m[3], "hex");
    const parts: Buffer[] = [];
    let prev = Buffer.alloc(0);
    while (Buffer.concat(parts).length < keyLen) {
        prev = createHash("md5").update(Buffer.concat([prev, password, iv.subarray(0, 8)])).digest();
        parts.push(prev);
    }
    const plain = cbcDecrypt(m[1].toLowerCase(), Buffer.concat(parts).subarray(0, keyLen), iv, block.bytes);
    assertKey(plain, block.type === "EC PRIVATE KEY" ? "sec1" : block.type === "RSA PRIVATE KEY" ? "pkcs1" : "pkcs8");
    return plain;
}

/** A wrong password passes the padding check 1 time in ~256: the plaintext must also be a private key. */
function assertKey(der: Buffer, type: "pkcs8" | "sec1" | "pkcs1"): void {
    try {
        createPrivateKey({ key: der, format: "der", type });
    } catch {
        throw new Error("swarm-node.key: the unlock key does not decrypt the TLS key (wrong unlock key?)");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// MaybeEncryptedRecord (protobuf: 1 algorithm varint, 2 data bytes, 3 nonce bytes)

function readVarint(buf: Buffer, pos: number): [bigint, number] {
    let result = 0n;
    for (let shift = 0n; pos < buf.length && shift < 70n; shift += 7n) {
        const b = buf[pos++];
        result |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) return [result, pos];
    }
    throw new Error("protobuf: bad varint");
}

export function decodeRecord(buf: Buffer): MaybeEncryptedRecord {
    const rec: MaybeEncryptedRecord = { algorithm: 0, data: Buffer.alloc(0), nonce: Buffer.alloc(0) };
    for (let pos = 0; pos < buf.length; ) {
        const [key, p1] = readVarint(buf, pos);
        const field = Number(key >> 3n);
        const wire = Number(key & 7n);
        pos = p1;
        if (wire === 0) {
            const [v, p2] = readVarint(buf, pos);
            if (field === 1) rec.algorithm = Number(v);
            pos = p2;
        } else if (wire === 2) {
            const [len, p2] = readVarint(buf, pos);
            const end = p2 + Number(len);
            if (end > buf.length) throw new Error("protobuf: truncated");
            if (field === 2) rec.data = buf.subarray(p2, end);
            if (field === 3) rec.nonce = buf.subarray(p2, end);
            pos = end;
        } else if (wire === 5) pos += 4;
        else if (wire === 1) pos += 8;
        else throw new Error(`protobuf: unsupported wire type ${wire}`);
    }
    return rec;
}

function writeVarint(n: number): Buffer {
    const out: number[] = [];
    for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return Buffer.from(out);
}

/** gogo proto3 Marshal: zero/empty fields are left out, so NotEncrypted is just field 2. */
export function encodeRecord(rec: MaybeEncryptedRecord): Buffer {
    const parts: Buffer[] = [];
    if (rec.algorithm !== 0) parts.push(Buffer.from([0x08]), writeVarint(rec.algorithm));
    if (rec.data.length > 0) parts.push(Buffer.from([0x12]), writeVarint(rec.data.length), rec.data);
    if (rec.nonce.length > 0) parts.push(Buffer.from([0x1a]), writeVarint(rec.nonce.length), rec.nonce);
    return Buffer.concat(parts);
}

/** encryption.NewNACLSecretbox / NewFernet copy the KEK into a 32-byte array. */
function key32(kek: Buffer): Buffer {
    const k = Buffer.alloc(32);
    kek.copy(k, 0, 0, 32);
    return k;
}

/** manager/deks.go decodePEMHeaderValue with the KEK (NaCl secretbox, or Fernet as FIPS swarms write). */
export function decryptHeaderValue(name: string, value: string, kek: Buffer): Buffer {
    const rec = decodeRecord(Buffer.from(value, "base64"));
    const wrong = () => new Error(`swarm-node.key: the unlock key does not decrypt the ${name} header (wrong unlock key?)`);
    switch (rec.algorithm) {
        case RecordAlgorithm.NotEncrypted:
            // swarmkit would refuse this with a KEK set; it can only mean the file is half-unlocked already.
            throw new Error(`swarm-node.key: the ${name} header is not encrypted, but the key is`);
        case RecordAlgorithm.NACLSecretboxSalsa20Poly1305: {
            if (rec.nonce.length !== 24) throw new Error(`swarm-node.key: ${name}: bad secretbox nonce length ${rec.nonce.length}`);
            const opened = nacl.secretbox.open(rec.data, rec.nonce, key32(kek));
            if (!opened) throw wrong();
            return Buffer.from(opened);
        }
        case RecordAlgorithm.FernetAES128CBC: {
            // Fernet token: 0x80 | time(8) | iv(16) | AES-128-CBC ciphertext | HMAC-SHA256(signing key, all before).
            const k = key32(kek);
            const t = rec.data;
            if (t.length < 1 + 8 + 16 + 16 + 32 || t[0] !== 0x80) throw new Error(`swarm-node.key: ${name}: not a Fernet token`);
            const mac = createHmac("sha256", k.subarray(0, 16)).update(t.subarray(0, t.length - 32)).digest();
            if (!timingSafeEqual(mac, t.subarray(t.length - 32))) throw wrong();
            const d = createDecipheriv("aes-128-cbc", k.subarray(16), t.subarray(9, 25));
            return Buffer.concat([d.update(t.subarray(25, t.length - 32)), d.final()]);
        }
        default:
            throw new Error(`swarm-node.key: ${name}: unknown record algorithm ${rec.algorithm}`);
    }
}

/** manager/deks.go encodePEMHeaderValue with no KEK (encryption.NoopCrypter). */
export function plainHeaderValue(dek: Buffer): string {
    return encodeRecord({ algorithm: RecordAlgorithm.NotEncrypted, data: dek, nonce: Buffer.alloc(0) }).toString("base64");
}

/** Whether swarm-node.key needs the unlock key (keyutils IsEncryptedPEMBlock). */
export function isLockedSwarmKey(keyPem: string): boolean {
    const block = decodePem(keyPem);
    return block.type === "ENCRYPTED PRIVATE KEY" || /ENCRYPTED/.test(block.headers.get("Proc-Type") ?? "");
}

/**
 * swarm-node.key as swarmkit writes it with autolock off (KeyReadWriter.readKey + writeKey with a nil KEK):
 * the key decrypted ("ENCRYPTED PRIVATE KEY" -> "PRIVATE KEY"; a legacy "EC PRIVATE KEY" keeps its type and loses
 * Proc-Type/DEK-Info), raft-dek and raft-dek-pending re-encoded as NotEncrypted records, raft-dek-needs-rotation
 * and any other header kept, kek-version as UnlockOptions.kekVersion says.
 */
export function unlockSwarmKey(keyPem: string, unlockKey: string, options: UnlockOptions = {}): string {
    const kek = parseUnlockKey(unlockKey);
    const block = decodePem(keyPem);
    const legacy = /ENCRYPTED/.test(block.headers.get("Proc-Type") ?? "");
    if (block.type !== "ENCRYPTED PRIVATE KEY" && !legacy) {
        throw new Error(`swarm-node.key is not encrypted (${block.type}): the swarm was not autolocked when it was written`);
    }

    // The DEK headers first: secretbox is authenticated, so a wrong key is told apart for sure.
    const deks = new Map<string, Buffer>();
    for (const name of [RAFT_DEK, RAFT_DEK_PENDING]) {
        const value = block.headers.get(name);
        if (value !== undefined) deks.set(name, decryptHeaderValue(name, value, kek));
    }
    if (deks.has(RAFT_DEK_PENDING) && !deks.has(RAFT_DEK)) throw new Error("swarm-node.key: a pending raft DEK but no current one");

    const der = legacy ? decryptLegacy(block, kek) : decryptPkcs8(block.bytes, kek);

    let version = 0n;
    const current = block.headers.get(KEK_VERSION);
    if (current !== undefined && /^\d+$/.test(current)) version = BigInt(current);
    const newVersion = options.kekVersion ?? (version > 0n ? version - 1n : 0n);
    if (newVersion < 0n) throw new Error("kekVersion must not be negative");

    const headers = new Map<string, string>();
    for (const [k, v] of block.headers) {
        const n = k.trim().toLowerCase();
        if (n === "proc-type" || n === "dek-info") continue; // mergePEMHeaders drops the encryption headers
        headers.set(k, v);
    }
    for (const [name, dek] of deks) headers.set(name, plainHeaderValue(dek));
    if (headers.has(RAFT_DEK_NEEDS_ROTATION)) headers.set(RAFT_DEK_NEEDS_ROTATION, "true"); // RaftDEKData.MarshalHeaders
    headers.set(KEK_VERSION, newVersion.toString());

    return encodePem({ type: legacy ? block.type : "PRIVATE KEY", headers, bytes: der });
}

/** The files of a backed-up swarm folder that hold KEK-encrypted data: only this one. */
export const KEK_ENCRYPTED_FILES = ["certificates/swarm-node.key"] as const;
