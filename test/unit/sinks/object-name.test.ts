import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatObjectName, parseObjectName, type ObjectName } from '../../../src/sinks/object-name.js';

const MIN = 1_700_000_000_000; // 2023-11-14T22:13:20Z
const MAX = 1_700_086_400_000;

describe('object names', () => {
  it.each<[string, ObjectName, string]>([
    ['a page', { prefix: 'duo-telephony', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MAX, page: 3 }, 'duo-telephony/2023/11/14/telephony_1700000000000_1700086400000_p00003.json'],
    ['no prefix', { prefix: '', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MIN + 1, page: 1 }, '2023/11/14/telephony_1700000000000_1700000000001_p00001.json'],
    ['a prefix with folders', { prefix: 'logs/duo', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MAX, page: 1 }, 'logs/duo/2023/11/14/telephony_1700000000000_1700086400000_p00001.json'],
    ['page beyond five digits', { prefix: 'p', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MAX, page: 123456 }, 'p/2023/11/14/telephony_1700000000000_1700086400000_p123456.json'],
    ['a supplement', { prefix: 'p', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MAX, page: 2, supplement: 1 }, 'p/2023/11/14/telephony_1700000000000_1700086400000_p00002_s1.json'],
    ['a repair', { prefix: 'p', stream: 'trust-monitor', mintimeMs: MIN, maxtimeMs: MAX, page: 2, repair: 12 }, 'p/2023/11/14/trust-monitor_1700000000000_1700086400000_p00002_r12.json'],
  ])('%s', (_, name, text) => {
    expect(formatObjectName(name)).toBe(text);
    expect(parseObjectName(text)).toEqual(name);
  });

  it.each([
    ['another file', 'duo-telephony/state.json'],
    ['a temp file', 'p/2023/11/14/.telephony_1700000000000_1700086400000_p00001.json.tmp-1-ab'],
    ['a date folder that is not the window start', 'p/2023/11/15/telephony_1700000000000_1700086400000_p00001.json'],
    ['seconds instead of milliseconds', 'p/2023/11/14/telephony_1700000000_1700086400_p00001.json'],
    ['page 0', 'p/2023/11/14/telephony_1700000000000_1700086400000_p00000.json'],
    ['both suffixes', 'p/2023/11/14/telephony_1700000000000_1700086400000_p00001_s1_r1.json'],
    ['supplement 0', 'p/2023/11/14/telephony_1700000000000_1700086400000_p00001_s0.json'],
    ['an upper-case stream', 'p/2023/11/14/Telephony_1700000000000_1700086400000_p00001.json'],
  ])('is not ours: %s', (_, text) => {
    expect(parseObjectName(text)).toBeNull();
  });

  it('refuses to format what it could not parse back', () => {
    const base = { prefix: 'p', stream: 'telephony', mintimeMs: MIN, maxtimeMs: MAX, page: 1 };
    expect(() => formatObjectName({ ...base, page: 0 })).toThrow(RangeError);
    expect(() => formatObjectName({ ...base, stream: 'Telephony' })).toThrow(RangeError);
    expect(() => formatObjectName({ ...base, supplement: 1, repair: 1 })).toThrow(RangeError);
    expect(() => formatObjectName({ ...base, repair: 0 })).toThrow(RangeError);
  });

  it('parses back whatever it formats', () => {
    const name = fc.record(
      {
        prefix: fc.constantFrom('', 'duo-telephony', 'a/b/c'),
        stream: fc.constantFrom('telephony', 'authentication', 'activity', 'trust-monitor', 'administrator'),
        mintimeMs: fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 - 86_400_000 }),
        page: fc.integer({ min: 1, max: 10_000_000 }),
        supplement: fc.option(fc.integer({ min: 1, max: 999 }), { nil: undefined }),
      },
      { requiredKeys: ['prefix', 'stream', 'mintimeMs', 'page'] },
    );
    fc.assert(
      fc.property(name, fc.integer({ min: 1, max: 86_400_000 }), (n, span) => {
        const full: ObjectName = { ...n, maxtimeMs: n.mintimeMs + span };
        if (full.supplement === undefined) delete full.supplement;
        expect(parseObjectName(formatObjectName(full))).toEqual(full);
      }),
    );
  });
});
