'use strict'
// What the SQLite suites (`__test__/sqlite-*.test.*`) share: reading and
// writing the database file directly with better-sqlite3 (the driver Baileys'
// own SQLite store uses), the contract's schema, temporary folders, and a
// tracker that closes every store a suite opened.
//
// This module loads neither Baileys nor this package: the suites hand them in.

const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')

/** better-sqlite3 itself, or an error that says how to get its native build. */
function loadBetterSqlite() {
  try {
    return require('better-sqlite3')
  } catch (e) {
    throw new Error(
      `better-sqlite3 cannot be loaded (${e.message}): run \`npm install\`; if its native build is missing, ` +
        '`npm rebuild better-sqlite3` (see __test__/sqlite-reference.test.mjs)',
    )
  }
}

/**
 * A better-sqlite3 `Database` class whose connections live in a child process
 * (support/sqlite-server.js), called synchronously: `new`, `prepare(sql)`
 * with `run`/`get`/`all`, `exec`, `pragma`, `transaction(fn)`, `close`.
 *
 * Never better-sqlite3 itself in the test process: two copies of SQLite in
 * one process (better-sqlite3's and our addon's) do not see each other's
 * POSIX locks, so a connection of the other copy re-initialises the `-shm`
 * file that our open store has mapped, and the process dies of SIGBUS (the
 * README warns users of the same).
 */
function betterSqlite() {
  const Database = loadBetterSqlite() // a clear error when the native build is missing
  // Windows: SQLite locks there with LockFileEx, per handle, so two copies in
  // one process do see each other's locks; and there are no FIFOs for the
  // child's protocol. better-sqlite3 itself, in this process.
  if (process.platform === 'win32') return Database
  return RemoteDatabase
}

let server = null

function call(message) {
  if (server === null) server = startServer()
  fs.writeSync(server.req, `${v8.serialize(message).toString('base64')}\n`)
  let line = server.pending
  for (;;) {
    const nl = line.indexOf('\n')
    if (nl >= 0) {
      server.pending = line.slice(nl + 1)
      line = line.slice(0, nl)
      break
    }
    const n = fs.readSync(server.res, server.buf, 0, server.buf.length, null)
    if (n === 0) throw new Error('the better-sqlite3 child process ended')
    line += server.buf.toString('latin1', 0, n)
  }
  const answer = v8.deserialize(Buffer.from(line, 'base64'))
  if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error)
  return answer.ok
}

function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-sqlite-server-'))
  const reqPath = path.join(dir, 'req')
  const resPath = path.join(dir, 'res')
  execFileSync('mkfifo', [reqPath, resPath])
  const child = spawn(process.execPath, [path.join(__dirname, 'sqlite-server.js'), reqPath, resPath], { stdio: ['ignore', 'ignore', 'inherit'] })
  child.unref()
  // Opening a FIFO blocks until the other end opens it: in the child's order.
  const req = fs.openSync(reqPath, 'w')
  const res = fs.openSync(resPath, 'r')
  fs.rmSync(dir, { recursive: true, force: true })
  process.once('exit', () => {
    try {
      fs.closeSync(req)
    } catch {}
    child.kill()
  })
  return { req, res, buf: Buffer.alloc(1 << 16), pending: '' }
}

class RemoteStatement {
  constructor(id) {
    this.id = id
    this.plucked = false
  }
  pluck(on = true) {
    this.plucked = on
    return this
  }
  run(...params) {
    return call({ op: 'run', stmt: this.id, params, pluck: this.plucked })
  }
  get(...params) {
    return call({ op: 'get', stmt: this.id, params, pluck: this.plucked })
  }
  all(...params) {
    return call({ op: 'all', stmt: this.id, params, pluck: this.plucked })
  }
}

class RemoteDatabase {
  constructor(file, options = {}) {
    this.id = call({ op: 'open', path: file, options })
  }
  prepare(sql) {
    return new RemoteStatement(call({ op: 'prepare', db: this.id, sql }))
  }
  exec(sql) {
    call({ op: 'exec', db: this.id, sql })
    return this
  }
  pragma(source, options) {
    return call({ op: 'pragma', db: this.id, source, options })
  }
  transaction(fn) {
    const wrap = (begin) => (...args) => {
      this.exec(begin)
      try {
        const r = fn(...args)
        this.exec('COMMIT')
        return r
      } catch (e) {
        this.exec('ROLLBACK')
        throw e
      }
    }
    return Object.assign(wrap('BEGIN'), { deferred: wrap('BEGIN DEFERRED'), immediate: wrap('BEGIN IMMEDIATE'), exclusive: wrap('BEGIN EXCLUSIVE') })
  }
  close() {
    call({ op: 'close', db: this.id })
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
