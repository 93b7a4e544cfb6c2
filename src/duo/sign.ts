/**
 * Duo Admin API request signing (HMAC, canonical string v2 and v5), as pure functions.
 *
 * Hand-written because Duo's own Node client (`@duosecurity/duo_api`) is CommonJS, callback-based,
 * has no v5 x-duo-header hashing, no SHA-1 option and no typed errors; signing is ~60 lines and must be
 * shared by the client and the simulator (which verifies). The official client is used in tests as an
 * oracle against the simulator.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureVersion = 2 | 5;
export type SignatureDigest = 'sha512' | 'sha1';

export type ParamValue = string | readonly string[];
export type Params = Readonly<Record<string, ParamValue>>;

export interface SignInput {
  ikey: string;
  skey: string;
  method: string;
  host: string;
  path: string;
  params: Params;
  /** RFC 2822 date, byte-identical to the `Date` header sent. */
  date: string;
  version?: SignatureVersion;
  digest?: SignatureDigest;
  /** v5 only: the request body ("" for GET). */
  body?: string;
  /** v5 only: `x-duo-*` headers that are sent and must be hashed in. */
  duoHeaders?: Readonly<Record<string, string>>;
}

/**
 * RFC 3986 percent-encoding of UTF-8 with only `A-Z a-z 0-9 - _ . ~` left literal.
 * `encodeURIComponent` also leaves `! ' ( ) *` literal, which Duo's canonical form encodes.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Compare by UTF-16 code units (what Python's `sorted` does on ASCII-encoded strings). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical parameter string: pairs `k=v`, keys and values percent-encoded, sorted by encoded key then
 * encoded value, joined by `&`. The same string is used as the URL query.
 */
export function canonicalParams(params: Params): string {
  const pairs: Array<[string, string]> = [];
  for (const [key, raw] of Object.entries(params)) {
    const k = percentEncode(key);
    const values = typeof raw === 'string' ? [raw] : raw;
    for (const v of values) pairs.push([k, percentEncode(v)]);
  }
  pairs.sort((a, b) => compareCodeUnits(a[0], b[0]) || compareCodeUnits(a[1], b[1]));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export function sha512Hex(text: string): string {
  return createHash('sha512').update(text, 'utf8').digest('hex');
}

/** sha512 of the x-duo headers: lower-cased names, sorted, `name\0value\0name\0value`. */
export function canonicalDuoHeaders(headers: Readonly<Record<string, string>> = {}): string {
  const lowered = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) lowered.set(name.toLowerCase(), value);
  const parts: string[] = [];
  for (const name of [...lowered.keys()].sort(compareCodeUnits)) parts.push(name, lowered.get(name) ?? '');
  return sha512Hex(parts.join('\0'));
}

/** The canonical string to sign, lines joined by `\n`, no trailing newline. */
export function canonicalize(input: Omit<SignInput, 'ikey' | 'skey' | 'digest'>): string {
  const lines = [input.date, input.method.toUpperCase(), input.host.toLowerCase(), input.path, canonicalParams(input.params)];
  if ((input.version ?? 2) === 5) {
    lines.push(sha512Hex(input.body ?? ''), canonicalDuoHeaders(input.duoHeaders));
  }
  return lines.join('\n');
}

export function signatureHex(skey: string, canonical: string, digest: SignatureDigest = 'sha512'): string {
  return createHmac(digest, skey).update(canonical, 'utf8').digest('hex');
}

/** The `Authorization` header value: `Basic base64(ikey:hex(hmac))`. */
export function signRequest(input: SignInput): string {
  const sig = signatureHex(input.skey, canonicalize(input), input.digest ?? 'sha512');
  return `Basic ${Buffer.from(`${input.ikey}:${sig}`, 'utf8').toString('base64')}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** RFC 2822 date in UTC as Duo's clients send it: `Tue, 21 Aug 2012 17:29:18 -0000`. */
export function rfc2822Date(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} -0000`;
}

export interface ParsedAuthorization {
  ikey: string;
  signature: string;
}

/** Parse `Basic base64(ikey:sig)`; undefined when malformed. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  return { ikey: decoded.slice(0, i), signature: decoded.slice(i + 1) };
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
