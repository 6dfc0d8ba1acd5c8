/**
 * Databases inside a Postgres server that answers: creating the one a URL
 * names when it is missing (with a hint when the login is refused instead),
 * and the named and throwaway databases the tests and benchmarks make, list
 * and drop again by name prefix.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { debianClusterHba } from './postgres.js';
import { PG_AUTH_FAILURES, PG_MISSING_DATABASE, probePostgres } from './probe.js';
import { defaultLogger, errorCode, type Logger } from './system.js';
import { parseServiceUrl, quoteIdent, redact, withDatabase } from './urls.js';

/** Create the database named in `url` when the server answers but the database does not exist. */
export async function ensureDatabase(url: string, logger: Logger = defaultLogger): Promise<void> {
  const probe = await probePostgres(url);
  if (probe.ok) return;
  const { database, port } = parseServiceUrl(url, 5432);
  if (probe.answered && probe.code && PG_AUTH_FAILURES.has(probe.code)) {
    const hba = (await debianClusterHba(port)) ?? 'pg_hba.conf';
    throw new Error(
      `Postgres at ${redact(url)} answers but refuses the login: ${probe.error}\n` +
        `Do one of:\n  - put the right user/password in DATABASE_URL\n` +
        `  - for local development allow trust auth: add "host all all 127.0.0.1/32 trust" at the top of ${hba} and reload Postgres`,
    );
  }
  if (probe.code !== PG_MISSING_DATABASE) {
    throw new Error(`Postgres at ${redact(url)} does not answer: ${probe.error}`);
  }
  const adminDb = database === 'postgres' ? 'template1' : 'postgres';
  logger(`creating database "${database}"`);
  const client = new pg.Client({ connectionString: withDatabase(url, adminDb), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (err) {
    if (errorCode(err) !== '42P04') throw err; // created concurrently by someone else
  } finally {
    await client.end();
  }
}

/**
 * Create a uniquely named, empty database next to `baseUrl`: `namePrefix`
 * and random hex (e.g. seatmap_t_3f9c0a1b2c4d). `drop()` removes it again,
 * closing any connections still open to it.
 */
export async function createTestDatabase(baseUrl: string, namePrefix = 'seatmap_t_'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${namePrefix}${randomBytes(6).toString('hex')}`;
  const url = await createNamedDatabase(baseUrl, name);
  let dropped = false;
  return {
    url,
    name,
    async drop() {
      if (dropped) return;
      await dropDatabase(baseUrl, name);
      dropped = true;
    },
  };
}

async function withAdminClient<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the database `name` unless it exists; resolves to its URL. */
export async function createNamedDatabase(baseUrl: string, name: string): Promise<string> {
  await withAdminClient(baseUrl, async (c) => {
    try {
      await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (err) {
      // 42P04: it exists; 23505: a concurrent CREATE of the same name won
      if (errorCode(err) !== '42P04' && errorCode(err) !== '23505') throw err;
    }
  });
  return withDatabase(baseUrl, name);
}

/**
 * Drops a database. Connections still closing (a pool just ended) are given
 * `graceMs` to go on their own; only what is left then is terminated. Ended
 * at once, a client still closing gets "terminating connection due to
 * administrator command" (57P01) as an error event, which in a test process
 * is an uncaught error.
 */
export async function dropDatabase(baseUrl: string, name: string, graceMs = 3000): Promise<void> {
  await withAdminClient(baseUrl, async (c) => {
    for (const until = Date.now() + graceMs; Date.now() < until; ) {
      try {
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
        return;
      } catch (err) {
        if (errorCode(err) !== '55006') throw err; // 55006: other sessions are still connected to it
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } catch (err) {
      if (errorCode(err) !== '42601') throw err; // servers before 13 have no WITH (FORCE)
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    }
  });
}

/** Names of the databases that start with `prefix`, sorted. */
export async function listDatabasesStartingWith(baseUrl: string, prefix: string): Promise<string[]> {
  return withAdminClient(baseUrl, async (c) => {
    const res = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname', [prefix]);
    return res.rows.map((r) => r.datname);
  });
}

/** Drops every database whose name starts with `prefix`; resolves to their names. */
export async function dropDatabasesStartingWith(baseUrl: string, prefix: string): Promise<string[]> {
  const names = await listDatabasesStartingWith(baseUrl, prefix);
  for (const name of names) await dropDatabase(baseUrl, name);
  return names;
}
