/**
 * A small migration runner for the bookings schema.
 *
 * Migrations are the `NNN_name.sql` files of core/bookings/migrations, applied
 * in name order. Each is applied in its own transaction, together with its row
 * in `schema_migrations`, under a transaction-level advisory lock: concurrent
 * processes queue on the lock and every migration is applied exactly once.
 * A migration file that changed after it was applied is refused (checksum).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE = /^(\d{3})_[a-z0-9_]+\.sql$/;

/** the advisory lock every migrating process takes (an arbitrary constant) */
export const MIGRATION_LOCK_KEY = 0x5ea7_b00c;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  /** another directory of migrations (tests) */
  dir?: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Set<string>();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE.exec(file);
    if (!m) throw new Error(`migration file ${file}: expected NNN_name.sql`);
    if (seen.has(m[1]!)) throw new Error(`migration number ${m[1]} is used twice`);
    seen.add(m[1]!);
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    migrations.push({ name: file.slice(0, -'.sql'.length), sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/**
 * Applies every pending migration and returns the names applied by this call
 * (empty when the schema was already up to date).
 */
export async function migrate(database: string | pg.Pool, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.dir);
  const pool = typeof database === 'string' ? new pg.Pool({ connectionString: database, max: 1 }) : database;
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    for (const migration of migrations) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        await client.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
             name text PRIMARY KEY,
             checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
           )`,
        );
        const done = await client.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE name = $1', [migration.name]);
        const row = done.rows[0];
        if (row) {
          if (row.checksum !== migration.checksum) {
            throw new Error(`migration ${migration.name} changed after it was applied (checksum differs)`);
          }
          await client.query('COMMIT');
          continue;
        }
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [migration.name, migration.checksum]);
        await client.query('COMMIT');
        applied.push(migration.name);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return applied;
  } finally {
    client.release();
    if (typeof database === 'string') await pool.end();
  }
}
