'use strict'
// Auth stores named by one string, as the command line and
// `migrateAuthStores` take them: a folder (`auth_info_baileys`), or a SQLite
// file (`auth.db`, `auth.sqlite`, `auth.sqlite3`, or any path as
// `sqlite:PATH`). Describing and opening go through the native binding;
// nothing here reads or writes a file itself.

const fs = require('node:fs')
const path = require('node:path')

const binding = require('../binding.js')

const SQLITE_EXT = /\.(db|sqlite|sqlite3)$/i

/** `{ kind: 'folder' | 'sqlite', path, label }` for a store argument. */
function parseStoreSpec(spec) {
  if (spec !== null && typeof spec === 'object' && (spec.kind === 'folder' || spec.kind === 'sqlite') && typeof spec.path === 'string') {
    return { kind: spec.kind, path: spec.path, label: path.resolve(spec.path) }
  }
  if (typeof spec !== 'string' || spec === '') throw new TypeError('a store is a folder path or a SQLite file (auth.db, sqlite:PATH)')
  if (spec.startsWith('sqlite:')) {
    const p = spec.slice('sqlite:'.length)
    if (p === '') throw new TypeError('sqlite: needs a path (sqlite:auth.db)')
    return { kind: 'sqlite', path: p, label: path.resolve(p) }
  }
  return SQLITE_EXT.test(spec) ? { kind: 'sqlite', path: spec, label: path.resolve(spec) } : { kind: 'folder', path: spec, label: path.resolve(spec) }
}

/**
 * What a store holds, in one shape for both kinds: `{ kind, label, hasCreds,
 * registered, accountId, byType: { [type]: count } }`, plus the backend's own
 * report as `detail` (`inspectFolder`'s or `inspectSqlite`'s). `null` when
 * the store does not exist.
 */
async function describeStore(spec, options = {}) {
  const s = parseStoreSpec(spec)
  try {
    if (s.kind === 'sqlite') {
      if (!fs.existsSync(s.path)) return null
      const r = await binding.inspectSqlite(s.path, options)
      const byType = Object.fromEntries(Object.entries(r.byType).map(([t, c]) => [t, c.keys]))
      return { kind: s.kind, label: s.label, hasCreds: r.hasCreds, registered: r.registered, accountId: r.accountId, byType, detail: r }
    }
    const r = await binding.inspectFolder(s.path, options)
    const byType = Object.fromEntries(Object.entries(r.byType).map(([t, c]) => [t, c.files]))
    return { kind: s.kind, label: r.folder, hasCreds: r.hasCreds, registered: r.registered, accountId: r.accountId, byType, detail: r }
  } catch (err) {
    if (err && err.code === 'ENOENT') return null
    throw err
  }
}

/**
 * Opens a store as the native layer's byte-level handle (`{ store, creds,
 * created }`, `store` a `NativeKeyStore` with `copyPageTo`/`copyCredsTo`):
 * a folder through the core's folder backend, a file through the SQLite one.
 */
function openNativeStore(spec, options) {
  const s = parseStoreSpec(spec)
  return s.kind === 'sqlite' ? binding.openSqliteAuthState(s.path, options) : binding.openFolderStore(s.path, options)
}

module.exports = { parseStoreSpec, describeStore, openNativeStore }
