// Child process for the multi-process tests of the local checkpoint store (plain ESM: no TypeScript
// loader is available in a bare `node`). Usage:
//   node local-cas-child.mjs <module-url> <checkpoint-path> race <attempts> [keep]
//     load → save(counter + 1) `attempts` times; prints {"successes":n,"conflicts":m}
//   node local-cas-child.mjs <module-url> <checkpoint-path> forever
//     increments until killed; prints each committed counter on its own line
const [moduleUrl, path, mode, attemptsArg, keepArg] = process.argv.slice(2);
const { createLocalCheckpointStore } = await import(moduleUrl);
const store = createLocalCheckpointStore({ path, ...(keepArg ? { keep: Number(keepArg) } : {}) });

async function increment() {
  const current = await store.load();
  const counter = current ? JSON.parse(current.data.toString('utf8')).counter : 0;
  const data = Buffer.from(`${JSON.stringify({ counter: counter + 1, pid: process.pid })}\n`);
  try {
    await store.save(data, current ? current.version : null);
    return counter + 1;
  } catch (err) {
    if (err && err.code === 'CHECKPOINT_CONFLICT') return null;
    throw err;
  }
}

if (mode === 'race') {
  let successes = 0;
  let conflicts = 0;
  for (let i = 0; i < Number(attemptsArg); i++) {
    if ((await increment()) === null) conflicts++;
    else successes++;
  }
  process.stdout.write(`${JSON.stringify({ successes, conflicts })}\n`);
} else if (mode === 'forever') {
  for (;;) {
    const n = await increment();
    if (n !== null) process.stdout.write(`${n}\n`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
