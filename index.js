'use strict'
// A thin wrapper: it builds the object Baileys expects and forwards every call
// to the native binding. Codec, file naming, I/O, locking and credentials are
// all in Rust (see src/ and core/).

const binding = require('./load-binding.js')

/** `creds.json` exists but cannot be read: it was left exactly as it was. */
class AuthFileCorruptError extends Error {
  constructor(message) {
    super(message)
    this.name = 'AuthFileCorruptError'
  }
}

/** Another process owns this auth folder. */
class AuthFolderLockedError extends Error {
  constructor(message) {
    super(message)
    this.name = 'AuthFolderLockedError'
  }
}

// The built-ins the value walk must not take from this realm, where code that
// ran before this package could have replaced them: JSON.stringify's own
// IsArray and boxed-primitive checks, from a fresh realm (about 1 ms and
// 400 KiB, once).
const intrinsics = require('node:vm').runInNewContext(
  '({ isArray: Array.isArray, valueOfs: [Number.prototype.valueOf, String.prototype.valueOf, Boolean.prototype.valueOf, BigInt.prototype.valueOf] })',
)
binding.setErrorClasses(AuthFileCorruptError, AuthFolderLockedError, intrinsics)

const plain = require('./lib/plain.js')
const migrate = require('./lib/migrate.js')

/**
 * Drop-in replacement for Baileys' `useMultiFileAuthState(folder)`.
 * @param {string} folder
 * @param {import('./index').AuthStateOptions} [options]
 */
async function useMultiFileAuthState(folder, options) {
  const { store, creds } = await binding.openFolderStore(folder, options)
  // Baileys' helper returns no close: neither does the drop-in.
  return authState(store, creds, options, false)
}

/**
 * The same auth state in one SQLite file, in the format of Baileys' own
 * SQLite store (`useSqliteAuthState({ dbPath })` of its next line): each
 * `set` is one transaction, durable (`fsync: true`) by default.
 * @param {string | { dbPath: string }} config
 * @param {import('./index').SqliteAuthStateOptions} [options]
 */
async function useSqliteAuthState(config, options) {
  const isConfig = config !== null && typeof config === 'object'
  const dbPath = isConfig ? config.dbPath : config
  const opts = isConfig ? { ...config, ...options } : options
  const { store, creds } = await binding.openSqliteAuthState(dbPath, opts)
  const out = authState(store, creds, opts, true)
  out.counters = () => store.counters()
  return out
}

/**
 * An account in a shared PostgreSQL database: one owner at a time across
 * hosts (a lease, renewed while open; `close()` releases it at once).
 * @param {string | object | undefined} connection libpq URL / `key=value`
 *   string, node-postgres' `{ host, port, user, password, database, ssl }`,
 *   or nothing (the `PG*` variables)
 * @param {string} account
 * @param {import('./index').PostgresAuthStateOptions} [options]
 */
async function usePostgresAuthState(connection, account, options) {
  const { store, creds } = await binding.openPostgresAuthState(connection, account, options)
  // The lease is renewed by a native thread, but only while this event loop
  // turns: a bot frozen in a busy loop loses its account to another host
  // instead of holding it forever. The timer does not keep Node alive.
  const ttl = options?.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS
  store.keepAlive()
  const alive = setInterval(() => store.keepAlive(), Math.max(10, ttl / 6))
  alive.unref()
  const watched = watchLease(store, account, options?.logger)
  const out = authState(watched, creds, options, true)
  out.close = () => {
    clearInterval(alive)
    return watched.close()
  }
  out.counters = () => store.counters()
  return out
}

const DEFAULT_LEASE_TTL_MS = 15000

/**
 * The store with every call's rejection looked at: the first one saying the
 * lease was lost (another process took the account over) goes to
 * `logger.error` too, once. The rejections themselves are unchanged.
 */
function watchLease(store, account, logger) {
  let told = false
  const tell = (err) => {
    if (!told && err?.code === 'EBAILEYSFENCED') {
      told = true
      try {
        logger?.error?.({ account, code: err.code }, err.message)
      } catch {}
    }
    throw err
  }
  const watched = Object.create(store)
  // close too, though it is never fenced: every promise then settles as many
  // steps after the store's own, so a close() resolves after the calls
  // issued before it, as their promises settled in the store.
  for (const name of ['get', 'readIds', 'set', 'saveCreds', 'listIds', 'clear', 'close']) {
    watched[name] = (...args) => store[name](...args).catch(tell)
  }
  return watched
}

/**
 * `{ state: { creds, keys }, saveCreds }` (and `close`) over a native store:
 * the same for every backend.
 */
function authState(store, creds, options, withClose) {
  const appStateClass = options?.proto?.Message?.AppStateSyncKeyData
  const logger = options?.logger
  const out = {
    state: {
      creds,
      keys: {
        get: (type, ids) => store.get(type, ids, appStateClass, logger),
        set: (data) => store.set(data),
        clear: () => store.clear(),
        listIds: (type) => pagedIds(store, type),
        list: (type) => pagedEntries(store, type, appStateClass, logger),
      },
    },
    saveCreds: () => store.saveCreds(creds),
  }
  if (withClose) out.close = () => store.close()
  return out
}

async function* pagedIds(store, type) {
  for (let after = null; ; ) {
    const ids = await store.listIds(type, after, LIST_PAGE)
    yield* ids
    if (ids.length < LIST_PAGE) return
    after = ids[ids.length - 1]
  }
}

async function* pagedEntries(store, type, appStateClass, logger) {
  for (let after = null; ; ) {
    const ids = await store.listIds(type, after, LIST_PAGE)
    // An array in the order of `ids` (an object keyed by id could not hold `__proto__`).
    const values = await store.readIds(type, ids, appStateClass, logger)
    for (let i = 0; i < ids.length; i++) {
      // A key deleted since the listing is skipped.
      if (values[i] !== null) yield [ids[i], values[i]]
    }
    if (ids.length < LIST_PAGE) return
    after = ids[ids.length - 1]
  }
}

/** Keys read per step of `list()`: memory stays bounded on any store. */
const LIST_PAGE = 256

module.exports = {
  useMultiFileAuthState,
  useSqliteAuthState,
  usePostgresAuthState,
  initAuthCreds: binding.initAuthCreds,
  encodeAuthValue: binding.encodeAuthValue,
  decodeAuthValue: binding.decodeAuthValue,
  AuthFileCorruptError,
  AuthFolderLockedError,
  inspectFolder: binding.inspectFolder,
  defaultAuthFolder: plain.defaultAuthFolder,
  loadCredentials: plain.loadCredentials,
  saveCredentials: plain.saveCredentials,
  loadKeys: plain.loadKeys,
  saveKeys: plain.saveKeys,
  deleteKeys: plain.deleteKeys,
  KEY_TYPES: migrate.KEY_TYPES,
  withListing: migrate.withListing,
  migrateAuthState: migrate.migrateAuthState,
  migrateAuthFolders: migrate.migrateAuthFolders,
  migrateAuthStores: migrate.migrateAuthStores,
  reencryptAuthStore: migrate.reencryptAuthStore,
  inspectSqlite: binding.inspectSqlite,
  inspectPostgres: binding.inspectPostgres,
}
