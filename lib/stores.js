'use strict'
// Auth stores named by one string, as the command line and
// `migrateAuthStores` take them: a folder (`auth_info_baileys`), a SQLite
// file (`auth.db`, `auth.sqlite`, `auth.sqlite3`, or any path as
// `sqlite:PATH`), or an account on a PostgreSQL server (`postgres://…` with
// the account given apart, or `{ kind: 'postgres', connection, account }`).
// Describing and opening go through the native binding; nothing here reads or
// writes a store itself.

const fs = require('node:fs')
const path = require('node:path')

const binding = require('../load-binding.js')

const SQLITE_EXT = /\.(db|sqlite|sqlite3)$/i

const POSTGRES_URL = /^postgres(ql)?:\/\//i

/**
 * `{ kind: 'folder' | 'sqlite', path, label }`, or `{ kind: 'postgres',
 * connection, account, schema, tablePrefix, label }`, for a store argument.
 * `account` names the account of a `postgres://` string (the command line's
 * `--account`); without one, a server names no single store (`stats` lists
 * its accounts).
 */
function parseStoreSpec(spec, account) {
  if (spec !== null && typeof spec === 'object' && spec.kind === 'postgres') {
    const acc = spec.account ?? account
    return { ...sealing(spec), kind: 'postgres', connection: spec.connection, account: acc, schema: spec.schema, tablePrefix: spec.tablePrefix, label: postgresLabel(spec.connection, acc) }
  }
  if (spec !== null && typeof spec === 'object' && (spec.kind === 'folder' || spec.kind === 'sqlite') && typeof spec.path === 'string') {
    return { ...sealing(spec), kind: spec.kind, path: spec.path, label: path.resolve(spec.path) }
  }
  if (typeof spec !== 'string' || spec === '') throw new TypeError('a store is a folder path, a SQLite file (auth.db, sqlite:PATH) or a postgres:// URL')
  if (POSTGRES_URL.test(spec)) return { kind: 'postgres', connection: spec, account, label: postgresLabel(spec, account) }
  if (spec.startsWith('sqlite:')) {
    const p = spec.slice('sqlite:'.length)
    if (p === '') throw new TypeError('sqlite: needs a path (sqlite:auth.db)')
    return { kind: 'sqlite', path: p, label: path.resolve(p) }
  }
  return SQLITE_EXT.test(spec) ? { kind: 'sqlite', path: spec, label: path.resolve(spec) } : { kind: 'folder', path: spec, label: path.resolve(spec) }
}

/** The encryption options a store spec carries (`encryptionKey`, `previousEncryptionKeys`). */
function sealing(spec) {
  const out = {}
  if (spec.encryptionKey !== undefined) out.encryptionKey = spec.encryptionKey
  if (spec.previousEncryptionKeys !== undefined) out.previousEncryptionKeys = spec.previousEncryptionKeys
  return out
}

/** A server and account for messages: the URL without its password. */
function postgresLabel(connection, account) {
  let where = 'postgres (PG* environment)'
  if (typeof connection === 'string') where = connection.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^/]*@/i, '$1:***@').replace(/password\s*=\s*('(?:[^'\\]|\\.)*'|[^&\s]*)/gi, 'password=***')
  else if (connection && typeof connection === 'object') where = `postgres://${connection.user ? `${connection.user}@` : ''}${connection.host ?? 'localhost'}:${connection.port ?? 5432}/${connection.database ?? ''}`
  return account === undefined || account === null ? where : `${where} account ${JSON.stringify(account)}`
}

/**
 * What a store holds, in one shape for every kind: `{ kind, label, hasCreds,
 * registered, accountId, byType: { [type]: count } }`, plus the backend's own
 * report as `detail` (`inspectFolder`'s or `inspectSqlite`'s). `null` when
 * the store does not exist.
 */
async function describeStore(spec, options = {}) {
  const s = parseStoreSpec(spec, options.account)
  try {
    if (s.kind === 'postgres') {
      if (s.account === undefined || s.account === null) throw new TypeError(`${s.label}: name the account (--account NAME)`)
      const r = await binding.inspectPostgres(s.connection, s.account, { flavor: options.flavor, schema: s.schema, tablePrefix: s.tablePrefix })
      if (!r.hasCreds && Object.keys(r.byType).length === 0 && r.lease === null) return null
      const byType = Object.fromEntries(Object.entries(r.byType).map(([t, c]) => [t, c.keys]))
      return { kind: s.kind, label: s.label, hasCreds: r.hasCreds, registered: r.registered, accountId: r.accountId, byType, detail: r }
    }
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
  const opts = { ...options, ...sealing(s) }
  if (s.kind === 'postgres') {
    if (s.account === undefined || s.account === null) throw new TypeError(`${s.label}: name the account`)
    return binding.openPostgresAuthState(s.connection, s.account, { ...opts, schema: s.schema, tablePrefix: s.tablePrefix })
  }
  if (s.kind === 'folder' && opts.encryptionKey !== undefined) throw new TypeError('a folder is in Baileys\' own format: it cannot be encrypted (use a SQLite file or PostgreSQL)')
  return s.kind === 'sqlite' ? binding.openSqliteAuthState(s.path, opts) : binding.openFolderStore(s.path, opts)
}

module.exports = { parseStoreSpec, describeStore, openNativeStore }
