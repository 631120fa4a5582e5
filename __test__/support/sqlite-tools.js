'use strict'
// What the SQLite suites (`__test__/sqlite-*.test.*`) share: reading and
// writing the database file directly with better-sqlite3 (the driver Baileys'
// own SQLite store uses), the contract's schema, temporary folders, and a
// tracker that closes every store a suite opened.
//
// This module loads neither Baileys nor this package: the suites hand them in.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

/** better-sqlite3, or an error that says how to get its native build. */
function betterSqlite() {
  try {
    return require('better-sqlite3')
  } catch (e) {
    throw new Error(
      `better-sqlite3 cannot be loaded (${e.message}): run \`npm install\`; if its native build is missing, ` +
        '`npm rebuild better-sqlite3` (see __test__/sqlite-reference.test.mjs)',
    )
  }
}

/** The contract's schema (../shared/docs/baileys-contract.md), statement for statement. */
const CONTRACT_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id))',
  'CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type)',
]

/** The same statements as SQLite keeps them in `sqlite_master` (without IF NOT EXISTS). */
const CONTRACT_MASTER = [
  { type: 'table', name: 'creds', tbl_name: 'creds', sql: CONTRACT_SCHEMA[0].replace(' IF NOT EXISTS', '') },
  { type: 'table', name: 'signal_keys', tbl_name: 'signal_keys', sql: CONTRACT_SCHEMA[1].replace(' IF NOT EXISTS', '') },
  { type: 'index', name: 'signal_keys_type_idx', tbl_name: 'signal_keys', sql: CONTRACT_SCHEMA[2].replace(' IF NOT EXISTS', '') },
  // the primary keys' automatic indexes
  { type: 'index', name: 'sqlite_autoindex_creds_1', tbl_name: 'creds', sql: null },
  { type: 'index', name: 'sqlite_autoindex_signal_keys_1', tbl_name: 'signal_keys', sql: null },
]

/** Our own table for undecodable values (core/src/backends/sqlite/schema.rs). */
const QUARANTINE_TABLE = 'baileys_auth_native_quarantine'

const CREDS_KEY = '__creds__'

/** Runs `work(db)` on a connection of its own to `dbPath`, then closes it. */
function withDb(dbPath, work, { readonly = true } = {}) {
  const Database = betterSqlite()
  const db = new Database(dbPath, { readonly, fileMustExist: readonly })
  try {
    return work(db)
  } finally {
    db.close()
  }
}

/** Rows of `sql`, on a read-only connection of its own. */
function query(dbPath, sql, ...params) {
  return withDb(dbPath, (db) => db.prepare(sql).all(...params))
}

/** Every `signal_keys` row, `value` as its exact bytes, sorted by type then id (bytewise). */
function keyRows(dbPath) {
  return query(dbPath, 'SELECT type, id, CAST(value AS BLOB) AS value FROM signal_keys ORDER BY type, id')
}

/** The `__creds__` row's exact bytes, or undefined. */
function credsBytes(dbPath) {
  const rows = query(dbPath, 'SELECT CAST(value AS BLOB) AS value FROM creds WHERE key = ?', CREDS_KEY)
  return rows.length ? rows[0].value : undefined
}

/**
 * A database in the contract's format written directly, as Baileys' own
 * store would leave it: `rows` are `[type, id, text]`, `creds` the text of
 * the `__creds__` row (or undefined). Pragmas as the contract has them.
 */
function writeContractDb(dbPath, { rows = [], creds } = {}) {
  withDb(
    dbPath,
    (db) => {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      for (const sql of CONTRACT_SCHEMA) db.exec(sql)
      const put = db.prepare('INSERT OR REPLACE INTO signal_keys (type, id, value) VALUES (?, ?, ?)')
      db.transaction(() => {
        for (const [type, id, text] of rows) put.run(type, id, text)
        if (creds !== undefined) db.prepare('INSERT OR REPLACE INTO creds (key, value) VALUES (?, ?)').run(CREDS_KEY, creds)
      })()
    },
    { readonly: false },
  )
}

/** `PRAGMA integrity_check` of a file (`['ok']` when sound). */
function integrity(dbPath) {
  return query(dbPath, 'PRAGMA integrity_check').map((r) => r.integrity_check)
}

/** Baileys' file name of a key: `/` → `__`, then `:` → `-`. */
const fileOf = (type, id) => `${type}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')

/** The text a JS string becomes in an SQLite TEXT column (lone surrogates → U+FFFD). */
const asStored = (s) => Buffer.from(String(s), 'utf8').toString('utf8')

/** Temporary folders of a suite, removed after it. */
function tmpDirs(prefix) {
  const roots = []
  afterAll(() => {
    for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
  })
  return (tag) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${tag}-`))
    roots.push(d)
    return d
  }
}

/**
 * Wraps an opener of `{ ..., close }` stores so that every store opened is
 * closed after the suite (a store left open keeps its threads and its lock).
 * `track(openFn)` returns the tracked opener; `closeAll()` closes what is open.
 */
function storeTracker() {
  const open = new Set()
  const closeAll = async () => {
    const all = [...open]
    open.clear()
    await Promise.allSettled(all.map((s) => s.close()))
  }
  afterAll(closeAll)
  const track =
    (openFn) =>
    async (...args) => {
      const s = await openFn(...args)
      open.add(s)
      const close = s.close
      s.close = async () => {
        open.delete(s)
        return close()
      }
      return s
    }
  return { track, closeAll }
}

/** A pino-shaped logger that records warnings. */
function recordingLogger() {
  const warnings = []
  const logger = {
    level: 'warn',
    trace() {},
    debug() {},
    info() {},
    warn: (...a) => warnings.push(a),
    error: (...a) => warnings.push(a),
    fatal() {},
    child: () => logger,
  }
  return { logger, warnings }
}

module.exports = {
  betterSqlite,
  CONTRACT_SCHEMA,
  CONTRACT_MASTER,
  QUARANTINE_TABLE,
  CREDS_KEY,
  withDb,
  query,
  keyRows,
  credsBytes,
  writeContractDb,
  integrity,
  fileOf,
  asStored,
  tmpDirs,
  storeTracker,
  recordingLogger,
}
