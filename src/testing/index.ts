/**
 * What to test with (`duo-secops/testing`): in-memory sink and checkpoint stores that fail on
 * request, and the Duo Admin API simulator with its data sets and clock. Kept out of the library
 * (`duo-secops/lib`) so production code never depends on them. Re-exports only; nothing runs at import.
 */
export { createMemorySink, MemoryFaults, type MemoryFaultOptions, type MemoryOp, type MemorySinkOptions } from './memory-sink.js';
export { createMemoryCheckpointStore, createMemoryStore, type MemoryCheckpointOptions, type MemoryDocument, type MemoryStore } from './memory-checkpoint.js';
export {
  startSimulator,
  randomIntegration,
  DEFAULT_API_HOST,
  createSimClock,
  generateDataset,
  createSimEvent,
  defaultLogs,
  childAccounts,
  STREAM_NAMES,
  type StreamName,
  type Simulator,
  type SimulatorOptions,
  type SimulatorStats,
  type FaultOptions,
  type FaultKind,
  type MisbehaviourOptions,
  type MisbehaviourKind,
  type SimIntegration,
  type SimAccount,
  type SimAccountOptions,
  type ChildAccountsOptions,
  type AccountStats,
  type SimClock,
  type SimClockOptions,
  type DatasetOptions,
  type SimEvent,
  type SimEventFields,
} from '../simulator/index.js';
