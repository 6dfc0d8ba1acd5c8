/** One Postgres transaction on a pooled connection: the BEGIN / COMMIT / ROLLBACK / release rules in one place. */
import type pg from 'pg';

/** Returned by a transaction body to roll back (nothing changed) and still resolve to `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/**
 * Returned by a transaction body to commit with `statements` (parameterless
 * SQL, e.g. a NOTIFY with its payload as a literal) sent in the same round
 * trip as the COMMIT, and still resolve to `value`.
 */
export class CommitWith<T> {
  constructor(
    readonly value: T,
    readonly statements: string,
  ) {}
}

export interface TransactionOptions {
  /** a savepoint opened with the BEGIN, in the same round trip, for the body to roll back to */
  savepoint?: string;
}

/**
 * Runs `body` in a transaction: COMMIT when it returns (after a CommitWith's
 * statements, in the same round trip), ROLLBACK when it throws (rethrown) or
 * returns a Rollback. A connection whose ROLLBACK fails is discarded instead
 * of going back to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  body: (client: pg.PoolClient) => Promise<T | Rollback<T> | CommitWith<T>>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(options.savepoint ? `BEGIN; SAVEPOINT ${options.savepoint}` : 'BEGIN');
    const result = await body(client);
    if (result instanceof Rollback) {
      await client.query('ROLLBACK');
      return result.value;
    }
    if (result instanceof CommitWith) {
      await client.query(result.statements.length > 0 ? `${result.statements}; COMMIT` : 'COMMIT');
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
