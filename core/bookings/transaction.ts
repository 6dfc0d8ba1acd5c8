/** One Postgres transaction on a pooled connection: the BEGIN / COMMIT / ROLLBACK / release rules in one place. */
import type pg from 'pg';

/** Returned by a transaction body to roll back (nothing changed) and still resolve to `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/**
 * Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it
 * throws (rethrown) or returns a Rollback. A connection whose ROLLBACK fails
 * is discarded instead of going back to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T | Rollback<T>>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await body(client);
    if (result instanceof Rollback) {
      await client.query('ROLLBACK');
      return result.value;
    }
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
