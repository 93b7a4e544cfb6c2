import { describe, expect, expectTypeOf, it } from 'vitest';
import { snakeKey, toSnakeCase } from '../../../src/udm/case.js';

describe('snake_case', () => {
  it.each([
    ['eventTimestamp', 'event_timestamp'],
    ['productLogId', 'product_log_id'],
    ['userid', 'userid'],
    ['ip', 'ip'],
    ['detectionFields', 'detection_fields'],
    ['already_snake', 'already_snake'],
    ['ipV6Address2', 'ip_v6_address2'],
  ])('%s → %s', (camel, snake) => {
    expect(snakeKey(camel)).toBe(snake);
  });

  it('renames keys at every depth and leaves values alone', () => {
    const out = toSnakeCase({ securityResult: [{ detectionFields: [{ key: 'eventType', value: 'camelValue' }] }], n: null, xY: [1, 'aB'] });
    expect(out).toEqual({ security_result: [{ detection_fields: [{ key: 'eventType', value: 'camelValue' }] }], n: null, x_y: [1, 'aB'] });
    expectTypeOf(out.security_result[0]!.detection_fields[0]!.key).toEqualTypeOf<string>();
  });

  it('keeps a __proto__ key as data instead of changing the prototype', () => {
    const input: unknown = JSON.parse('{"__proto__": {"polluted": true}, "aB": 1}');
    const out = toSnakeCase(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a_b']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
