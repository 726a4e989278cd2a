import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { blobStoreContract } from './store.contract.ts';
import { createFsBlobStore } from './store.ts';

blobStoreContract('filesystem', async () => createFsBlobStore(await mkdtemp(path.join(tmpdir(), 'cellmark-blobs-'))));
