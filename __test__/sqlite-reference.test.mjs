// The JS SQLite reference store of the bench (bench/sqlite-reference.mjs),
// against the real Baileys v7 package: it must follow the contract of
// Baileys' hardened line (../shared/docs/baileys-contract.md) exactly, since
// our native SQLite backend is benchmarked and interop-tested against it.
// It needs better-sqlite3's native build (a devDependency built from source by
// `npm install`); the first test says so plainly when it is missing.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

import * as baileys from 'baileys'

import parityCases from './support/parity-cases.js'

const { rb, pub33, sessionWithBuffers, sessionSerialized, senderKeyStates } = parityCases
const require = createRequire(import.meta.url)

/** Why better-sqlite3 cannot be used here, or null. */
function nativeBuildProblem() {
  let dir
  try {
    dir = path.dirname(require.resolve('better-sqlite3/package.json'))
  } catch {
    return 'better-sqlite3 is not installed: run `npm install` (it is a devDependency)'
  }
  const addon = path.join(dir, 'build', 'Release', 'better_sqlite3.node')
  if (fs.existsSync(addon)) return null
  return (
    `better-sqlite3's native build is missing (${addon}): its install script could not download a prebuilt ` +
    'binary and could not build one. Build it from source against the local Node headers, with a C++ ' +
    'toolchain and Python 3 installed: ' +
    '`npm rebuild better-sqlite3 --nodedir="$(node -p \'require("path").resolve(process.execPath, "../..")\')"` ' +
    '(.ci/run sets npm_config_nodedir the same way)'
  )
}

test("better-sqlite3's native build is present", () => {
  expect(nativeBuildProblem()).toBeNull()
})

let useReferenceSqliteAuthState, Database
beforeAll(async () => {
  const problem = nativeBuildProblem()
  if (problem) throw new Error(problem)
  ;({ useReferenceSqliteAuthState } = await import('../bench/sqlite-reference.mjs'))
  Database = require('better-sqlite3')
})

// ---------------------------------------------------------------- helpers

const roots = []
function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-sqlite-ref-${tag}-`))
  roots.push(d)
  return d
}
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
})

const open = (dbPath, options) => useReferenceSqliteAuthState({ dbPath, baileys, ...options })

/** Rows of a closed or open file, read through a connection of its own. */
function query(dbPath, sql, ...params) {
  const db = new Database(dbPath, { readonly: true })
  try {
    return db.prepare(sql).all(...params)
  } finally {
    db.close()
  }
}

/** Class name, Buffer bytes, key order, -0 and undefined all count. */
function dump(v) {
  if (v === null) return 'null'
  if (typeof v === 'number') return Object.is(v, -0) ? 'n:-0' : `n:${v}`
  if (typeof v !== 'object') return `${typeof v}:${String(v)}`
  if (Buffer.isBuffer(v)) return `Buffer<${v.toString('hex')}>`
  if (ArrayBuffer.isView(v)) return `${Object.prototype.toString.call(v)}<${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}>`
  if (Array.isArray(v)) return `[${v.map(dump).join(',')}]`
  const proto = Object.getPrototypeOf(v)
  const name = proto === null ? 'null-proto' : proto.constructor && proto.constructor.name !== 'Object' ? proto.constructor.name : ''
  return `${name}{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${dump(v[k])}`)
    .join(',')}}`
}

/** Baileys' file name of a key: `/` → `__`, then `:` → `-`. */
const fileOf = (type, id) => `${type}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')

/** The ten key types Baileys v7 stores, in the forms it stores them. */
function keyData() {
  const ltHash = (version) => ({
    version,
    hash: rb(128),
    indexValueMap: Object.fromEntries([0, 1, 2].map(() => [rb(32).toString('base64'), { valueMac: rb(32) }])),
  })
  const appStateKey = (rawId) =>
    baileys.proto.Message.AppStateSyncKeyData.fromObject({
      keyData: rb(32),
      fingerprint: { rawId, currentIndex: rawId % 7, deviceIndexes: [0, 1] },
      timestamp: Date.now(),
    })
  return {
    'pre-key': Object.fromEntries([1, 2, 7, 100, 812].map((id) => [id, baileys.Curve.generateKeyPair()])),
    session: {
      '5511987654321.0': Buffer.from(JSON.stringify(sessionSerialized())), // as v7 stores a SessionRecord
      '5511987654321.12': rb(300),
      '123456789012345_1.0': new Uint8Array(rb(180)), // a Uint8Array that is not a Buffer
      '5511987654321:12@s.whatsapp.net': sessionWithBuffers(), // an older object form
      'weird/slash/id': sessionSerialized(),
    },
    'sender-key': {
      '123-456@g.us::789::0': Buffer.from(JSON.stringify(senderKeyStates())),
      '120363025246125486@g.us::123456789012345_1::0': senderKeyStates(),
    },
    'sender-key-memory': {
      '120363025246125486@g.us': { '5511987654321:12@s.whatsapp.net': true, '5511900000000@s.whatsapp.net': true },
    },
    'app-state-sync-key': { AAAAAFbC: appStateKey(1000), 'ab/cd+ef/gh=': appStateKey(1001) },
    'app-state-sync-version': { regular: ltHash(12), critical_block: ltHash(1) },
    'lid-mapping': { 5511987654321: '123456789012345', '123456789012345_reverse': '5511987654321' },
    'device-list': { 5511987654321: ['0', '12', '23'], 123456789012345: ['0'] },
    tctoken: {
      '5511987654321@s.whatsapp.net': { token: rb(40), timestamp: '1732000123' },
      __index: { token: Buffer.from(JSON.stringify(['123456789012345@lid'])) },
    },
    'identity-key': { '5511987654321.0': pub33(), '123456789012345@lid': new Uint8Array(pub33()) },
  }
}

const MISSING = ['does-not-exist', 'x/y:z::w', 424242]

/** Credentials as a paired device has them (Buffers nested at several depths). */
function pair(creds) {
  Object.assign(creds, {
    me: { id: '5511987654321:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Zoë 🚀 "q" \\ /\u2028' },
    account: { details: rb(90), accountSignatureKey: rb(32), accountSignature: rb(64), deviceSignature: rb(64) },
    signalIdentities: [{ identifier: { name: '5511987654321:12@s.whatsapp.net', deviceId: 0 }, identifierKey: pub33() }],
    routingInfo: rb(12),
    platform: 'smba',
    registered: true,
    nextPreKeyId: 813,
    firstUnuploadedPreKeyId: 813,
  })
}

// ---------------------------------------------------------------- the tests

test('the file holds exactly the contract schema, in WAL mode, and nothing else', async () => {
  const dbPath = path.join(tmpDir('schema'), 'auth.db')
  const ref = await open(dbPath)
  expect(ref.db.pragma('synchronous', { simple: true })).toBe(1) // NORMAL
  await ref.saveCreds()
  await ref.state.keys.set({ 'pre-key': { 1: baileys.Curve.generateKeyPair() } })
  await ref.close()
  // reopening an existing file changes nothing
  await (await open(dbPath)).close()

  // the contract's statements, as SQLite keeps them (without IF NOT EXISTS)
  const contract = [
    'CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id))',
    'CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type)',
  ].map((s) => s.replace(' IF NOT EXISTS', ''))
  expect(query(dbPath, 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')).toEqual([
    { type: 'index', name: 'signal_keys_type_idx', tbl_name: 'signal_keys', sql: contract[2] },
    { type: 'index', name: 'sqlite_autoindex_creds_1', tbl_name: 'creds', sql: null },
    { type: 'index', name: 'sqlite_autoindex_signal_keys_1', tbl_name: 'signal_keys', sql: null },
    { type: 'table', name: 'creds', tbl_name: 'creds', sql: contract[0] },
    { type: 'table', name: 'signal_keys', tbl_name: 'signal_keys', sql: contract[1] },
  ])
  expect(query(dbPath, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }])
  expect(query(dbPath, 'PRAGMA user_version')).toEqual([{ user_version: 0 }])
  expect(query(dbPath, 'PRAGMA application_id')).toEqual([{ application_id: 0 }])
  expect(query(dbPath, 'SELECT key FROM creds')).toEqual([{ key: '__creds__' }])
  expect(query(dbPath, 'SELECT type, id FROM signal_keys')).toEqual([{ type: 'pre-key', id: '1' }])

  const full = await open(dbPath, { synchronous: 'FULL' })
  expect(full.db.pragma('synchronous', { simple: true })).toBe(2)
  await full.close()
  await expect(open(dbPath, { synchronous: 'OFF' })).rejects.toThrow(/synchronous/)
  await expect(useReferenceSqliteAuthState({ dbPath })).rejects.toThrow(/baileys/)
})

test("all ten key types read back equal to what Baileys' own useMultiFileAuthState gives, from the same text", async () => {
  const dir = tmpDir('keys')
  const folder = path.join(dir, 'folder')
  const dbPath = path.join(dir, 'auth.db')
  const b = await baileys.useMultiFileAuthState(folder)
  const ref = await open(dbPath)
  const data = keyData()
  expect(Object.keys(data)).toHaveLength(10)
  expect(await b.state.keys.set(data)).toBeUndefined()
  expect(await ref.state.keys.set(data)).toBeUndefined()

  // every row is the type and id as given, and holds the very text of Baileys' file
  const rows = query(dbPath, 'SELECT type, id, value FROM signal_keys')
  const expectedRows = Object.entries(data).flatMap(([type, ofType]) => Object.keys(ofType).map((id) => [type, id]))
  expect(rows.map((r) => [r.type, r.id]).sort()).toEqual(expectedRows.sort())
  for (const { type, id, value } of rows) expect({ type, id, value }).toEqual({ type, id, value: fs.readFileSync(path.join(folder, fileOf(type, id)), 'utf8') })

  // each opened afresh, so that nothing comes from memory
  const bKeys = (await baileys.useMultiFileAuthState(folder)).state.keys
  const ref2 = await open(dbPath)
  for (const type of Object.keys(data)) {
    const ids = [...Object.keys(data[type]), ...MISSING]
    const fromB = await bKeys.get(type, ids)
    const fromRef = await ref2.state.keys.get(type, ids)
    // Baileys' released helper answers null for a missing id; the hardened line leaves it out
    for (const id of MISSING) {
      expect(fromB[id]).toBeNull()
      expect(Object.prototype.hasOwnProperty.call(fromRef, id)).toBe(false)
    }
    expect(Object.keys(fromRef).sort()).toEqual(Object.keys(data[type]).sort())
    for (const id of Object.keys(data[type])) {
      expect({ type, id, value: dump(fromRef[id]) }).toEqual({ type, id, value: dump(fromB[id]) })
      expect(fromRef[id]).toEqual(fromB[id])
    }
  }
  // what Baileys' consumers rely on
  const sync = await ref2.state.keys.get('app-state-sync-key', ['AAAAAFbC'])
  expect(sync.AAAAAFbC).toBeInstanceOf(baileys.proto.Message.AppStateSyncKeyData)
  expect(Buffer.isBuffer(sync.AAAAAFbC.keyData)).toBe(true)
  const pk = await ref2.state.keys.get('pre-key', [7]) // ids are turned into text
  expect(pk[7].public.equals(data['pre-key'][7].public)).toBe(true)
  await ref.close()
  await ref2.close()
})

test('a set is one transaction: a value that cannot be stored rolls back the whole call', async () => {
  const ref = await open(path.join(tmpDir('atomic'), 'auth.db'))
  const { keys } = ref.state
  const kp = () => baileys.Curve.generateKeyPair()
  const before = { 'pre-key': { 1: kp(), 2: kp() }, session: { a: rb(64) } }
  await keys.set(before)
  const snapshot = async () => ({
    'pre-key': await keys.get('pre-key', [1, 2, 3, 4]),
    session: await keys.get('session', ['a', 'b']),
  })
  const expected = dump(await snapshot())
  expect(expected).toBe(dump(before))

  // deletes, an overwrite and new keys first, across types; the BigInt comes last
  const bigint = keys.set({ 'pre-key': { 1: null, 2: kp(), 3: kp() }, session: { a: null, b: { n: 1n } } })
  await expect(bigint).rejects.toThrow(TypeError)
  expect(dump(await snapshot())).toBe(expected)

  const cycle = { 'pre-key': { 4: kp() }, session: { a: null, b: {} } }
  cycle.session.b.self = cycle.session.b
  await expect(keys.set(cycle)).rejects.toThrow(TypeError)
  expect(dump(await snapshot())).toBe(expected)

  // `undefined` is not a delete: JSON.stringify gives undefined, which fails the NOT NULL constraint
  await expect(keys.set({ 'pre-key': { 1: null, 4: kp(), 5: undefined } })).rejects.toMatchObject({
    code: 'SQLITE_CONSTRAINT_NOTNULL',
  })
  expect(dump(await snapshot())).toBe(expected)
  expect(ref.db.inTransaction).toBe(false)

  // `null` deletes; other falsy values are stored as their JSON
  await keys.set({ 'pre-key': { 1: null }, session: { zero: 0, empty: '', no: false } })
  expect(await keys.get('pre-key', [1, 2])).toEqual({ 2: before['pre-key'][2] })
  expect(await keys.get('session', ['zero', 'empty', 'no'])).toEqual({ zero: 0, empty: '', no: false })
  await ref.close()
})

test('creds persist across close and reopen; fresh creds until the first saveCreds', async () => {
  const dbPath = path.join(tmpDir('creds'), 'auth.db')
  const first = await open(dbPath)
  const fresh = baileys.initAuthCreds()
  expect(Object.keys(first.state.creds)).toEqual(Object.keys(fresh))
  await first.close()

  const ref = await open(dbPath)
  expect(ref.state.creds.noiseKey.public.equals(first.state.creds.noiseKey.public)).toBe(false) // never saved
  const creds = ref.state.creds
  pair(creds) // Baileys mutates the very object in place
  await ref.saveCreds()
  creds.me.name = 'renamed'
  creds.accountSyncCounter = 3
  await ref.saveCreds()
  await ref.state.keys.set({ 'pre-key': { 9: baileys.Curve.generateKeyPair() } })
  await ref.close()
  await ref.close() // idempotent
  await expect(ref.saveCreds()).rejects.toThrow(/closed/)
  await expect(ref.state.keys.get('pre-key', [9])).rejects.toThrow(/closed/)

  const again = await open(dbPath)
  const expected = JSON.parse(JSON.stringify(creds, baileys.BufferJSON.replacer), baileys.BufferJSON.reviver)
  expect(dump(again.state.creds)).toBe(dump(expected))
  expect(again.state.creds.me.name).toBe('renamed')
  expect(Buffer.isBuffer(again.state.creds.account.details)).toBe(true)
  expect(Buffer.isBuffer(again.state.creds.signedPreKey.signature)).toBe(true)
  expect(Object.keys(await again.state.keys.get('pre-key', [9]))).toEqual(['9'])

  // the row is Baileys' creds.json text for the same object
  const folder = tmpDir('creds-folder')
  const b = await baileys.useMultiFileAuthState(folder)
  Object.assign(b.state.creds, again.state.creds)
  await b.saveCreds()
  await again.saveCreds()
  expect(query(dbPath, "SELECT value FROM creds WHERE key = '__creds__'")[0].value).toBe(
    fs.readFileSync(path.join(folder, 'creds.json'), 'utf8'),
  )
  await again.close()
})

test('list, listIds and clear; a get after an un-awaited set sees it', async () => {
  const ref = await open(path.join(tmpDir('list'), 'auth.db'))
  const { keys } = ref.state
  const many = {}
  for (let i = 0; i < 1234; i++) many[`s${String(i).padStart(4, '0')}`] = rb(8) // more than one page
  await keys.set({ session: many, 'pre-key': { 1: baileys.Curve.generateKeyPair() } })
  const ids = []
  for await (const id of keys.listIds('session')) ids.push(id)
  expect(ids).toEqual(Object.keys(many).sort())
  const entries = []
  for await (const entry of keys.list('session')) entries.push(entry)
  expect(entries.map(([id]) => id)).toEqual(ids)
  expect(entries.every(([id, v]) => Buffer.isBuffer(v) && v.equals(many[id]))).toBe(true)

  const key = baileys.Curve.generateKeyPair()
  const pending = keys.set({ 'pre-key': { 2: key } })
  expect((await keys.get('pre-key', [2]))[2]).toEqual(key)
  await pending

  await ref.saveCreds()
  await keys.clear()
  expect(await keys.get('pre-key', [1, 2])).toEqual({})
  const left = []
  for await (const id of keys.listIds('session')) left.push(id)
  expect(left).toEqual([])
  expect(ref.db.prepare('SELECT count(*) AS n FROM creds').get()).toEqual({ n: 1 }) // the creds stay
  await ref.close()
})
