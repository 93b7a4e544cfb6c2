/**
 * Which files of a folder tree hold collected items: the local sink's layout
 * (`{prefix}/{yyyy}/{mm}/{dd}/telephony_….json`) or any tree of `.json`/`.ndjson` files.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Collected data files; everything else (temp files, notes) is not input. */
export function isInputFileName(name: string): boolean {
  return name.endsWith('.json') || name.endsWith('.ndjson');
}

/**
 * Names starting with `_` or `.` are skipped: the sink keeps its checkpoint under `_state/` and its
 * half-written temp files as dot-files, and neither is a log.
 */
export function isSkippedName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

// Code-unit order, not locale order: the same tree gives the same output everywhere.
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every input file under `dir`, depth first in sorted order (so a date-partitioned tree comes out in
 * time order). `dir` itself is always walked, even when its own name starts with `.` or `_`.
 * Symbolic links to files are followed; links to folders are not, so a link cycle cannot loop.
 */
export async function* walkInputFiles(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => byName(a.name, b.name));
  for (const entry of entries) {
    if (isSkippedName(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walkInputFiles(path);
    } else if (isInputFileName(entry.name)) {
      if (entry.isFile()) yield path;
      else if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        if (target?.isFile()) yield path;
      }
    }
  }
}
