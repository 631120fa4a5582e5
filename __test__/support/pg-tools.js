'use strict'
// What the PostgreSQL suites (`__test__/pg-*.test.*`) share: one throw-away
// server per test file (support/pg-server.js), read and tampered with
// directly through node-postgres (`pg`, never through the store under test),
// the tables' names for a prefix, accounts named apart so that the tests of a
// file share the server, and a child process that opens an account (another
// owner, as another host of a bot fleet would be).
//
// This module loads neither Baileys nor this package: the suites hand them in.

const { execFile } = require('node:child_process')
const crypto = require('node:crypto')
const path = require('node:path')
const { promisify } = require('node:util')

const { Client } = require('pg')

const { startPostgres } = require('./pg-server.js')

const execFileP = promisify(execFile)
const ROOT = path.resolve(__dirname, '..', '..')

/** The default prefix of the tables (index.js / the README). */
const DEFAULT_PREFIX = 'baileys_'

/** The five tables of a prefix, unquoted (prefixes are plain identifiers). */
const tablesOf = (prefix = DEFAULT_PREFIX) => ({
  meta: `${prefix}meta`,
  leases: `${prefix}leases`,
  creds: `${prefix}creds`,
  keys: `${prefix}keys`,
  quarantine: `${prefix}quarantine`,
})

/**
 * One server for the test file: started in `beforeAll`, stopped in
 * `afterAll`. Returns `ctx`, whose fields are set once it runs:
 * `ctx.pg` (the server), `ctx.url`, `ctx.query(sql, params, { database })`
 * (node-postgres, one client per database, parameters bound), and
 * `ctx.icuUrl` / database `ctx.icuDb` when `icu` is asked: a database whose
 * default collation is ICU's en-US (not bytewise), so that an ordering by id
 * that forgot `COLLATE "C"` shows.
 */
function pgSuite({ icu = false, ctx = pgContext() } = {}) {
  const clients = new Map()
  ctx.client = async (database) => {
    const db = database || ctx.pg.database
    if (!clients.has(db)) {
      const c = new Client({ host: ctx.pg.host, port: ctx.pg.port, user: ctx.pg.user, password: ctx.pg.password, database: db })
      // a server restart (a test may do one) ends the connection: the next query makes a new one
      c.on('error', () => clients.delete(db))
      c.on('end', () => clients.delete(db))
      clients.set(db, c.connect().then(() => c))
    }
    return clients.get(db)
  }
  ctx.query = async (sql, params = [], { database } = {}) => (await (await ctx.client(database)).query(sql, params)).rows
  ctx.urlOf = (database) => `postgres://${ctx.pg.user}:${encodeURIComponent(ctx.pg.password)}@${ctx.pg.host}:${ctx.pg.port}/${database}`
  beforeAll(async () => {
    ctx.pg = await startPostgres()
    ctx.url = ctx.pg.url
    if (icu) {
      await ctx.pg.psql(`CREATE DATABASE ${ctx.icuDb} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`)
      ctx.icuUrl = ctx.urlOf(ctx.icuDb)
    }
  }, 120000)
  afterAll(async () => {
    for (const c of clients.values()) await c.then((x) => x.end()).catch(() => {})
    clients.clear()
    if (ctx.pg) await ctx.pg.stop()
  }, 120000)
  return ctx
}

/**
 * The `ctx` of `pgSuite` before its server runs, for a suite that must hand it
 * to shared cases first and start the server after (`pgSuite({ ctx })` last,
 * so that its afterAll, stopping the server, runs after theirs).
 */
function pgContext() {
  return { pg: null, url: null, icuUrl: null, icuDb: 'icu_db' }
}

let seq = 0
/** An account name no other test of the run uses. */
const accountName = (tag) => `${tag}-${process.pid}-${++seq}-${crypto.randomBytes(3).toString('hex')}`

/**
 * Direct reads of one account's rows (`ctx` of `pgSuite`, `prefix`,
 * `database`): `keyRows(account)` (type, id, value Buffer; ordered by type
 * then id, bytewise), `credsBytes(account)` (Buffer or undefined),
 * `quarantineRows(account)`, `lease(account)`, `snapshot(account)` (every
 * row of the account in every table, as text, for before/after comparisons).
 */
function rowsOf(ctx, { prefix = DEFAULT_PREFIX, database } = {}) {
  const t = tablesOf(prefix)
  const q = (sql, params) => ctx.query(sql, params, { database })
  const byBytes = (a, b) => Buffer.compare(Buffer.from(a.type), Buffer.from(b.type)) || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id))
  return {
    tables: t,
    async keyRows(account) {
      const rows = await q(`SELECT type, id, value FROM ${t.keys} WHERE account = $1`, [account])
      // sorted here, bytewise, not by the server (whatever its collation)
      return rows.sort(byBytes)
    },
    async credsBytes(account) {
      const rows = await q(`SELECT value FROM ${t.creds} WHERE account = $1`, [account])
      return rows.length ? rows[0].value : undefined
    },
    async row(account, type, id) {
      const rows = await q(`SELECT value FROM ${t.keys} WHERE account = $1 AND type = $2 AND id = $3`, [account, type, String(id)])
      return rows.length ? rows[0].value : undefined
    },
    async quarantineRows(account) {
      const rows = await q(`SELECT type, id, value, reason, at FROM ${t.quarantine} WHERE account = $1`, [account])
      return rows.sort(byBytes)
    },
    async lease(account) {
      const rows = await q(
        `SELECT token::int8 AS token, owner_host, owner_pid, owner_id, acquired_at, expires_at::text AS expires_text,
                (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms, expires_at > now() AS live
           FROM ${t.leases} WHERE account = $1`,
        [account],
      )
      return rows[0]
    },
    async snapshot(account) {
      const keys = await q(`SELECT type, id, encode(value, 'hex') AS v FROM ${t.keys} WHERE account = $1 ORDER BY type COLLATE "C", id COLLATE "C"`, [account])
      const creds = await q(`SELECT encode(value, 'hex') AS v FROM ${t.creds} WHERE account = $1`, [account])
      const quarantine = await q(`SELECT type, id, encode(value, 'hex') AS v, reason FROM ${t.quarantine} WHERE account = $1 ORDER BY type COLLATE "C", id COLLATE "C", at`, [account])
      return { keys, creds, quarantine }
    },
    /** Writes rows directly, as another writer of the same format would. */
    async writeRows(account, { rows = [], creds } = {}) {
      for (const [type, id, bytes] of rows) {
        await q(`INSERT INTO ${t.keys} (account, type, id, value) VALUES ($1, $2, $3, $4) ON CONFLICT (account, type, id) DO UPDATE SET value = EXCLUDED.value`, [
          account,
          type,
          String(id),
          Buffer.from(bytes),
        ])
      }
      if (creds !== undefined) {
        await q(`INSERT INTO ${t.creds} (account, value) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET value = EXCLUDED.value`, [account, Buffer.from(creds)])
      }
    },
  }
}

/**
 * Runs `script` (the body of an async function; `ours` is this package,
 * `args` the JSON-able `args`) in a new Node process and resolves to what it
 * returns (JSON), or `{ error: { name, code, message, pid, host, until } }`
 * for what it threw.
 */
async function inChild(script, args = {}, { timeout = 60000, env } = {}) {
  const wrapped = `
    const ours = require(${JSON.stringify(ROOT)})
    const args = ${JSON.stringify(args)}
    ;(async () => { ${script} })().then(
      (r) => process.stdout.write(JSON.stringify({ ok: r === undefined ? null : r })),
      (e) => process.stdout.write(JSON.stringify({ error: { name: e && e.name, code: e && e.code, message: e && e.message, pid: e && e.pid, host: e && e.host, until: e && e.until instanceof Date ? e.until.getTime() : undefined } })),
    )`
  const { stdout } = await execFileP(process.execPath, ['-e', wrapped], { encoding: 'utf8', timeout, env: env || process.env, maxBuffer: 64 << 20 })
  const r = JSON.parse(stdout)
  return r.error ? { error: r.error } : r.ok
}

/** Opens `account` in a new process and closes it: `{ ok: true }`, or the error's name and code. */
async function openInChild(connection, account, options = {}) {
  const r = await inChild(
    `const s = await ours.usePostgresAuthState(args.connection, args.account, args.options)
     await s.close()
     return { ok: true }`,
    { connection, account, options },
  )
  return r.error ? { name: r.error.name, code: r.error.code } : r
}

/** Settles to the rejection of `p` (or of a throw while calling), null when it resolves. */
const rejection = (p) =>
  Promise.resolve()
    .then(() => (typeof p === 'function' ? p() : p))
    .then(
      () => null,
      (e) => e,
    )

async function collect(iterable) {
  const out = []
  for await (const x of iterable) out.push(x)
  return out
}

/** Bytewise order of JS strings as UTF-8 (PostgreSQL's `COLLATE "C"` on a UTF8 database). */
const bytewise = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

module.exports = {
  DEFAULT_PREFIX,
  tablesOf,
  pgSuite,
  pgContext,
  accountName,
  rowsOf,
  inChild,
  openInChild,
  rejection,
  collect,
  bytewise,
  sleep,
}
