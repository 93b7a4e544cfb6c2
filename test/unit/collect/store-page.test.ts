import { describe, expect, it } from 'vitest';
import { matchWritten, parseWritten } from '../../../src/collect/store-page.js';
import { contentHash, STREAMS } from '../../../src/duo/streams.js';
import { ObjectConflictError } from '../../../src/errors.js';

const T = Date.UTC(2026, 10, 25, 10, 0, 0);
const w = (key: string) => ({ key, ms: T });

describe('matchWritten: what an earlier attempt of a page already wrote', () => {
  it('finds items by id and leaves the rest lacking', () => {
    const page = ['a', 'b', 'c'].map((k) => ({ content: k, written: w(k) }));
    expect(matchWritten(page, [{ content: 'a', ms: T }, { content: 'c', ms: T }])).toEqual({ found: [w('a'), w('c')], lacking: [1] });
  });

  it('counts identical events as copies: two written, the third lacking', () => {
    const page = [0, 1, 2].map((n) => ({ content: 'h', written: w(`h#${n}`) }));
    expect(matchWritten(page, [{ content: 'h', ms: T }, { content: 'h', ms: T }])).toEqual({ found: [w('h#0'), w('h#1')], lacking: [2] });
  });

  it('carries lines the page no longer serves under their content key', () => {
    expect(matchWritten([], [{ content: 'gone', ms: T + 1 }])).toEqual({ found: [{ key: 'gone', ms: T + 1 }], lacking: [] });
  });
});

describe('parseWritten', () => {
  it("reads each stream's lines back by content key and time, the collector's own fields left out", () => {
    const line = { action: 'admin_login', timestamp: T / 1000, eventtype: 'administrator', host: 'api-x' };
    const body = Buffer.from(`${JSON.stringify(line)}\n${JSON.stringify(line)}\n`);
    const { eventtype: _e, host: _h, ...own } = line;
    expect(parseWritten(body, 'k', { mintimeMs: T, maxtimeMs: T + 1000 }, STREAMS.administrator)).toEqual([
      { content: contentHash(own), ms: T },
      { content: contentHash(own), ms: T },
    ]);
    expect(parseWritten(Buffer.from('{"sekey":"s","surfaced_timestamp":5}\n'), 'k', { mintimeMs: 0, maxtimeMs: 10 }, STREAMS.trust_monitor)).toEqual([{ content: 's', ms: 5 }]);
  });

  it('refuses an item outside the window: this collector did not write it there', () => {
    expect(() => parseWritten(Buffer.from('{"txid":"t","isotimestamp":"2020-01-01T00:00:00+00:00"}\n'), 'k', { mintimeMs: T, maxtimeMs: T + 1 }, STREAMS.authentication)).toThrow(ObjectConflictError);
  });
});
