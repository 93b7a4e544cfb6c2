/** lowerCamelCase (proto3 JSON) ↔ snake_case (the guide's table, UDM search). */
import type { SnakeCased, SnakeKey } from './types.js';

/** `eventTimestamp` → `event_timestamp`; mirrors `SnakeKey` character for character. */
export function snakeKey<S extends string>(key: S): SnakeKey<S> {
  let out = '';
  for (const c of key) {
    const lower = c.toLowerCase();
    out += lower === c ? c : `_${lower}`;
  }
  return out as SnakeKey<S>;
}

/**
 * Rename every object key, at every depth, to snake_case. Values are left alone: a detection field's
 * `key: "eventtype"` is data, not a field name.
 */
export function toSnakeCase<T>(obj: T): SnakeCased<T> {
  return convert(obj) as SnakeCased<T>;
}

function convert(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(convert);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a plain assignment to `__proto__` would change the prototype instead.
    Object.defineProperty(out, snakeKey(k), { value: convert(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
