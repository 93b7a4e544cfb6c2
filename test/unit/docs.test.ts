/**
 * The documents in the repository say what the code does: the tables they print are generated from the
 * code's own tables (rewrite them with `UPDATE_DOCS=1 npx vitest run test/unit/docs.test.ts`), every
 * document the code cites exists, and every relative link points at something that exists.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { settingsTable } from '../../src/config.js';
import { errorCodeTable, exitStatusTable } from '../../src/exit-codes.js';
import { summaryFieldsTable } from '../../src/collect/summary.js';
import { checkpointFieldsTable } from '../../src/checkpoint/codec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UPDATE = process.env['UPDATE_DOCS'] === '1';

const GENERATED: Array<{ file: string; name: string; table: () => string }> = [
  { file: 'README.md', name: 'settings', table: settingsTable },
  { file: 'docs/operations.md', name: 'exit-statuses', table: exitStatusTable },
  { file: 'docs/operations.md', name: 'error-codes', table: errorCodeTable },
  { file: 'docs/operations.md', name: 'summary', table: summaryFieldsTable },
  { file: 'docs/checkpoint.md', name: 'checkpoint-fields', table: checkpointFieldsTable },
];

function section(text: string, name: string): { before: string; body: string; after: string } | null {
  const open = `<!-- generated:${name} -->\n`;
  const close = `<!-- /generated:${name} -->`;
  const i = text.indexOf(open);
  const j = text.indexOf(close);
  if (i < 0 || j < i) return null;
  return { before: text.slice(0, i + open.length), body: text.slice(i + open.length, j), after: text.slice(j) };
}

function walk(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...walk(rel, keep));
    else if (keep(rel)) out.push(rel);
  }
  return out;
}

const documents = ['README.md', 'ARCHITECTURE.md', 'BENCHMARKS.md', ...walk('docs', (p) => p.endsWith('.md')), 'deploy/terraform/README.md'];

describe('generated tables in the documents', () => {
  it.each(GENERATED)('$file holds the $name table the code generates', ({ file, name, table }) => {
    const path = join(ROOT, file);
    const text = readFileSync(path, 'utf8');
    const s = section(text, name);
    expect(s, `${file} lacks the markers <!-- generated:${name} --> … <!-- /generated:${name} -->`).not.toBeNull();
    const want = `${table()}\n`;
    if (UPDATE && s!.body !== want) writeFileSync(path, s!.before + want + s!.after);
    else expect(s!.body, `${file}'s ${name} table differs from the code: run UPDATE_DOCS=1 npx vitest run test/unit/docs.test.ts`).toBe(want);
  });
});

describe('documents', () => {
  it('keeps the README short: what it is, how to start, and links for the depth', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThan(350);
  });

  it('has every document the code, tests and benchmarks cite', () => {
    const sources = [...walk('src', (p) => p.endsWith('.ts')), ...walk('test', (p) => p.endsWith('.ts')), ...walk('bench', (p) => p.endsWith('.ts'))];
    const missing: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md)\b/g)) {
        const cited = m[1]!;
        const candidates = [cited, join('docs', cited), join(dirname(file), cited)];
        if (!candidates.some((c) => existsSync(join(ROOT, c)))) missing.push(`${file}: ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.each(documents.filter((d) => existsSync(join(ROOT, d))))('%s links only to what exists', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const path = join(ROOT, dirname(doc), target);
      if (!existsSync(path)) broken.push(`${target} (from ${relative(ROOT, path)})`);
    }
    expect(broken).toEqual([]);
  });
});
