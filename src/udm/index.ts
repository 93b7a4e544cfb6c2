/** The UDM mapping of Duo telephony items: pure mapping, validator and the NDJSON converter. */
export {
  toUdm,
  mapTelephony,
  udmEvent,
  eventTypeFor,
  VENDOR_NAME,
  PRODUCT_NAME,
  DEFAULT_SUMMARY,
  MECHANISM_KEY,
  MECHANISM_VALUE,
  type TelephonyUdmFields,
  type MapResult,
} from './telephony.js';
export { validateUdmEvent } from './validate.js';
export { toUdmJson, udmJson, type ToUdmJsonResult } from './serialize.js';
export { toSnakeCase, snakeKey } from './case.js';
export { normaliseTimestamp, type TimestampResult } from './timestamp.js';
export {
  convertNdjsonStream,
  emptyStats,
  addStats,
  DEFAULT_MAX_LINE_LENGTH,
  OutputError,
  type ConvertOptions,
  type ConvertStats,
  type LineProblem,
} from './stream.js';
export { walkInputFiles, isInputFileName, isSkippedName } from './files.js';
export type * from './types.js';
