/** The example items map to valid USER_UNCATEGORIZED events (the acceptance check). */
import { describe, expect, it } from 'vitest';
import { toUdm } from '../../../src/udm/telephony.js';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import { EXAMPLE_HOST as HOST, EXAMPLE_ITEMS } from './examples.js';

describe('the three example items, enriched as the collector writes them', () => {
  it.each(EXAMPLE_ITEMS)('$context maps to a USER_UNCATEGORIZED event the validator accepts', (item) => {
    const result = toUdm(item);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const e = result.event;
    expect(validateUdmEvent(e)).toEqual([]);
    expect(e.metadata).toEqual({
      eventTimestamp: item.ts.replace('+00:00', 'Z'),
      eventType: 'USER_UNCATEGORIZED',
      vendorName: 'Duo',
      productName: 'Telephony',
      productEventType: item.context,
      productLogId: item.telephony_id,
    });
    expect(e.principal).toEqual({ hostname: HOST, user: { userid: item.phone, phoneNumbers: [item.phone] } });
    expect(e.securityResult).toEqual([
      {
        action: ['ALLOW'],
        severity: 'INFORMATIONAL',
        summary: item.type,
        detectionFields: [
          { key: 'credits', value: String(item.credits) },
          { key: 'eventtype', value: 'telephony' },
          { key: 'mechanism', value: 'MECHANISM_UNSPECIFIED' },
        ],
      },
    ]);
  });

  it('the same items straight from the API (no enrichment) are GENERIC_EVENTs, as in the guide', () => {
    for (const { eventtype: _e, host: _h, ...raw } of EXAMPLE_ITEMS) {
      const result = toUdm(raw);
      expect(result.ok && result.event.metadata.eventType).toBe('GENERIC_EVENT');
      if (result.ok) expect(validateUdmEvent(result.event)).toEqual([]);
    }
  });
});
