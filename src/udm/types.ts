/**
 * The part of Google SecOps' Unified Data Model (UDM) that the `DUO_TELEPHONY` mapping fills, as proto3
 * JSON in lowerCamelCase (what the SecOps import API takes). `SnakeCased<UdmEvent>` is the same event
 * with the snake_case names the guide's mapping table and UDM search use.
 */

/** The event types the mapping produces (docs/udm.md). */
export type UdmEventType = 'USER_UNCATEGORIZED' | 'STATUS_UPDATE' | 'GENERIC_EVENT';

/** Values of UDM `SecurityResult.Action` (only `ALLOW` is produced; the rest keep the validator honest). */
export type UdmSecurityAction = 'UNKNOWN_ACTION' | 'ALLOW' | 'BLOCK' | 'ALLOW_WITH_MODIFICATION' | 'QUARANTINE' | 'FAIL' | 'CHALLENGE';

/** Values of UDM `SecurityResult.ProductSeverity`. */
export type UdmSeverity = 'UNKNOWN_SEVERITY' | 'INFORMATIONAL' | 'ERROR' | 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface UdmLabel {
  key: string;
  value: string;
}

export interface UdmMetadata {
  /** RFC 3339 in UTC with a `Z`, e.g. `2022-10-25T16:07:45.304526Z`. */
  eventTimestamp: string;
  eventType: UdmEventType;
  vendorName: string;
  productName: string;
  /** ← `context` */
  productEventType?: string;
  /** ← `telephony_id` */
  productLogId?: string;
  /** ← `log_type`, else the caller's `logType` option */
  logType?: string;
}

export interface UdmUser {
  /** ← `phone` */
  userid?: string;
  /** ← `[phone]` */
  phoneNumbers?: string[];
}

export interface UdmNoun {
  /** ← `host` when it is not an IP address */
  hostname?: string;
  /** ← `[host]` when it is an IP address */
  ip?: string[];
  user?: UdmUser;
}

export interface UdmSecurityResult {
  action: UdmSecurityAction[];
  severity: UdmSeverity;
  summary: string;
  detectionFields?: UdmLabel[];
}

export interface UdmEvent {
  metadata: UdmMetadata;
  /** Omitted when the item has neither `host` nor `phone`. */
  principal?: UdmNoun;
  securityResult: UdmSecurityResult[];
}

/** `eventTimestamp` → `event_timestamp`, at the type level. */
export type SnakeKey<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${SnakeKey<Rest>}`
  : S;

/** An object type with every key, at every depth, in snake_case. */
export type SnakeCased<T> = T extends readonly (infer U)[]
  ? SnakeCased<U>[]
  : T extends object
    ? { [K in keyof T as K extends string ? SnakeKey<K> : K]: SnakeCased<T[K]> }
    : T;

/** A UDM event with snake_case names (`--case snake`). */
export type UdmEventSnake = SnakeCased<UdmEvent>;

export type UdmCase = 'camel' | 'snake';

export interface ToUdmOptions {
  /** `metadata.logType` for items that carry no `log_type` of their own. */
  logType?: string;
  /** Field name style of the result; default `camel` (proto3 JSON). */
  case?: UdmCase;
}

export type ToUdmResult<E = UdmEvent | UdmEventSnake> = { ok: true; event: E } | { ok: false; reason: string };
