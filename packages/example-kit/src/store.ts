import { MemoryLocationStore } from '@sipway/registrar';
import type { LocationStore, RegistrarLogger } from '@sipway/registrar';

/** The parsed `--store`: `memory`, `file:PATH[?flushIntervalMs=N]` or `redis://host:port/db`. */
export type StoreSpec = { kind: 'memory' } | { kind: 'file'; url: string } | { kind: 'redis'; url: string };

/**
 * Opens the location store of `--store`. The file and Redis stores load on demand, so a
 * memory-only server never loads ioredis. Rejects when the snapshot cannot be read or written, or
 * Redis does not answer at start-up: a server that would lose or not share its bindings should
 * not start (exit 1).
 */
export async function openStore(spec: StoreSpec, logger: RegistrarLogger): Promise<LocationStore> {
  switch (spec.kind) {
    case 'memory':
      return new MemoryLocationStore();
    case 'file': {
      const { FileLocationStore, parseFileStoreUrl } = await import('@sipway/registrar/file');
      return FileLocationStore.open({ ...parseFileStoreUrl(spec.url), logger });
    }
    case 'redis': {
      const { RedisLocationStore } = await import('@sipway/registrar/redis');
      return RedisLocationStore.connect({ url: spec.url, logger });
    }
  }
}

/** The store URL without a password, for logs. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind !== 'redis') return spec.kind === 'memory' ? 'memory' : spec.url;
  try {
    const url = new URL(spec.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'redis';
  }
}
