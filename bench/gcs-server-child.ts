/**
 * The GCS JSON API test server in a process of its own, for the GCS-sink benchmarks: in the
 * collector's process it would bill its own work (checksums, storing 1M events) to the collector.
 *
 * Usage: node dist/bench/gcs-server-child.js <bucket>. Prints `{"url":…}` once listening, serves until
 * SIGTERM or SIGINT.
 *
 * The server lives with the tests (test/support/); the build compiles it into dist/ because this file
 * imports it.
 */
import { startGcsTestServer } from '../test/support/gcs-server.js';

const bucket = process.argv[2] ?? 'bench';
const server = await startGcsTestServer();
server.createBucket(bucket);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

const stop = (): void => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
