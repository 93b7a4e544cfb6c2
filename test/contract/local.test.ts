import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalCheckpointStore } from '../../src/checkpoint/local.js';
import { createLocalSink } from '../../src/sinks/local.js';
import { checkpointContract } from './checkpoint.contract.js';
import { sinkContract } from './sink.contract.js';

sinkContract('local folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'duo-sink-'));
  return {
    sink: createLocalSink({ root }),
    read: async (key) => {
      try {
        return await readFile(join(root, key));
      } catch {
        return null;
      }
    },
    another: async () => createLocalSink({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

checkpointContract('local folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'duo-cp-'));
  const path = join(root, '_state', 'duo-telephony.json');
  return {
    store: createLocalCheckpointStore({ path }),
    another: async () => createLocalCheckpointStore({ path }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

// Pruning on every few saves (keep 1 asks for the least the store keeps: two generations), so the
// contract also holds while generation files come and go.
checkpointContract('local folder, aggressive pruning', async () => {
  const root = await mkdtemp(join(tmpdir(), 'duo-cp-'));
  const path = join(root, '_state', 'duo-telephony.json');
  return {
    store: createLocalCheckpointStore({ path, keep: 1 }),
    another: async () => createLocalCheckpointStore({ path, keep: 1 }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
