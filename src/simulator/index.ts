/** The Duo Admin API simulator: data sets, the HTTP server, and the pieces tests check directly. */
export { generateDataset, createSimEvent, compareEvents, formatTs, seededUuid, MAX_DATASET_EVENTS, type DatasetOptions, type SimEvent, type SimEventFields } from './dataset.js';
export { generateStreamDataset, duoKey, isoSeconds } from './stream-data.js';
export { defaultLogs, logOptions, DEFAULT_LOG_SIZES, DEFAULT_END_AGO_MS } from './default-logs.js';
export {
  startSimulator,
  randomIntegration,
  eventsFrom,
  DEFAULT_API_HOST,
  type Simulator,
  type SimulatorOptions,
  type SimulatorStats,
  type FaultOptions,
  type FaultKind,
  type SimIntegration,
  type AccountStats,
} from './server.js';
export { childAccounts, accountListBody, validateAccount, ACCOUNTS_LIST_PATH, DEFAULT_CHILD_EVENTS, type SimAccount, type SimAccountOptions, type ChildAccountsOptions } from './accounts.js';
export {
  ENDPOINTS,
  ADMINISTRATOR_MAX_EVENTS,
  streamAt,
  cursorJson,
  encodeOpaqueOffset,
  decodeOpaqueOffset,
  listBody,
  administratorBody,
  type EndpointRules,
  type ListPage,
} from './endpoints.js';
export { Misbehaviour, validateMisbehaviour, type MisbehaviourOptions, type MisbehaviourKind, type PagePlan } from './misbehaviour.js';
export { createSimClock, type SimClock, type SimClockOptions } from './clock.js';
export { EventStore, cursorFor, type PageQuery, type PageSelection, type SortOrder, type WindowQuery } from './store.js';
export {
  parseQuery,
  parsePageQuery,
  parseAdministratorQuery,
  verifyCredentials,
  mayRead,
  mayUseAccounts,
  accountIdOf,
  bodyParams,
  type DuoFailure,
  type PageRules,
} from './request.js';
export { createRng, type Rng } from './rng.js';
export { STREAM_NAMES, type StreamName } from '../duo/streams.js';
