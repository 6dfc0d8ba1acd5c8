/** Isolated seat stores on the real test Redis: each gets its own key prefix of this run and is wiped afterwards. */
import { Redis } from 'ioredis';
import { SeatStore, deleteKeysByPrefix, type SeatStoreOptions } from '../../core/store/index.js';
import { testRedisUrl } from './env.js';
import { newPrefix } from './run.js';

export interface TestStore {
  store: SeatStore;
  redis: Redis;
  prefix: string;
  /** a further connection with the same prefix, for concurrent callers */
  connect(options?: Partial<SeatStoreOptions>): SeatStore;
  cleanup(): Promise<void>;
}

export function newRedis(): Redis {
  return new Redis(testRedisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
}

export function createTestStore(options: Partial<SeatStoreOptions> = {}): TestStore {
  const prefix = newPrefix();
  const redis = newRedis();
  const extra: Redis[] = [];
  const store = new SeatStore({ redis, prefix, ...options });
  return {
    store,
    redis,
    prefix,
    connect(more = {}) {
      const client = newRedis();
      extra.push(client);
      return new SeatStore({ redis: client, prefix, ...options, ...more });
    },
    async cleanup() {
      await deleteKeysByPrefix(redis, prefix);
      await Promise.all([redis, ...extra].map((r) => r.quit().catch(() => undefined)));
    },
  };
}
