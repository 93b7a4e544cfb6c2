/**
 * When a page counts as delivered, so its cursor may be committed. For a bucket or a folder: as soon as
 * its object is stored. For a pipe (`collect --stdout | reader`): only once enough later output has been
 * accepted that the page can no longer sit unread in the pipe, since a reader that dies loses what the
 * pipe still holds. States are kept in order and the latest one that is delivered is committed; what is
 * still in flight when the run ends is not committed, and the next run writes it again (at least once).
 */
import type { Checkpoint } from '../checkpoint/codec.js';

export interface DeliveryGate {
  /** Bytes accepted by the sink. */
  wrote(bytes: number): void;
  /** A state to commit once everything written before it is delivered. */
  hold(state: Checkpoint): void;
  /** The latest held state now delivered (taken off, with those before it), if any. */
  due(): Checkpoint | undefined;
}

/** `inFlightBytes`: how much written output may still be undelivered (0: none, once accepted). */
export function createDeliveryGate(inFlightBytes: number): DeliveryGate {
  const held: Array<{ state: Checkpoint; at: number }> = [];
  let written = 0;
  return {
    wrote(bytes) {
      written += bytes;
    },
    hold(state) {
      held.push({ state, at: written });
    },
    due() {
      let last = -1;
      for (let i = 0; i < held.length; i++) if (written - held[i]!.at >= inFlightBytes) last = i;
      if (last < 0) return undefined;
      const { state } = held[last]!;
      held.splice(0, last + 1);
      return state;
    },
  };
}
