import { describe, expect, it } from 'vitest';
import { createDeliveryGate } from '../../../src/collect/delivery.js';
import { initialCheckpoint, type Checkpoint } from '../../../src/checkpoint/codec.js';

const state = (n: number): Checkpoint => initialCheckpoint(1_700_000_000_000 + n, '2026-11-25T00:00:00.000Z');

describe('delivery gate', () => {
  it('lets every state through at once when nothing can be in flight', () => {
    const gate = createDeliveryGate(0);
    gate.hold(state(1));
    expect(gate.due()).toEqual(state(1));
    gate.wrote(100);
    gate.hold(state(2));
    expect(gate.due()).toEqual(state(2));
  });

  it('holds a state until that many bytes were accepted after it, then gives the latest one due', () => {
    const gate = createDeliveryGate(1000);
    gate.hold(state(0)); // a window opened: nothing written yet
    gate.wrote(600);
    gate.hold(state(1)); // after page 1
    expect(gate.due()).toBeUndefined();
    gate.wrote(600);
    gate.hold(state(2)); // page 2: 1200 bytes after state 0, 600 after state 1
    expect(gate.due()).toEqual(state(0));
    gate.wrote(1500);
    gate.hold(state(3)); // page 3: everything before it is now 1500 bytes back
    expect(gate.due()).toEqual(state(2));
    // Taken off with those before it; the last one waits for more output, or for the next run.
    expect(gate.due()).toBeUndefined();
  });
});
