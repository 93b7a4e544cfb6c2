/**
 * The library API (`duo-secops/lib`): the run protocol, its stores and sinks, the Duo client and
 * signer, the UDM mapping. What to test with (the simulator, in-memory stores) is `duo-secops/testing`.
 * Re-exports only; nothing runs at import.
 */
export { loadConfig, defaultStateKey, legacyStateKey, SETTINGS, type Config, type ConfigFlags, type Entry } from './config.js';
export { ERROR_CODES, EXIT_STATUS, exitStatusOf } from './exit-codes.js';
export * from './errors.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { runOnce, type RunDeps, type RunSettings, type RunSummary, type RunOutcome, type PageSource } from './collect/run.js';
export { createCollector, createStores, runSettings, type Collector } from './collect/deps.js';
export { computeWindow } from './collect/window.js';
export {
  parseCheckpoint,
  parseStoredCheckpoint,
  serializeCheckpoint,
  initialCheckpoint,
  CHECKPOINT_VERSION,
  CHECKPOINT_FIELDS,
  type Checkpoint,
  type CheckpointField,
  type OpenWindow,
} from './checkpoint/codec.js';
export { summaryJson, SUMMARY_FIELDS, SUMMARY_VERSION, type RunSummaryJson } from './collect/summary.js';
export type { CheckpointStore, StoredCheckpoint } from './checkpoint/types.js';
export type { Sink, PageObject, WriteOutcome } from './sinks/types.js';
export { formatObjectName, parseObjectName, type ObjectName } from './sinks/object-name.js';
export { createDuoClient, type DuoClient, type DuoClientOptions } from './duo/client.js';
export { checkDuo, formatCheckReport, type CheckReport } from './duo/check.js';
export { signRequest, canonicalize, canonicalParams, rfc2822Date } from './duo/sign.js';
export type { DuoPage, TelephonyItem, TelephonyPage, PageRequest } from './duo/types.js';
export * from './udm/index.js';
