/** The Duo Admin API simulator: data sets, the HTTP server, and the pieces tests check directly. */
export { generateDataset, createSimEvent, compareEvents, formatTs, seededUuid, MAX_DATASET_EVENTS, type DatasetOptions, type SimEvent, type SimEventFields } from './dataset.js';
export {
  startSimulator,
  randomIntegration,
  DEFAULT_API_HOST,
  type Simulator,
  type SimulatorOptions,
  type SimulatorStats,
  type FaultOptions,
  type FaultKind,
  type SimIntegration,
} from './server.js';
export { Misbehaviour, validateMisbehaviour, type MisbehaviourOptions, type MisbehaviourKind, type PagePlan } from './misbehaviour.js';
export { createSimClock, type SimClock, type SimClockOptions } from './clock.js';
export { EventStore, cursorFor, type PageQuery, type PageSelection, type SortOrder, type WindowQuery } from './store.js';
export { parseQuery, parsePageQuery, verifyCredentials, type DuoFailure } from './request.js';
export { createRng, type Rng } from './rng.js';
