// A JavaScript SQLite auth store written to the contract of Baileys' hardened
// line (../shared/docs/baileys-contract.md, "Baileys' hardened line": the
// schema, the pragmas and the semantics of its `useSqliteAuthState`), on
// better-sqlite3. It is what a user of that line runs, and the peer our native
// SQLite backend is benchmarked and interop-tested against, so it does only
// what the contract says, the plain way: one prepared statement run per key,
// JSON through Baileys' own BufferJSON, one transaction per `set`.
//
// It loads no Baileys itself: the caller passes the line it uses, so the
// values are revived by the same code as the caller's.
//
//   import * as baileys from 'baileys'
//   const { state, saveCreds, close } = await useReferenceSqliteAuthState({ dbPath: 'auth.db', baileys })
import Database from 'better-sqlite3'

/** The contract's schema, statement for statement: nothing else goes into the file. */
export const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id))',
  'CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type)',
]

/** The `creds` row that holds the credentials. */
export const CREDS_KEY = '__creds__'

const SYNCHRONOUS = new Set(['NORMAL', 'FULL'])
const LIST_PAGE = 500

/**
 * Opens (creating when missing) the SQLite auth store at `dbPath`.
 *
 * - `baileys`: `{ BufferJSON, proto, initAuthCreds }` of the Baileys line in
 *   use (its module namespace will do).
 * - `synchronous`: `'NORMAL'` (the contract's, the default: a commit survives a
 *   process crash) or `'FULL'` (it survives a power loss too).
 * - `Driver`: the better-sqlite3 `Database` class (the default), or one with its
 *   API: the tests pass one whose connections live in another process, since
 *   two copies of SQLite in one process must not open the same file.
 *
 * Resolves to `{ state: { creds, keys }, saveCreds, close, db }`; `db` is the
 * better-sqlite3 connection, for tests and the bench.
 */
export async function useReferenceSqliteAuthState({ dbPath, baileys, synchronous = 'NORMAL', Driver = Database } = {}) {
  if (typeof dbPath !== 'string' || dbPath === '') throw new TypeError('dbPath must be a non-empty string')
  const { BufferJSON, proto, initAuthCreds } = baileys || {}
  if (!BufferJSON || !proto || typeof initAuthCreds !== 'function') {
    throw new TypeError("baileys must give BufferJSON, proto and initAuthCreds (pass `import * as baileys from 'baileys'`)")
  }
  const level = String(synchronous).toUpperCase()
  if (!SYNCHRONOUS.has(level)) throw new TypeError(`synchronous must be 'NORMAL' or 'FULL', not ${synchronous}`)

  const encode = (value) => JSON.stringify(value, BufferJSON.replacer)
  const decode = (text) => JSON.parse(text, BufferJSON.reviver)

  // better-sqlite3's default busy timeout (5 s) is the contract's: none set here.
  const db = new Driver(dbPath)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${level}`)
    for (const sql of SCHEMA) db.exec(sql)
  } catch (e) {
    db.close()
    throw e
  }

  const sql = {
    readCreds: db.prepare('SELECT value FROM creds WHERE key = ?').pluck(),
    writeCreds: db.prepare(
      'INSERT INTO creds (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    readKey: db.prepare('SELECT value FROM signal_keys WHERE type = ? AND id = ?').pluck(),
    writeKey: db.prepare(
      'INSERT INTO signal_keys (type, id, value) VALUES (?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value',
    ),
    deleteKey: db.prepare('DELETE FROM signal_keys WHERE type = ? AND id = ?'),
    clear: db.prepare('DELETE FROM signal_keys'),
    // list pages in primary-key order, resuming after the last id seen
    firstPage: db.prepare('SELECT id, value FROM signal_keys WHERE type = ? ORDER BY id LIMIT ?'),
    nextPage: db.prepare('SELECT id, value FROM signal_keys WHERE type = ? AND id > ? ORDER BY id LIMIT ?'),
    firstIds: db.prepare('SELECT id FROM signal_keys WHERE type = ? ORDER BY id LIMIT ?').pluck(),
    nextIds: db.prepare('SELECT id FROM signal_keys WHERE type = ? AND id > ? ORDER BY id LIMIT ?').pluck(),
  }

  const revive = (type, text) => {
    const value = decode(text)
    return type === 'app-state-sync-key' && value ? proto.Message.AppStateSyncKeyData.fromObject(value) : value
  }

  // One transaction for the whole call, every type and id: `null` deletes, any
  // other value is upserted. `JSON.stringify` gives `undefined` for
  // `undefined` (and for a function): bound as NULL, it fails the NOT NULL
  // constraint. Whatever throws (that, a BigInt, a cycle) rolls everything back.
  const setAll = db.transaction((data) => {
    for (const type in data) {
      const ofType = data[type]
      for (const id in ofType) {
        const value = ofType[id]
        if (value === null) sql.deleteKey.run(type, id)
        else sql.writeKey.run(type, id, encode(value))
      }
    }
  })

  let closed = false
  const open = () => {
    if (closed) throw new Error(`the reference SQLite auth store at ${dbPath} is closed`)
  }

  const stored = sql.readCreds.get(CREDS_KEY)
  const creds = stored === undefined ? initAuthCreds() : decode(stored)

  const keys = {
    /** `{ [id]: value }` for the ids that exist (one SELECT each); missing ids are left out. */
    async get(type, ids) {
      open()
      const out = {}
      for (const id of ids) {
        const text = sql.readKey.get(type, String(id))
        if (text !== undefined) out[id] = revive(type, text)
      }
      return out
    },
    async set(data) {
      open()
      setAll.immediate(data) // BEGIN IMMEDIATE … COMMIT
    },
    /** Empties `signal_keys`; the credentials stay. */
    async clear() {
      open()
      sql.clear.run()
    },
    /** `[id, value]` of every key of `type`, in id order, a page at a time. */
    async *list(type) {
      open()
      let rows = sql.firstPage.all(type, LIST_PAGE)
      while (rows.length) {
        for (const row of rows) yield [row.id, revive(type, row.value)]
        if (rows.length < LIST_PAGE) return
        open()
        rows = sql.nextPage.all(type, rows[rows.length - 1].id, LIST_PAGE)
      }
    },
    /** The ids of `type`, in id order, a page at a time. */
    async *listIds(type) {
      open()
      let ids = sql.firstIds.all(type, LIST_PAGE)
      while (ids.length) {
        yield* ids
        if (ids.length < LIST_PAGE) return
        open()
        ids = sql.nextIds.all(type, ids[ids.length - 1], LIST_PAGE)
      }
    },
  }

  return {
    state: { creds, keys },
    /** Writes the current contents of the very `state.creds` object. */
    async saveCreds() {
      open()
      sql.writeCreds.run(CREDS_KEY, encode(creds))
    },
    /** Closes the connection (idempotent); later calls reject. */
    async close() {
      if (closed) return
      closed = true
      db.close()
    },
    db,
  }
}
