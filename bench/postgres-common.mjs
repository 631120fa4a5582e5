// What the PostgreSQL bench (bench/postgres.mjs), its fleet child
// (bench/postgres-fleet-child.mjs) and its profile (bench/postgres-profile.mjs)
// share: the throw-away server with pg_stat_statements, the two contestants
// (ours: usePostgresAuthState; the reference: postgres-baileys@1.5.0 over a
// pg.Pool whose clients count their queries), and server-side snapshots.
import { createRequire } from 'node:module'
import fs from 'node:fs'

const require = createRequire(import.meta.url)
export const pg = require('pg')

/** The table postgres-baileys uses, made before it is used (its own CREATE TABLE is not awaited and races). */
export const REF_TABLE = 'CREATE TABLE IF NOT EXISTS auth_data (session_key VARCHAR(255) PRIMARY KEY, data TEXT NOT NULL)'

/**
 * A throw-away PostgreSQL 15 (__test__/support/pg-server.js, fsync on) with
 * pg_stat_statements loaded (ALTER SYSTEM + restart), the reference's table
 * and the extension created. Returns the server handle.
 */
export async function startBenchServer({ statStatements = true, logAll = false } = {}) {
  const { startPostgres } = require('../__test__/support/pg-server.js')
  const server = await startPostgres()
  try {
    if (statStatements || logAll) {
      if (statStatements) {
        await server.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
      }
      if (logAll) await server.psql('ALTER SYSTEM SET log_min_duration_statement = 0')
      await server.restart()
      if (statStatements) await server.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    }
    await server.psql(REF_TABLE)
  } catch (e) {
    await server.stop()
    throw e
  }
  return server
}

/** An admin connection (node-postgres), with an 'error' listener. */
export async function adminClient(url) {
  const c = new pg.Client({ connectionString: url })
  c.on('error', () => {})
  await c.connect()
  return c
}

/**
 * The totals of pg_stat_statements over every statement but the admin's own
 * (whatever mentions pg_stat_* or pg_catalog): `{ calls, execMs, rows, walBytes }`,
 * and the same per query text in `byQuery`.
 */
export async function statSnapshot(admin) {
  const r = await admin.query(
    `SELECT query, calls::float8 AS calls, total_exec_time AS ms, rows::float8 AS rows, wal_bytes::float8 AS wal
       FROM pg_stat_statements
      WHERE query !~* 'pg_stat|pg_catalog|pg_database|pg_settings|pg_backend_pid|CHECKPOINT|TRUNCATE|^SELECT 1$|bench_commit'`,
  )
  const byQuery = new Map()
  let calls = 0
  let execMs = 0
  let rows = 0
  let walBytes = 0
  for (const x of r.rows) {
    calls += x.calls
    execMs += x.ms
    rows += x.rows
    walBytes += x.wal
    const prev = byQuery.get(x.query)
    byQuery.set(x.query, prev ? { calls: prev.calls + x.calls, ms: prev.ms + x.ms } : { calls: x.calls, ms: x.ms })
  }
  return { calls, execMs, rows, walBytes, byQuery }
}

/** b − a of two snapshots. */
export function statDelta(a, b) {
  const byQuery = []
  for (const [q, v] of b.byQuery) {
    const p = a.byQuery.get(q) ?? { calls: 0, ms: 0 }
    if (v.calls > p.calls) byQuery.push({ query: q, calls: v.calls - p.calls, ms: v.ms - p.ms })
  }
  byQuery.sort((x, y) => y.ms - x.ms)
  return { calls: b.calls - a.calls, execMs: b.execMs - a.execMs, rows: b.rows - a.rows, walBytes: b.walBytes - a.walBytes, byQuery }
}

/** Our tables (default prefix), emptied between turns. */
export const OUR_TABLES = ['baileys_keys', 'baileys_creds', 'baileys_leases', 'baileys_quarantine']

/**
 * Empties both stores' tables and checkpoints, so that each turn starts from
 * the same empty tables and nobody pays for another's dirty buffers (not
 * timed). Our tables exist once ours has been opened.
 */
export async function resetTables(admin) {
  const ours = await admin.query(`SELECT to_regclass('baileys_keys') IS NOT NULL AS ok`)
  const tables = ours.rows[0].ok ? [...OUR_TABLES, 'auth_data'] : ['auth_data']
  await admin.query(`TRUNCATE ${tables.join(', ')}`)
  await admin.query('CHECKPOINT')
}

/** node-postgres' Client, counting the queries it sends (each one a round trip: Parse/Bind/Execute/Sync in one write). */
export class CountingClient extends pg.Client {
  static queries = 0
  query(...args) {
    CountingClient.queries++
    return super.query(...args)
  }
}

/**
 * The reference's pool: our counting clients, `max` connections, never
 * closed for idleness (ours keeps its connections too; a reconnect with
 * SCRAM in a timed section would be the harness's cost, not the store's).
 */
export function referencePool(url, max) {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 0, Client: CountingClient })
  pool.on('error', (e) => console.error('[bench:postgres] reference pool error:', e.message))
  return pool
}

/**
 * The contestants: `open(name)` → `{ state, saveCreds, close, trips() }`,
 * `trips()`: the round trips so far (ours: counters().roundTrips minus the
 * heartbeat's renewals; the reference: the queries its clients sent).
 */
export function contestants({ url, poolSize, refPool, leaseTtlMs }) {
  const ours = require('../index.js')
  const { usePostgreSQLAuthState } = require('postgres-baileys')
  let pool
  return {
    ours: {
      label: 'ours',
      async open(name) {
        const a = await ours.usePostgresAuthState(url, name, { poolSize, leaseTtlMs })
        const trips = () => {
          const c = a.counters()
          return c.roundTrips - c.renewals
        }
        return { state: a.state, saveCreds: a.saveCreds, close: a.close, trips, counters: a.counters }
      },
    },
    ref: {
      label: 'postgres-baileys',
      async open(name) {
        pool ||= referencePool(url, refPool)
        const r = await usePostgreSQLAuthState(pool, name)
        return { state: r.state, saveCreds: r.saveCreds, close: async () => {}, trips: () => CountingClient.queries }
      },
      end: () => pool?.end(),
    },
  }
}

/** A field of /proc/self/status, in KiB. */
export function status(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
  return Number(line.split(/\s+/)[1])
}
