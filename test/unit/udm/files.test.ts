import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkInputFiles } from '../../../src/udm/files.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'udm-walk-'));
  const files = [
    'duo-telephony/2026/11/23/telephony_2_3_p00002.json',
    'duo-telephony/2026/11/23/telephony_2_3_p00001.json',
    'duo-telephony/2026/11/22/telephony_1_2_p00001.json',
    'duo-telephony/2026/11/22/.telephony_1_2_p00002.json.tmp',
    'duo-telephony/2026/11/22/notes.txt',
    'duo-telephony/_partial/x.json',
    '_state/duo-telephony.json',
    '.hidden/y.ndjson',
    'extra.ndjson',
    'B.json',
  ];
  for (const f of files) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), '{}\n');
  }
  await symlink(join(root, 'extra.ndjson'), join(root, 'link.ndjson'));
  // A link back to the root: following it would loop forever.
  await symlink(root, join(root, 'loop'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function list(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const f of walkInputFiles(dir)) out.push(relative(root, f));
  return out;
}

describe('walkInputFiles', () => {
  it('lists *.json and *.ndjson depth first in sorted order, skipping _ and . names', async () => {
    expect(await list(root)).toEqual([
      'B.json',
      'duo-telephony/2026/11/22/telephony_1_2_p00001.json',
      'duo-telephony/2026/11/23/telephony_2_3_p00001.json',
      'duo-telephony/2026/11/23/telephony_2_3_p00002.json',
      'extra.ndjson',
      'link.ndjson',
    ]);
  });

  it('walks a folder given by name even when that name starts with _ or .', async () => {
    expect(await list(join(root, '_state'))).toEqual(['_state/duo-telephony.json']);
    expect(await list(join(root, '.hidden'))).toEqual(['.hidden/y.ndjson']);
  });

  it('rejects a folder that does not exist', async () => {
    await expect(list(join(root, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});
