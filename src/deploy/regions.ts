/**
 * Where the function may run. The authority is the project itself: `gcloud functions regions list
 * --gen2` (a probe, see plan.ts) answers with the regions Cloud Run functions offers it, and an unknown
 * `--region` is then refused before anything changes. When that cannot be asked (a dry run without
 * gcloud or a login, or a project whose Cloud Functions API is not enabled yet) the built-in list below
 * stands in, and an unknown name only warns: regions are added over time, and a real run's own
 * commands have the last word.
 */

/**
 * Cloud Run's published regions (Tier 1 and Tier 2 pricing), 2025. Cloud Run functions runs as a
 * Cloud Run service, so these are the names a deploy can expect to work.
 */
export const KNOWN_REGIONS: readonly string[] = [
  'africa-south1',
  'asia-east1',
  'asia-east2',
  'asia-northeast1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-south1',
  'asia-south2',
  'asia-southeast1',
  'asia-southeast2',
  'australia-southeast1',
  'australia-southeast2',
  'europe-central2',
  'europe-north1',
  'europe-north2',
  'europe-southwest1',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-west6',
  'europe-west8',
  'europe-west9',
  'europe-west10',
  'europe-west12',
  'me-central1',
  'me-central2',
  'me-west1',
  'northamerica-northeast1',
  'northamerica-northeast2',
  'northamerica-south1',
  'southamerica-east1',
  'southamerica-west1',
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  'us-west2',
  'us-west3',
  'us-west4',
];

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** `gcloud functions regions list --format=json`: locations as `locationId` or as a `name` path. */
export function parseRegions(json: unknown): string[] {
  if (!Array.isArray(json)) return [];
  const out = json
    .map((l) => {
      const id = obj(l).locationId;
      if (typeof id === 'string' && id !== '') return id;
      const name = obj(l).name;
      return typeof name === 'string' ? name.split('/').pop() : undefined;
    })
    .filter((r): r is string => r !== undefined && r !== '');
  return [...new Set(out)].sort();
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The `n` names nearest to `region` by edit distance (ties alphabetical): what was probably meant. */
export function closestRegions(region: string, known: readonly string[], n = 3): string[] {
  return known
    .map((k) => ({ k, d: editDistance(region, k) }))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, n)
    .map((x) => x.k);
}

/** Problems with the region that no step can fix: only when the project said which regions it has. */
export function regionProblems(region: string, offered: readonly string[] | undefined): string[] {
  if (offered === undefined || offered.length === 0 || offered.includes(region)) return [];
  return [
    `--region: ${region} is not a region where Cloud Run functions can run for this project (gcloud functions regions list); ` +
      `closest: ${closestRegions(region, offered).join(', ')}`,
  ];
}

/**
 * A warning when the project could not say which regions it has and the region is not in the built-in
 * list; `why` says why gcloud could not be asked.
 */
export function regionWarning(region: string, offered: readonly string[] | undefined, why: string): string | undefined {
  if (offered !== undefined && offered.length > 0) return undefined;
  if (KNOWN_REGIONS.includes(region)) return undefined;
  return (
    `--region: ${region} is not among the regions this version knows (closest: ${closestRegions(region, KNOWN_REGIONS).join(', ')}), ` +
    `and it could not be checked with gcloud (${why}). If it is a typo, the first command that uses the region fails; ` +
    'a region opened after this release is fine'
  );
}
