/** Isolated seat stores on the real test Redis: each gets its own key prefix and is wiped afterwards. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SeatStore, deleteKeysByPrefix, type SeatStoreOptions } from '../../core/store/index.js';
import { testRedisUrl } from './env.js';

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
  const prefix = `test:${randomBytes(5).toString('hex')}:`;
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
