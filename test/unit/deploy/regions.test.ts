/** --region: the project's own list when gcloud can give it, the built-in list (warning only) when not. */
import { describe, expect, it } from 'vitest';
import { closestRegions, KNOWN_REGIONS, parseRegions, regionProblems, regionWarning } from '../../../src/deploy/regions.js';

describe('regions', () => {
  it('reads gcloud functions regions list in either shape', () => {
    expect(parseRegions([{ name: 'projects/p/locations/us-east1', locationId: 'us-east1' }, { name: 'projects/p/locations/europe-west1' }, { junk: 1 }, 'x'])).toEqual(['europe-west1', 'us-east1']);
    expect(parseRegions(null)).toEqual([]);
  });

  it('names the closest regions first', () => {
    expect(closestRegions('us-central9', KNOWN_REGIONS)[0]).toBe('us-central1');
    expect(closestRegions('europe-west', KNOWN_REGIONS)).toContain('europe-west1');
    expect(closestRegions('uscentral1', ['us-central1', 'us-east1'], 1)).toEqual(['us-central1']);
  });

  it("refuses a region the project's list lacks, with the closest names", () => {
    const offered = ['europe-west1', 'us-central1', 'us-east1'];
    expect(regionProblems('us-central1', offered)).toEqual([]);
    expect(regionProblems('us-central9', offered)).toEqual([
      '--region: us-central9 is not a region where Cloud Run functions can run for this project (gcloud functions regions list); closest: us-central1, us-east1, europe-west1',
    ]);
    // Not asked: nothing to refuse on.
    expect(regionProblems('us-central9', undefined)).toEqual([]);
  });

  it('only warns, and only for a name it does not know, when gcloud could not be asked', () => {
    expect(regionWarning('us-central1', undefined, 'the project was not read')).toBeUndefined();
    const w = regionWarning('us-central9', undefined, 'the project was not read');
    expect(w).toContain('--region: us-central9 is not among the regions this version knows (closest: us-central1');
    expect(w).toContain('(the project was not read)');
    // Asked: the project's list decides (regionProblems), no warning besides.
    expect(regionWarning('us-central9', ['us-central1'], 'x')).toBeUndefined();
  });

  it('the built-in list has no duplicate and only region-shaped names', () => {
    expect([...KNOWN_REGIONS].sort()).toEqual([...new Set(KNOWN_REGIONS)].sort());
    for (const r of KNOWN_REGIONS) expect(r).toMatch(/^[a-z]+(-[a-z]+)+\d+$/);
  });
});
