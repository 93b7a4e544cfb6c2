/** Deterministic object names (design.md section 4): the same page always gets the same name. */

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function objectKey(prefix: string, mintimeMs: number, maxtimeMs: number, page: number): string {
  const d = new Date(mintimeMs);
  const datePath = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}`;
  const name = `telephony_${mintimeMs}_${maxtimeMs}_p${pad(page, 5)}.json`;
  return prefix ? `${prefix}/${datePath}/${name}` : `${datePath}/${name}`;
}

/** Parse an object name back (for `state` and tests); null when it is not one of ours. */
export function parseObjectKey(key: string): { mintimeMs: number; maxtimeMs: number; page: number } | null {
  const m = /telephony_(\d+)_(\d+)_p(\d+)\.json$/.exec(key);
  if (!m) return null;
  return { mintimeMs: Number(m[1]), maxtimeMs: Number(m[2]), page: Number(m[3]) };
}
