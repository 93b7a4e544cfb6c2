/** Read back what a collector wrote to a local folder or a GCS test bucket. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { objectStream } from '../../src/sinks/object-name.js';

/** Every `<stream>_*.json` object body under `dir` (pages, their supplements and repairs: all a feed reads), recursively. */
export async function localObjects(dir: string, stream = 'telephony'): Promise<Buffer[]> {
  const name = new RegExp(`^${objectStream(stream)}_\\d+_\\d+_p\\d+(_[sr]\\d+)?\\.json$`);
  const out: Buffer[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (name.test(e.name)) out.push(await readFile(p));
    }
  };
  await walk(dir);
  return out;
}
