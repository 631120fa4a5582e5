// Interop of our SQLite backend (`useSqliteAuthState`) with a store that
// follows Baileys' SQLite contract: the JS reference store of the bench
// (bench/sqlite-reference.mjs, better-sqlite3, written to the contract in
// ../shared/docs/baileys-contract.md and checked against Baileys v7 by
// sqlite-reference.test.mjs). Both directions, for both Baileys lines (the
// reference store revives with the line it is given; ours reads with that
// line's flavor):
// - a file ours wrote opens in the reference store with equal values (all ten
//   key types and the credentials), and the reference store can go on
//   writing it; ours then reads what it wrote;
// - a file the reference store wrote opens in ours with equal values;
// - our file's schema holds the contract's tables and index, statement for
//   statement, plus our own metadata (application_id, user_version, the
//   quarantine table), which the reference store opens and works with;
// - rows another writer may leave (invalid UTF-8 in TEXT, a BLOB, a number)
//   read in ours as in the reference store;
// - `PRAGMA integrity_check` is ok after every step.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

import { jest } from '@jest/globals'
import * as baileysV7 from 'baileys'

import { useSqliteAuthState } from '../index.mjs'
import parityCases from './support/parity-cases.js'
import T from './support/sqlite-tools.js'

const require = createRequire(import.meta.url)
// Both lines' generated protobuf code registers itself in protobufjs's one
// `roots.default`: in one module registry the line loaded last takes it over,
// and the other's `AppStateSyncKeyData.fromObject` then builds the wrong
// line's class. v6 gets a registry (and a protobufjs) of its own.
let baileysV6
jest.isolateModules(() => {
  baileysV6 = require('@whiskeysockets/baileys')
})

const { makeParityFixtures, dump, pairedCreds, rb, pub33, sessionWithBuffers, sessionSerialized, senderKeyStates, MISSING } = parityCases

let useReferenceSqliteAuthState
beforeAll(async () => {
  ;({ useReferenceSqliteAuthState } = await import('../bench/sqlite-reference.mjs'))
})

const tmpDir = T.tmpDirs('ban-sqlite-interop')
const { track } = T.storeTracker()
const oursOpen = track((dbPath, options) => useSqliteAuthState({ dbPath }, options))

// The forms both lines store (and read) somewhere: v7's raw bytes and
// Uint8Arrays, v6's objects with nested Buffers.
const keyForms = {
  sessionForms: [
    () => Buffer.from(JSON.stringify(sessionSerialized())),
    () => new Uint8Array(rb(180)),
    () => sessionSerialized(),
    () => sessionWithBuffers(),
    () => rb(300),
  ],
  senderKey: () => Buffer.from(JSON.stringify(senderKeyStates())),
  olderSenderKey: senderKeyStates,
  extraIdentityKeys: () => ({ '123456789012345@lid': new Uint8Array(pub33()) }),
}

const OUR_TABLE = {
  type: 'table',
  name: T.QUARANTINE_TABLE,
  tbl_name: T.QUARANTINE_TABLE,
  sql: `CREATE TABLE ${T.QUARANTINE_TABLE} (type TEXT NOT NULL, id TEXT NOT NULL, value BLOB NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL)`,
}
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
const master = (db) => T.query(db, 'SELECT type, name, tbl_name, sql FROM sqlite_master').sort(byName)
const pragma = (db, name) => T.query(db, `PRAGMA ${name}`)[0][name]
/** "BaAN" (Baileys auth native), our application_id. */
const APPLICATION_ID = 0x4261414e

async function collect(iterable) {
  const out = []
  for await (const x of iterable) out.push(x)
  return out
}

/** Ids of every type of `data` as stored (text), sorted bytewise as SQLite's `ORDER BY id`. */
const storedIds = (ofType) =>
  Object.keys(ofType)
    .map(T.asStored)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

describe.each([
  ['v7', baileysV7],
  ['v6', baileysV6],
])('SQLite interop with the contract reference store (Baileys %s)', (line, baileys) => {
  const { proto } = baileys
  const { makeKeyData, roundTrip } = makeParityFixtures({ baileys, keyData: keyForms })
  const refOpen = track((dbPath) => useReferenceSqliteAuthState({ dbPath, baileys, Driver: T.betterSqlite() }))
  const opts = { flavor: line, proto }

  /** Every value of `data`'s types through `keys.get` (plus missing ids), dumped per `type/id`. */
  async function reads(keys, data, { missing = MISSING } = {}) {
    const out = {}
    for (const type of Object.keys(data)) {
      const got = await keys.get(type, [...Object.keys(data[type]), ...missing])
      for (const id of Object.keys(got).sort()) out[`${type}/${id}`] = dump(got[id])
    }
    return out
  }
  const withoutMissing = (r) => Object.fromEntries(Object.entries(r).filter(([k]) => !MISSING.some((m) => k.endsWith(`/${m}`))))

  test('a file written by ours opens in the reference store with equal values; the reference store goes on writing it, and ours reads that', async () => {
    const db = path.join(tmpDir(`ours-${line}`), 'auth.db')
    const data = makeKeyData()
    expect(Object.keys(data)).toHaveLength(10)

    const o = await oursOpen(db, opts)
    Object.assign(o.state.creds, pairedCreds())
    await o.saveCreds()
    await o.state.keys.set(data)
    const oursReads = await reads(o.state.keys, data)
    const oursCreds = dump(roundTrip(o.state.creds))
    await o.close()
    expect(T.integrity(db)).toEqual(['ok'])

    const ref = await refOpen(db)
    expect(dump(ref.state.creds)).toBe(oursCreds)
    expect(Buffer.isBuffer(ref.state.creds.account.details)).toBe(true)
    const refReads = await reads(ref.state.keys, data)
    // the reference store (as Baileys' hardened store) leaves missing ids out; ours answers null
    expect(refReads).toEqual(withoutMissing(oursReads))
    for (const id of MISSING) expect(oursReads[`pre-key/${id}`]).toBe('null')
    const sync = await ref.state.keys.get('app-state-sync-key', ['AAAAAFbC/w=='])
    expect(sync['AAAAAFbC/w==']).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
    // it lists the ids exactly as ours stored them, and the same values
    for (const type of Object.keys(data)) {
      expect(await collect(ref.state.keys.listIds(type))).toEqual(storedIds(data[type]))
      const entries = await collect(ref.state.keys.list(type))
      for (const [id, v] of entries) expect(dump(v)).toBe(oursReads[`${type}/${id}`])
    }

    // the reference store writes the file ours made: new keys, a delete, new creds
    const newKey = baileys.Curve.generateKeyPair()
    await ref.state.keys.set({ 'pre-key': { 812: newKey, 7: null }, session: { 'ref/written:id': rb(64) } })
    ref.state.creds.me.name = 'written by the reference store'
    await ref.saveCreds()
    const refCreds = dump(roundTrip(ref.state.creds))
    await ref.close()
    expect(T.integrity(db)).toEqual(['ok'])
    // our metadata came through
    expect(pragma(db, 'application_id')).toBe(APPLICATION_ID)
    expect(pragma(db, 'user_version')).toBe(1)
    expect(master(db)).toEqual([...T.CONTRACT_MASTER, OUR_TABLE].sort(byName))

    const again = await oursOpen(db, opts)
    expect(dump(again.state.creds)).toBe(refCreds)
    const after = await again.state.keys.get('pre-key', [812, 7, 1])
    expect(after[812]).toEqual(newKey)
    expect(after[7]).toBeNull()
    expect(dump(after[1])).toBe(oursReads['pre-key/1'])
    expect(Buffer.isBuffer((await again.state.keys.get('session', ['ref/written:id']))['ref/written:id'])).toBe(true)
    await again.close()
    expect(T.integrity(db)).toEqual(['ok'])
  })

  test('a file written by the reference store opens in ours with equal values (creds loaded, never fresh)', async () => {
    const db = path.join(tmpDir(`ref-${line}`), 'auth.db')
    const data = makeKeyData()
    const ref = await refOpen(db)
    Object.assign(ref.state.creds, pairedCreds())
    await ref.saveCreds()
    await ref.state.keys.set(data)
    await ref.close()
    expect(T.integrity(db)).toEqual(['ok'])
    // the reference store's file: the contract's schema and nothing else
    expect(master(db)).toEqual([...T.CONTRACT_MASTER].sort(byName))
    expect(pragma(db, 'application_id')).toBe(0)
    const rowsBefore = T.keyRows(db)
    const credsBefore = T.credsBytes(db)

    const ref2 = await refOpen(db)
    const refReads = await reads(ref2.state.keys, data)
    const refCreds = dump(ref2.state.creds)
    await ref2.close()

    const o = await oursOpen(db, opts)
    expect(dump(o.state.creds)).toBe(refCreds)
    expect(o.state.creds.me.id).toBe('5511987654321:12@s.whatsapp.net')
    const oursReads = await reads(o.state.keys, data)
    expect(withoutMissing(oursReads)).toEqual(refReads)
    for (const type of Object.keys(data)) for (const id of MISSING) expect(oursReads[`${type}/${id}`]).toBe('null')
    for (const type of Object.keys(data)) expect(await collect(o.state.keys.listIds(type))).toEqual(storedIds(data[type]))
    const sync = await o.state.keys.get('app-state-sync-key', ['ab/cd+ef/gh='])
    expect(sync['ab/cd+ef/gh=']).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
    expect(Buffer.isBuffer(sync['ab/cd+ef/gh='].keyData)).toBe(true)
    await o.close()

    // opening changed no row, only added our metadata
    expect(T.keyRows(db)).toEqual(rowsBefore)
    expect(T.credsBytes(db).equals(credsBefore)).toBe(true)
    expect(master(db)).toEqual([...T.CONTRACT_MASTER, OUR_TABLE].sort(byName))
    expect(T.integrity(db)).toEqual(['ok'])
    // … and the reference store still reads it as before
    const ref3 = await refOpen(db)
    expect(await reads(ref3.state.keys, data)).toEqual(refReads)
    await ref3.close()
  })
})

test("our file's schema: the contract's tables and index statement for statement, plus our metadata; the reference store leaves it as it is", async () => {
  const db = path.join(tmpDir('schema'), 'auth.db')
  const o = await oursOpen(db)
  await o.saveCreds()
  await o.state.keys.set({ 'pre-key': { 1: baileysV7.Curve.generateKeyPair() } })
  // while ours is open (a WAL reader beside our writer)
  expect(pragma(db, 'journal_mode')).toBe('wal')
  await o.close()
  // nothing but the database (and our lock file) next to it once closed: the WAL was folded back
  expect(fs.readdirSync(path.dirname(db)).sort()).toEqual(['auth.db', 'auth.db.lock'])

  const expected = [...T.CONTRACT_MASTER, OUR_TABLE].sort(byName)
  expect(master(db)).toEqual(expected)
  expect(pragma(db, 'journal_mode')).toBe('wal')
  expect(pragma(db, 'application_id')).toBe(APPLICATION_ID)
  expect(pragma(db, 'user_version')).toBe(1)
  expect(T.query(db, 'SELECT key FROM creds')).toEqual([{ key: T.CREDS_KEY }])
  expect(T.query(db, 'SELECT type, id FROM signal_keys')).toEqual([{ type: 'pre-key', id: '1' }])
  expect(T.query(db, `SELECT count(*) AS n FROM ${T.QUARANTINE_TABLE}`)).toEqual([{ n: 0 }])
  expect(T.integrity(db)).toEqual(['ok'])

  const ref = await useReferenceSqliteAuthState({ dbPath: db, baileys: baileysV7, Driver: T.betterSqlite() })
  expect(Object.keys(await ref.state.keys.get('pre-key', [1]))).toEqual(['1'])
  await ref.state.keys.set({ 'pre-key': { 2: baileysV7.Curve.generateKeyPair() } })
  await ref.close()
  expect(master(db)).toEqual(expected)
  expect(pragma(db, 'application_id')).toBe(APPLICATION_ID)
  expect(T.integrity(db)).toEqual(['ok'])
})

test('rows another writer may leave (invalid UTF-8 in TEXT, a BLOB, a number) read in ours as in the reference store', async () => {
  const db = path.join(tmpDir('odd-rows'), 'auth.db')
  T.writeContractDb(db, { rows: [['t', 'ok', '{"a":1}']] })
  T.withDb(
    db,
    (d) => {
      const put = (id, sqlValue) => d.prepare(`INSERT INTO signal_keys (type, id, value) VALUES ('t', ?, ${sqlValue})`).run(id)
      put('bad-utf8', "CAST(X'7B2278223A2241FF42227D' AS TEXT)") // {"x":"A\xffB"}
      put('blob', "X'7B2279223A327D'") // {"y":2} as a BLOB
      put('number', '5')
    },
    { readonly: false },
  )
  expect(T.query(db, "SELECT id, typeof(value) AS t FROM signal_keys WHERE type = 't' ORDER BY id")).toEqual([
    { id: 'bad-utf8', t: 'text' },
    { id: 'blob', t: 'blob' },
    { id: 'number', t: 'text' }, // TEXT affinity
    { id: 'ok', t: 'text' },
  ])
  const ids = ['ok', 'bad-utf8', 'blob', 'number']
  const ref = await useReferenceSqliteAuthState({ dbPath: db, baileys: baileysV7, Driver: T.betterSqlite() })
  const fromRef = await ref.state.keys.get('t', ids)
  await ref.close()
  const { logger, warnings } = T.recordingLogger()
  const o = await oursOpen(db, { flavor: 'v7', logger })
  const fromOurs = await o.state.keys.get('t', ids)
  await o.close()
  for (const id of ids) expect(`${id}: ${dump(fromOurs[id])}`).toBe(`${id}: ${dump(fromRef[id])}`)
  expect(fromOurs['bad-utf8']).toEqual({ x: 'A\ufffdB' })
  expect(warnings).toEqual([])
  expect(T.integrity(db)).toEqual(['ok'])
})
