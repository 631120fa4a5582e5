'use strict'
// Copying a whole auth state from one store to another: ours, Baileys' own
// helper (wrapped with `withListing`), or any store of the user's with the
// shape `{ creds, keys: { get, set, list } }`. This file only orchestrates
// calls on the objects it is given; every file it touches is read, named,
// encoded and written by the native binding or by the stores themselves.

const path = require('node:path')

const binding = require('../load-binding.js')

/** Every key type Baileys v6 and v7 store (core/src/listing.rs `KNOWN_KEY_TYPES`). */
const KEY_TYPES = Object.freeze([
  'pre-key',
  'session',
  'sender-key',
  'sender-key-memory',
  'app-state-sync-key',
  'app-state-sync-version',
  'lid-mapping',
  'device-list',
  'tctoken',
  'identity-key',
])

/** Ids read per step when listing through a store's own `get`. */
const LIST_PAGE = 256
/** Differences kept in a summary; `differenceCount` has them all. */
const MAX_DIFFERENCES = 1000

/**
 * Accepts what `useMultiFileAuthState` returns (`{ state, saveCreds }`) or a
 * bare `AuthenticationState` (`{ creds, keys }`, optionally with its own
 * `saveCreds`). Returns `{ state, saveCreds }`.
 */
function endpoint(x, role) {
  const shape = `${role} must be what useMultiFileAuthState returns ({ state, saveCreds }) or an auth state ({ creds, keys })`
  if (x === null || typeof x !== 'object') throw new TypeError(shape)
  const state = x.state !== null && typeof x.state === 'object' ? x.state : x
  if (state.keys === null || typeof state.keys !== 'object') throw new TypeError(`${shape}: no keys`)
  const saveCreds = typeof x.saveCreds === 'function' ? x.saveCreds : typeof state.saveCreds === 'function' ? state.saveCreds : null
  return { state, saveCreds }
}

/**
 * Adds `list(type)` and `listIds(type)` to an auth state that has only `get`
 * and `set`, such as the one Baileys' own `useMultiFileAuthState(folder)`
 * returns: the ids come from listing `folder` natively (type-prefix safe),
 * and the values are read through the state's own `get`, so Baileys itself
 * reads them. Returns an object of the same shape as `auth` (the same `creds`
 * object and `saveCreds`), leaving `auth` unchanged.
 */
function withListing(folder, auth) {
  if (typeof folder !== 'string') throw new TypeError('withListing(folder, auth): folder must be a string')
  const { state } = endpoint(auth, 'auth')
  const keys = state.keys
  if (typeof keys.get !== 'function') throw new TypeError('withListing: auth.keys has no get')
  const listIds = async function* listIds(type) {
    const { ids } = await binding.plainListKeyFiles(folder, type)
    yield* ids
  }
  const list = async function* list(type) {
    const { ids } = await binding.plainListKeyFiles(folder, type)
    for (let i = 0; i < ids.length; i += LIST_PAGE) {
      const page = ids.slice(i, i + LIST_PAGE)
      const got = await keys.get(type, page)
      for (const id of page) {
        const value = got[id]
        // A key deleted since the listing (or unreadable) is skipped.
        if (value !== null && value !== undefined) yield [id, value]
      }
    }
  }
  const wrapped = { get: (type, ids) => keys.get(type, ids), set: (data) => keys.set(data), list, listIds }
  if (typeof keys.clear === 'function') wrapped.clear = () => keys.clear()
  if (typeof keys.transaction === 'function') wrapped.transaction = (...a) => keys.transaction(...a)
  const newState = { ...state, creds: state.creds, keys: wrapped }
  return state === auth ? newState : { ...auth, state: newState }
}

// ---------------------------------------------------------------- comparing

function isBytes(v) {
  return ArrayBuffer.isView(v) && !(v instanceof DataView)
}

function bytesOf(v) {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
}

/** Own enumerable keys that a stored file would keep (no `undefined`, no functions). */
function storedKeys(o) {
  return Object.keys(o).filter((k) => o[k] !== undefined && typeof o[k] !== 'function')
}

function join(path, key) {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key
}

/**
 * Where `a` and `b` first differ (`''` at the top), or `null` when they are
 * equal as stored values: Buffers and other byte views compared as bytes,
 * objects by their own enumerable keys (in any order, prototypes ignored, so
 * a protobuf message equals the plain object of its fields and a Long equals
 * `{ low, high, unsigned }`), `NaN` equal to itself.
 */
function firstDifference(a, b, path = '') {
  if (a === b) return null
  if (isBytes(a) || isBytes(b)) {
    return isBytes(a) && isBytes(b) && bytesOf(a).equals(bytesOf(b)) ? null : path
  }
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b) ? null : path
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return path
  if (Array.isArray(a) !== Array.isArray(b)) return path
  if (Array.isArray(a)) {
    if (a.length !== b.length) return join(path, 'length')
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], join(path, i))
      if (d !== null) return d
    }
    return null
  }
  const ka = storedKeys(a)
  const kb = storedKeys(b)
  for (const k of ka) {
    const d = firstDifference(a[k], Object.prototype.hasOwnProperty.call(b, k) ? b[k] : undefined, join(path, k))
    if (d !== null) return d
  }
  if (kb.length !== ka.length) {
    const extra = kb.find((k) => !Object.prototype.hasOwnProperty.call(a, k) || a[k] === undefined)
    return join(path, extra ?? '')
  }
  return null
}

// ---------------------------------------------------------------- migrating

/**
 * Copies credentials and every key of every type from one auth state to
 * another, in batches of `batchSize` keys (one `keys.set` per batch): keys
 * first, credentials last, so an interrupted migration leaves a destination
 * without credentials rather than credentials without their keys.
 *
 * - `from`: `{ state, saveCreds }` or `{ creds, keys }`; `keys.list(type)`
 *   must be an async iterable of `[id, value]` (ours has it; wrap Baileys'
 *   helper with `withListing`).
 * - `to`: the same shapes; `keys.set` is used. The credentials are copied
 *   into the very `to.state.creds` object (its own keys replaced by the
 *   source's, in the source's order), then `saveCreds(creds)` is called when
 *   the destination has one — `useMultiFileAuthState`'s writes `creds.json`;
 *   a store without one keeps them in `creds` only.
 * - `verify`: afterwards, reads every key back through `to.keys.get` and
 *   compares ids and values with the source (see `firstDifference`), and
 *   lists ids only the destination has when it can list (`listIds`/`list`).
 */
async function migrateAuthState(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('migrateAuthState({ from, to, verify?, batchSize?, onProgress? })')
  const from = endpoint(options.from, 'from')
  const to = endpoint(options.to, 'to')
  const verify = Boolean(options.verify)
  const batchSize = options.batchSize === undefined ? 256 : Number(options.batchSize)
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer')
  const types = options.types === undefined ? KEY_TYPES : Array.from(options.types, String)
  const onProgress = typeof options.onProgress === 'function' ? options.onProgress : null
  if (typeof from.state.keys.list !== 'function') {
    throw new TypeError("from.keys has no list(type): wrap Baileys' helper state with withListing(folder, state)")
  }
  if (typeof to.state.keys.set !== 'function') throw new TypeError('to.keys has no set(data)')
  if (from.state.creds === null || typeof from.state.creds !== 'object') throw new TypeError('from has no creds')
  if (verify && typeof to.state.keys.get !== 'function') throw new TypeError('verify needs to.keys.get')

  const keys = {}
  let total = 0
  for (const type of types) {
    let count = 0
    let batch = Object.create(null)
    let inBatch = 0
    const flush = async () => {
      if (inBatch === 0) return
      await to.state.keys.set({ [type]: batch })
      count += inBatch
      total += inBatch
      batch = Object.create(null)
      inBatch = 0
      if (onProgress) onProgress({ phase: 'copy', type, count, total })
    }
    for await (const [id, value] of from.state.keys.list(type)) {
      batch[id] = value
      inBatch++
      if (inBatch >= batchSize) await flush()
    }
    await flush()
    keys[type] = count
  }

  let creds = to.state.creds
  if (creds === null || typeof creds !== 'object') creds = to.state.creds = {}
  if (creds !== from.state.creds) {
    for (const k of Object.keys(creds)) delete creds[k]
    Object.assign(creds, from.state.creds)
  }
  if (to.saveCreds) await to.saveCreds(creds)
  if (onProgress) onProgress({ phase: 'creds', total })

  const summary = { creds: true, keys, total, verified: verify, differences: [], differenceCount: 0 }
  if (!verify) return summary
  const report = (d) => {
    summary.differenceCount++
    if (summary.differences.length < MAX_DIFFERENCES) summary.differences.push(d)
  }
  const credsAt = firstDifference(from.state.creds, to.state.creds)
  if (credsAt !== null) report({ type: 'creds', id: null, problem: 'value', path: credsAt })
  let checked = 0
  for (const type of types) {
    const seen = new Set()
    let batch = []
    const check = async () => {
      if (batch.length === 0) return
      const got = (await to.state.keys.get(type, batch.map((e) => e[0]))) || {}
      for (const [id, value] of batch) {
        const back = got[id]
        if (back === null || back === undefined) report({ type, id, problem: 'missing' })
        else {
          const at = firstDifference(value, back)
          if (at !== null) report({ type, id, problem: 'value', path: at })
        }
      }
      checked += batch.length
      batch = []
      if (onProgress) onProgress({ phase: 'verify', type, checked, total })
    }
    for await (const [id, value] of from.state.keys.list(type)) {
      seen.add(id)
      batch.push([id, value])
      if (batch.length >= batchSize) await check()
    }
    await check()
    const destIds = typeof to.state.keys.listIds === 'function' ? to.state.keys.listIds(type) : typeof to.state.keys.list === 'function' ? idsOf(to.state.keys.list(type)) : null
    if (destIds) {
      for await (const id of destIds) if (!seen.has(id)) report({ type, id, problem: 'extra' })
    }
  }
  return summary
}

async function* idsOf(entries) {
  for await (const [id] of entries) yield id
}

/** Hands app-state keys through as read from disk (no `fromObject`): copies are then byte for byte. */
const RAW_APP_STATE = Object.freeze({ Message: Object.freeze({ AppStateSyncKeyData: Object.freeze({ fromObject: (v) => v }) }) })

/**
 * Copies an auth state between two stores of this package named by strings
 * (`lib/stores.js`): folders in Baileys' format and SQLite files in the format
 * of Baileys' SQLite store, in any direction. The source is opened without
 * its lock (it may be in use; the copy is then a snapshot), the destination
 * with it. Values go across as bytes, in Rust (`core/src/migrate.rs`): no
 * value is decoded on the way, so what the destination stores is byte for
 * byte what the source held (folder → file → folder gives identical files).
 * With `verify` (the default) every key and the credentials are read back
 * and compared as bytes, and ids only the destination has are reported.
 *
 * Refuses a source without credentials. `clear: true` deletes the
 * destination's keys first. Progress events carry `expected`, the number of
 * keys of the known types in the source. `fsync` left out keeps each store's
 * default (a folder: off; a SQLite file: on).
 */
async function migrateAuthStores(fromSpec, toSpec, options = {}) {
  const { parseStoreSpec, describeStore, openNativeStore } = require('./stores.js')
  const fromStore = parseStoreSpec(fromSpec)
  const toStore = parseStoreSpec(toSpec)
  const source = await describeStore(fromStore, { flavor: options.flavor })
  if (!source || !source.hasCreds) {
    throw Object.assign(new Error(`${fromSpec} has no credentials: nothing to migrate`), { code: 'ENOCREDS' })
  }
  const batchSize = options.batchSize === undefined ? 256 : Number(options.batchSize)
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer')
  const verify = options.verify === undefined ? true : Boolean(options.verify)
  const onProgress = typeof options.onProgress === 'function' ? options.onProgress : null
  const expected = KEY_TYPES.reduce((n, t) => n + (source.byType[t] ?? 0), 0)
  const from = await openNativeStore(fromStore, { flavor: options.flavor, lock: false })
  let to = null
  try {
    to = await openNativeStore(toStore, options.fsync === undefined ? { flavor: options.flavor } : { flavor: options.flavor, fsync: options.fsync })
    if (options.clear) await to.store.clear()
    const summary = { creds: true, keys: {}, total: 0, verified: verify, differences: [], differenceCount: 0 }
    const report = (d) => {
      summary.differenceCount++
      if (summary.differences.length < MAX_DIFFERENCES) summary.differences.push(d)
    }
    // Keys first, one page per destination transaction (or batch of files);
    // the credentials last. Then, with `verify`, every key compared as bytes.
    for (const type of KEY_TYPES) {
      let count = 0
      for (let after = null; ; ) {
        const page = await from.store.copyPageTo(to.store, type, after, batchSize)
        count += page.copied
        summary.total += page.copied
        if (onProgress && page.copied > 0) onProgress({ phase: 'copy', type, count, total: summary.total, expected })
        if (page.next === null) break
        after = page.next
      }
      summary.keys[type] = count
    }
    if (verify) {
      let checked = 0
      for (const type of KEY_TYPES) {
        for (let after = null; ; ) {
          const page = await from.store.comparePageWith(to.store, type, after, batchSize)
          checked += page.checked
          for (const d of page.differences) report({ type, id: d.id, problem: d.problem })
          if (onProgress && page.checked > 0) onProgress({ phase: 'verify', type, checked, total: summary.total, expected })
          if (page.next === null) break
          after = page.next
        }
        for (const id of await extraIds(from.store, to.store, type)) report({ type, id, problem: 'extra' })
      }
    }
    if (!(await from.store.copyCredsTo(to.store, verify))) {
      report({ type: 'creds', id: null, problem: 'value', path: '' })
    }
    if (onProgress) onProgress({ phase: 'creds', total: summary.total, expected })
    return { from: source.label, to: toStore.label, ...summary }
  } finally {
    await from.store.close()
    if (to) await to.store.close()
  }
}

/**
 * Seals every value and the credentials of a store again under
 * `encryptionKey` (rotation): `previousEncryptionKeys` lists the keys its
 * values may still be sealed with (any mix: an interrupted rotation is run
 * again the same way). The store is opened as its owner (its lock or lease).
 * A store without encryption so far is sealed by giving no previous keys:
 * values that are not sealed are then refused, so seal such a store by
 * `migrateAuthStores` from its plain form instead.
 */
async function reencryptAuthStore(spec, { encryptionKey, previousEncryptionKeys = [], batchSize = 256 } = {}) {
  const { parseStoreSpec, openNativeStore } = require('./stores.js')
  const s = { ...parseStoreSpec(spec), encryptionKey, previousEncryptionKeys }
  const { store } = await openNativeStore(s, {})
  try {
    // Opened again, a store is shared with its other handles in this process,
    // which would go on sealing with the key they were opened with.
    if (store.openHandles() > 1) {
      throw Object.assign(new Error(`${s.label} is open in this process: close it before re-encrypting it`), { code: 'EBUSY' })
    }
    let total = 0
    for (const type of KEY_TYPES) {
      for (let after = null; ; ) {
        const page = await store.copyPageTo(store, type, after, batchSize)
        total += page.copied
        if (page.next === null) break
        after = page.next
      }
    }
    await store.copyCredsTo(store, true)
    return { store: s.label, total }
  } finally {
    await store.close()
  }
}

/** Ids of `type` the destination has and the source has not. */
async function extraIds(from, to, type) {
  const ids = async (store) => {
    const all = new Set()
    for (let after = null; ; ) {
      const page = await store.listIds(type, after, 4096)
      for (const id of page) all.add(id)
      if (page.length < 4096) return all
      after = page[page.length - 1]
    }
  }
  const mine = await ids(from)
  return [...(await ids(to))].filter((id) => !mine.has(id))
}

/** `migrateAuthStores` between two folders (kept for code written against 0.1). */
async function migrateAuthFolders(fromFolder, toFolder, options = {}) {
  if (typeof fromFolder !== 'string' || typeof toFolder !== 'string') throw new TypeError('migrateAuthFolders(from, to, options?): folders must be strings')
  return migrateAuthStores({ kind: 'folder', path: fromFolder }, { kind: 'folder', path: toFolder }, options)
}

module.exports = {
  reencryptAuthStore,
  KEY_TYPES,
  withListing,
  migrateAuthState,
  migrateAuthFolders,
  migrateAuthStores,
  firstDifference,
}
