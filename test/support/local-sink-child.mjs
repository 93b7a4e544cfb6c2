// Child process for the multi-process test of the local sink. Usage:
//   node local-sink-child.mjs <module-url> <root> <key> <body>
// Waits for "go" on stdin so all children start writing together, writes one page, prints the outcome
// ("created", "exists") or the error code.
import { createHash } from 'node:crypto';

const [moduleUrl, root, key, body] = process.argv.slice(2);
const { createLocalSink } = await import(moduleUrl);
const sink = createLocalSink({ root });
const buf = Buffer.from(body, 'utf8');
const page = { key, body: buf, sha256: createHash('sha256').update(buf).digest('hex'), itemCount: 1, firstTs: '', lastTs: '' };

process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  try {
    process.stdout.write(`${await sink.writePage(page)}\n`);
  } catch (err) {
    process.stdout.write(`${err && err.code ? err.code : String(err)}\n`);
  }
  process.exit(0);
});
