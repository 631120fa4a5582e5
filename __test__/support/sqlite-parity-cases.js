'use strict'
// Parity of our SQLite backend (`useSqliteAuthState`) with Baileys' own
// `useMultiFileAuthState`, for both Baileys lines
// (`__test__/sqlite-parity-v6.test.js`, CommonJS, and
// `__test__/sqlite-parity-v7.test.mjs`, ESM): the same operations through
// Baileys' helper on a folder and through ours on a database file must give
// the same values, and every row's `value` must be, byte for byte, the file
// Baileys writes for the same value (the contract's SQLite format stores
// exactly that text). The values and fixtures are those of the folder parity
// cases (support/parity-cases.js, `makeParityFixtures`); no mocks, the real
// Baileys package does the reference side, and the database is read with
// better-sqlite3 directly.
//
// Where the SQLite format departs from a folder, by design: ids are stored as
// given (no `fixFileName`), and a missing id still reads as `null` (the
// released helper's behaviour, which ours follows; Baileys' unreleased SQLite
// store leaves missing ids out).
//
// The same cases run on any store of rows in that format: `store` (see
// `sqliteStore`) says how to open ours on a place and how to read and write
// its rows directly. The PostgreSQL parity suites pass theirs
// (support/pg-parity-store.js).

const fs = require('node:fs')
const path = require('node:path')

const { makeParityFixtures, dump, readAll, dumpReads, shape, pairedCreds, rb, pub33, APP_STATE_IDS, MISSING, lineOptions } = require('./parity-cases.js')

/** Settles to the rejection of `promise`, or to null when it resolves. */
const rejectionOf = (promise) =>
  promise.then(
    () => null,
    (e) => e,
  )
const T = require('./sqlite-tools.js')

/** `*.json` names of a folder, sorted. */
const jsonFiles = (dir) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()

/**
 * A store of rows in the contract's format, as the parity cases use it (every
 * call async). This one: our SQLite backend, a place being a database file,
 * read and written with better-sqlite3 (support/sqlite-tools.js).
 *
 * - `label`, `tag`: for test titles and temporary names;
 * - `place(root, name)`: where a store named `name` lives under a test's root;
 * - `open(lib, place, options)`: ours on the place (`lib`: this package's
 *   exports or the ESM entry's); `openWithConfig(lib, place, options)`: the
 *   same with the options in the config where the opener has one;
 * - `keyRows(place)` (`{ type, id, value }`, value the exact bytes, sorted by
 *   type then id, bytewise), `credsBytes(place)` (or undefined),
 *   `row(place, type, id)` (the bytes or undefined), `quarantineRows(place)`
 *   (`{ type, id, value }` sorted by id);
 * - `writeRows(place, { rows, creds })`: rows `[type, id, text]` and the
 *   creds' text, written directly as another writer of the format would;
 * - `check(place)`: the store is sound (SQLite's integrity check);
 * - `holdsNul`: whether a type or id may hold U+0000.
 */
function sqliteStore() {
  return {
    label: 'SQLite backend',
    tag: 'sqlite',
    place: (root, name) => path.join(root, `${name}.db`),
    open: (lib, dbPath, options) => lib.useSqliteAuthState({ dbPath }, options),
    openWithConfig: (lib, dbPath, options) => lib.useSqliteAuthState({ dbPath, ...options }),
    keyRows: async (dbPath) => T.keyRows(dbPath),
    credsBytes: async (dbPath) => T.credsBytes(dbPath),
    row: async (dbPath, type, id) => T.query(dbPath, 'SELECT CAST(value AS BLOB) AS value FROM signal_keys WHERE type = ? AND id = ?', type, String(id))[0]?.value,
    quarantineRows: async (dbPath) => T.query(dbPath, `SELECT type, id, CAST(value AS BLOB) AS value FROM ${T.QUARANTINE_TABLE} ORDER BY id`),
    writeRows: async (dbPath, contents) => T.writeContractDb(dbPath, contents),
    check: async (dbPath) => expect(T.integrity(dbPath)).toEqual(['ok']),
    holdsNul: true,
  }
}

/**
 * Registers the SQLite parity cases of one Baileys line.
 *
 * - `line`, `baileys`, `keyData`, `checkSessionReads`, `credKeysMatch`,
 *   `legacy`: as for `defineParityTests` (support/parity-cases.js).
 * - `ours`: this package's exports (the older-forms case opens with it).
 * - `flavors`: rows `[label, options, lib]`: the cases open ours as
 *   `store.open(lib, place, options)` (for SQLite
 *   `lib.useSqliteAuthState({ dbPath }, options)`).
 * - `store` (optional): the backend, see `sqliteStore` (the default).
 */
function defineSqliteParityTests({ line, baileys, ours, flavors, credKeysMatch, keyData, checkSessionReads, legacy, store = sqliteStore() }) {
  const { proto } = baileys
  const { roundTrip, appStateKey, makeKeyData } = makeParityFixtures({ baileys, keyData })
  const tmpDir = T.tmpDirs(`ban-${store.tag}-parity-${line}`)
  const { track } = T.storeTracker()

  /** Every row must be the exact bytes of Baileys' file for the same key. */
  async function expectRowsAreFiles(dbPath, folder) {
    const rows = await store.keyRows(dbPath)
    for (const { type, id, value } of rows) {
      const file = path.join(folder, T.fileOf(type, id))
      expect({ type, id, exists: fs.existsSync(file) }).toEqual({ type, id, exists: true })
      const bytes = fs.readFileSync(file)
      if (!bytes.equals(value)) {
        // latin1 is byte-faithful and gives a readable diff
        expect({ type, id, row: value.toString('latin1') }).toEqual({ type, id, row: bytes.toString('latin1') })
      }
    }
    // and no file without its row
    expect(rows.map((r) => T.fileOf(r.type, r.id)).sort()).toEqual(jsonFiles(folder).filter((f) => f !== 'creds.json'))
    return rows
  }

  /** The `(type, id)` pairs of `data`, ids as text, sorted as SQLite sorts them (bytewise). */
  const pairsOf = (data) =>
    Object.entries(data)
      .flatMap(([type, ofType]) => Object.keys(ofType).map((id) => [type, T.asStored(id)]))
      .sort((a, b) => Buffer.compare(Buffer.from(a.join('\0')), Buffer.from(b.join('\0'))))

  describe.each(flavors)(`${store.label}: parity with Baileys ${line}'s useMultiFileAuthState (%s)`, (_label, opts, lib) => {
    const open = track((dbPath, extra) => store.open(lib, dbPath, opts || extra ? { ...opts, ...extra } : undefined))

    /** A folder opened by Baileys' helper and a new store opened by ours. */
    async function openBoth(tag) {
      const root = tmpDir(tag)
      const dB = path.join(root, 'baileys')
      const db = store.place(root, 'auth')
      const b = await baileys.useMultiFileAuthState(dB)
      const o = await open(db)
      return { root, dB, db, b, o }
    }

    /** Closes `o` and opens the store afresh (nothing comes from memory). */
    async function reopen(o, db, extra) {
      await o.close()
      return open(db, extra)
    }

    test('fresh creds: no row until saveCreds, then the shape of creds.json; each reads what the other wrote', async () => {
      const { root, dB, db, b, o } = await openBoth('fresh')
      expect((await store.credsBytes(db))).toBeUndefined()
      expect((await store.keyRows(db))).toEqual([])
      if (credKeysMatch(opts)) expect(Object.keys(o.state.creds)).toEqual(Object.keys(b.state.creds))

      expect(await b.saveCreds()).toBeUndefined()
      expect(await o.saveCreds()).toBeUndefined()
      const fb = JSON.parse(fs.readFileSync(path.join(dB, 'creds.json'), 'utf8'))
      const fo = JSON.parse((await store.credsBytes(db)).toString('utf8'))
      expect(shape(fo)).toEqual(shape(fb))
      expect(Object.keys(fo)).toEqual(Object.keys(fb))
      expect(Buffer.from(fo.advSecretKey, 'base64')).toHaveLength(32)
      for (const k of ['processedHistoryMessages', 'nextPreKeyId', 'firstUnuploadedPreKeyId', 'accountSyncCounter', 'accountSettings', 'registered'])
        expect(fo[k]).toEqual(fb[k])
      expect(fo.signedPreKey.keyId).toBe(1)
      // the row is exactly what Baileys writes for these creds
      expect((await store.credsBytes(db)).toString('utf8')).toBe(JSON.stringify(o.state.creds, baileys.BufferJSON.replacer))

      // ours reads its row back as Baileys reads the same text from a creds.json
      const oReadsO = (await reopen(o, db)).state.creds
      const copy = path.join(root, 'copy-of-ours')
      fs.mkdirSync(copy)
      fs.writeFileSync(path.join(copy, 'creds.json'), (await store.credsBytes(db)))
      const bReadsO = (await baileys.useMultiFileAuthState(copy)).state.creds
      expect(dump(oReadsO)).toBe(dump(bReadsO))
      expect(dump(oReadsO)).toBe(dump(roundTrip(o.state.creds)))

      // … and Baileys' creds.json, as the row of another writer, reads as Baileys reads it
      const fromB = store.place(root, 'from-baileys')
      await store.writeRows(fromB, { creds: fs.readFileSync(path.join(dB, 'creds.json'), 'utf8') })
      const oReadsB = (await open(fromB)).state.creds
      const bReadsB = (await baileys.useMultiFileAuthState(dB)).state.creds
      expect(dump(oReadsB)).toBe(dump(bReadsB))
      expect(Buffer.isBuffer(oReadsB.noiseKey.private)).toBe(true)
      expect(Buffer.isBuffer(oReadsB.signedPreKey.signature)).toBe(true)
      expect(oReadsB).toEqual(bReadsB)
    })

    test('paired creds mutated in place: saveCreds writes the very state.creds object, byte-identical to creds.json', async () => {
      const { root, dB, db, b, o } = await openBoth('paired')
      const credsRef = o.state.creds
      const sameBytes = async () => expect((await store.credsBytes(db)).toString('latin1')).toBe(fs.readFileSync(path.join(dB, 'creds.json')).toString('latin1'))

      Object.assign(o.state.creds, b.state.creds)
      await Promise.all([b.saveCreds(), o.saveCreds()])
      await sameBytes()

      const paired = pairedCreds()
      Object.assign(b.state.creds, paired)
      Object.assign(o.state.creds, paired)
      await Promise.all([b.saveCreds(), o.saveCreds()])
      expect(o.state.creds).toBe(credsRef)
      await sameBytes()

      // a later in-place mutation of the very same object is what the next save writes
      const details = rb(91)
      for (const x of [o, b]) {
        Object.assign(x.state.creds, { nextPreKeyId: 61, firstUnuploadedPreKeyId: 61, lastAccountSyncTimestamp: 1732999999 })
        x.state.creds.me = { ...x.state.creds.me, name: 'renamed' }
        x.state.creds.account = { ...x.state.creds.account, details }
        await x.saveCreds()
      }
      expect(o.state.creds).toBe(credsRef)
      await sameBytes()
      expect((await store.credsBytes(db)).toString('utf8')).toBe(JSON.stringify(credsRef, baileys.BufferJSON.replacer))
      const onDisk = JSON.parse((await store.credsBytes(db)).toString('utf8'))
      expect(onDisk.nextPreKeyId).toBe(61)
      expect(onDisk.me.name).toBe('renamed')
      expect(Buffer.from(onDisk.account.details.data, 'base64').equals(details)).toBe(true)
      // a nested in-place change (no new object anywhere) is written too
      credsRef.account.details[0] ^= 0xff
      b.state.creds.account.details = credsRef.account.details
      await o.saveCreds()
      await b.saveCreds()
      await sameBytes()
      expect(Buffer.from(JSON.parse((await store.credsBytes(db)).toString('utf8')).account.details.data, 'base64')[0]).toBe(credsRef.account.details[0])

      // reopened: what ours reads is what Baileys reads from the same bytes
      const oReadsO = (await reopen(o, db)).state.creds
      const copy = path.join(root, 'copy')
      fs.mkdirSync(copy)
      fs.writeFileSync(path.join(copy, 'creds.json'), (await store.credsBytes(db)))
      const bReads = (await baileys.useMultiFileAuthState(copy)).state.creds
      expect(dump(oReadsO)).toBe(dump(bReads))
      expect(dump(oReadsO)).toBe(dump(roundTrip(credsRef)))
      expect(Buffer.isBuffer(oReadsO.account.details)).toBe(true)
      expect(Buffer.isBuffer(oReadsO.signalIdentities[1].identifierKey)).toBe(true)
      expect(Buffer.isBuffer(oReadsO.routingInfo)).toBe(true)
      expect(oReadsO.me).toEqual({ ...paired.me, name: 'renamed' })
    })

    test('creds holding a real proto.ADVSignedDeviceIdentity (toJSON path): identical bytes', async () => {
      const { dB, db, b, o } = await openBoth('adv')
      Object.assign(o.state.creds, b.state.creds)
      const account = proto.ADVSignedDeviceIdentity.fromObject({
        details: rb(90),
        accountSignatureKey: rb(32),
        accountSignature: rb(64),
        deviceSignature: rb(64),
      })
      Object.assign(b.state.creds, { account, registered: true })
      Object.assign(o.state.creds, { account, registered: true })
      await Promise.all([b.saveCreds(), o.saveCreds()])
      expect((await store.credsBytes(db)).toString('latin1')).toBe(fs.readFileSync(path.join(dB, 'creds.json')).toString('latin1'))
      const oReads = (await reopen(o, db)).state.creds
      expect(dump(oReads)).toBe(dump((await baileys.useMultiFileAuthState(dB)).state.creds))
    })

    test("all ten key types: each row is the exact text of Baileys' file, ids as given; reads equal Baileys' reads", async () => {
      const { root, dB, db, b, o } = await openBoth('keys')
      const data = makeKeyData()
      expect(Object.keys(data)).toHaveLength(10)
      expect(await b.state.keys.set(data)).toBeUndefined()
      expect(await o.state.keys.set(data)).toBeUndefined()

      // one row per key, type and id exactly as given (no fixFileName), the text of Baileys' file
      const rows = await expectRowsAreFiles(db, dB)
      expect(rows.map((r) => [r.type, r.id])).toEqual(pairsOf(data))
      expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(['weird/slash/id', '5511987654321:12@s.whatsapp.net', '123-456@g.us::789::0', 'AAAAAFbC/w==', '__index']))

      // read back from the store, with and without proto, against Baileys' reads of its own folder
      await o.close()
      const withProto = await open(db, { proto })
      const bOwn = await readAll((await baileys.useMultiFileAuthState(dB)).state.keys, data, MISSING)
      const oOwn = await readAll(withProto.state.keys, data, MISSING)
      const expected = dumpReads(bOwn)
      expect(dumpReads(oOwn)).toEqual(expected)
      await withProto.close()
      const plain = await readAll((await open(db)).state.keys, data, MISSING)
      expect(dumpReads(plain, ['app-state-sync-key'])).toEqual(dumpReads(bOwn, ['app-state-sync-key']))

      // missing ids are null, as with the released helper
      for (const t of Object.keys(data))
        for (const id of MISSING) {
          expect(Object.prototype.hasOwnProperty.call(oOwn[t], id)).toBe(true)
          expect(oOwn[t][id]).toBeNull()
        }
      expect(Buffer.isBuffer(oOwn['pre-key'][7].public)).toBe(true)
      expect(Buffer.isBuffer(oOwn['identity-key']['5511987654321.0'])).toBe(true)
      expect(Buffer.isBuffer(oOwn['identity-key']['5511900000000.3'])).toBe(true) // stored from a Uint8Array
      expect(oOwn['app-state-sync-version'].regular.hash).toHaveLength(128)
      expect(Buffer.isBuffer(oOwn.tctoken['5511987654321@s.whatsapp.net'].token)).toBe(true)
      expect(oOwn['app-state-sync-key']['AAAAAFbC/w==']).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
      checkSessionReads(oOwn, data)
      expect(oOwn['device-list'][5511987654321]).toEqual(['0', '12', '23'])
      expect(oOwn['lid-mapping']['1234567890']).toBe('987654321012345')
      expect(oOwn['pre-key'][7]).toEqual(bOwn['pre-key'][7])

      // the other way: Baileys' files as the rows of another writer read as Baileys reads them
      const fromB = store.place(root, 'from-baileys')
      await store.writeRows(fromB, {
        rows: pairsOf(data).map(([type, id]) => [type, id, fs.readFileSync(path.join(dB, T.fileOf(type, id)), 'utf8')]),
      })
      const oReadsB = await readAll((await open(fromB, { proto })).state.keys, data, MISSING)
      expect(dumpReads(oReadsB)).toEqual(expected)
    })

    test('app-state-sync-key: with proto a true AppStateSyncKeyData, without it an equal plain object', async () => {
      const { dB, db, b, o } = await openBoth('ask')
      const ids = APP_STATE_IDS
      const data = { 'app-state-sync-key': Object.fromEntries(ids.map((id, i) => [id, appStateKey(i + 1)])) }
      await b.state.keys.set(data)
      await o.state.keys.set(data)
      await expectRowsAreFiles(db, dB)
      const row = await store.row(db, 'app-state-sync-key', 'AAAAAFbC/w==')
      expect(JSON.parse(row.toString('utf8'))).toEqual(data['app-state-sync-key']['AAAAAFbC/w=='].toJSON())

      await o.close()
      const ref = await b.state.keys.get('app-state-sync-key', ids)
      const viaProto = await (await open(db, { proto })).state.keys.get('app-state-sync-key', ids)
      const viaPlain = await (await open(db)).state.keys.get('app-state-sync-key', ids)
      for (const id of ids) {
        const r = ref[id]
        const p = viaProto[id]
        expect(p).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
        expect(p.fingerprint).toBeInstanceOf(proto.Message.AppStateSyncKeyFingerprint)
        expect(dump(p)).toBe(dump(r))
        expect(p.toJSON()).toEqual(r.toJSON())
        expect(Buffer.isBuffer(p.keyData)).toBe(true)

        const q = viaPlain[id]
        expect(q).not.toBeInstanceOf(proto.Message.AppStateSyncKeyData)
        expect(Buffer.isBuffer(q.keyData)).toBe(true)
        expect(q.keyData.equals(r.keyData)).toBe(true)
        expect(q).toEqual({
          keyData: r.keyData,
          fingerprint: { rawId: r.fingerprint.rawId, currentIndex: r.fingerprint.currentIndex, deviceIndexes: [...r.fingerprint.deviceIndexes] },
          timestamp: expect.objectContaining({ low: r.timestamp.low, high: r.timestamp.high }),
        })
        expect(dump(proto.Message.AppStateSyncKeyData.fromObject(q))).toBe(dump(r))
      }
    })

    test('a get issued after an un-awaited set (or delete) sees it, as with Baileys\' helper', async () => {
      const { dB, db, b, o } = await openBoth('order')
      const run = async (x) => {
        const { keys } = x.state
        const seen = []
        const k1 = baileys.Curve.generateKeyPair()
        const k2 = baileys.Curve.generateKeyPair()
        const writes = [keys.set({ 'pre-key': { 1: k1 }, session: { s: rb(20) } })]
        seen.push(await keys.get('pre-key', ['1', '2']))
        writes.push(keys.set({ 'pre-key': { 1: k2, 2: k1 } }))
        writes.push(keys.set({ 'pre-key': { 2: null }, session: { s: Buffer.from('second') } }))
        const reads = [keys.get('pre-key', ['1', '2']), keys.get('session', ['s'])]
        writes.push(keys.set({ session: { s: 0 } }))
        reads.push(keys.get('session', ['s']))
        seen.push(...(await Promise.all(reads)))
        await Promise.all(writes)
        return { seen: seen.map((r) => dumpReads({ r })), k1, k2 }
      }
      const rO = await run(o)
      const rB = await run(b)
      // same sequence, same answers (the key pairs differ: compare with each side's own)
      const expected = (k1, k2) => [
        dumpReads({ r: { 1: k1, 2: null } }),
        dumpReads({ r: { 1: k2, 2: null } }),
        dumpReads({ r: { s: Buffer.from('second') } }),
        dumpReads({ r: { s: null } }),
      ]
      expect(rO.seen).toEqual(expected(rO.k1, rO.k2))
      expect(rB.seen).toEqual(expected(rB.k1, rB.k2))
      expect((await store.keyRows(db)).map((r) => [r.type, r.id])).toEqual([['pre-key', '1']])
      expect(jsonFiles(dB)).toEqual(['pre-key-1.json'])
    })

    test("through Baileys' own makeCacheableSignalKeyStore and addTransactionCapability: same reads, rows are Baileys' files", async () => {
      const { logger } = T.recordingLogger()
      const pk = {}
      for (let i = 1; i <= 30; i++) pk[i] = baileys.Curve.generateKeyPair()
      const session = { '5511987654321.0': rb(200), '123456789012345_1.3': rb(150) }
      const memory = { '120363025246125486@g.us': { '5511987654321:12@s.whatsapp.net': true } }
      const appKey = appStateKey(77)
      const run = async (state) => {
        const reads = []
        const keys = baileys.addTransactionCapability(baileys.makeCacheableSignalKeyStore(state.keys, logger), logger, {
          maxCommitRetries: 3,
          delayBetweenTriesMs: 5,
        })
        await keys.transaction(async () => {
          await keys.set({ 'pre-key': pk, session, 'sender-key-memory': memory, 'app-state-sync-key': { 'AAAAAFbC/w==': appKey } })
          reads.push(await keys.get('pre-key', ['3', '31']))
        }, 'tx-1')
        reads.push(await keys.get('session', Object.keys(session)))
        reads.push(await keys.get('app-state-sync-key', ['AAAAAFbC/w==']))
        await keys.transaction(async () => {
          await keys.set({ 'pre-key': { 3: null, 4: null }, session: { '5511987654321.0': null } })
        }, 'tx-2')
        reads.push(await keys.get('pre-key', ['3', '5']))
        reads.push(await state.keys.get('session', Object.keys(session)))
        return reads.map((r) => dumpReads({ r }))
      }
      const root = tmpDir('tx')
      const dB = path.join(root, 'baileys')
      const db = store.place(root, 'auth')
      const readsB = await run((await baileys.useMultiFileAuthState(dB)).state)
      const readsO = await run((await open(db, { proto })).state)
      expect(readsO).toEqual(readsB)
      const rows = await expectRowsAreFiles(db, dB)
      expect(rows.map((r) => `${r.type}/${r.id}`)).toEqual(expect.arrayContaining(['pre-key/30', 'app-state-sync-key/AAAAAFbC/w==']))
    })

    test('get/set work detached from their object; saveCreds ignores its argument (ev.on("creds.update", saveCreds))', async () => {
      const { dB, db, b, o } = await openBoth('detached')
      Object.assign(o.state.creds, b.state.creds)
      const update = { me: { id: '5511987654321:12@s.whatsapp.net', name: 'x' } }
      for (const x of [b, o]) {
        const { get, set } = x.state.keys
        const { saveCreds } = x
        await set.call(undefined, { 'identity-key': { '5511987654321.0': Buffer.from([5, 1, 2]) } })
        expect(Buffer.isBuffer((await get.call(null, 'identity-key', ['5511987654321.0']))['5511987654321.0'])).toBe(true)
        Object.assign(x.state.creds, update)
        await saveCreds.call(null, { something: 'else' })
      }
      await expectRowsAreFiles(db, dB)
      expect((await store.credsBytes(db)).toString('latin1')).toBe(fs.readFileSync(path.join(dB, 'creds.json')).toString('latin1'))
    })

    test('numbers as ids: get("pre-key", [7]) reads the row with id "7"', async () => {
      const { dB, db, b, o } = await openBoth('num')
      const kp = baileys.Curve.generateKeyPair()
      await b.state.keys.set({ 'pre-key': { 7: kp } })
      await o.state.keys.set({ 'pre-key': { 7: kp } })
      await expectRowsAreFiles(db, dB)
      expect((await store.keyRows(db)).map((r) => [r.type, r.id])).toEqual([['pre-key', '7']])
      const rb7 = await b.state.keys.get('pre-key', [7, 8])
      const ro7 = await o.state.keys.get('pre-key', [7, 8])
      expect(Object.keys(ro7).sort()).toEqual(['7', '8'])
      expect(dump(ro7[7])).toBe(dump(rb7[7]))
      expect(ro7[8]).toBeNull()
      expect(ro7[7]).toEqual(kp)
    })

    test('falsy values delete (null, undefined, 0, "", false, NaN); deleting missing keys is fine', async () => {
      const { dB, db, b, o } = await openBoth('del')
      const data = makeKeyData()
      await b.state.keys.set(data)
      await o.state.keys.set(data)
      const del = {
        'pre-key': { 1: null, 2: undefined, 3: 0, 7: '', 100: false },
        session: { '5511987654321.0': NaN, 'weird/slash/id': null, 'never:existed': 0 },
        'sender-key': { '123-456@g.us::789::0': false },
        'app-state-sync-key': { 'AAAAAFbC/w==': '' },
        'lid-mapping': { '987654321012345_reverse': undefined },
        'brand-new-type': { a: null, 'b/c': 0, 'd::e': false },
      }
      expect(await b.state.keys.set(del)).toBeUndefined()
      expect(await o.state.keys.set(del)).toBeUndefined()
      const rows = await expectRowsAreFiles(db, dB)
      const left = new Set(rows.map((r) => `${r.type}/${r.id}`))
      for (const [t, ids] of Object.entries(del)) for (const id of Object.keys(ids)) expect(left.has(`${t}/${id}`)).toBe(false)
      expect(left.has('session/5511987654321.12')).toBe(true)
      expect(rows).toHaveLength(pairsOf(data).length - 10) // the ten keys of `del` that existed
      const r = await o.state.keys.get('pre-key', [1, 2, 3, 7, 100])
      for (const id of ['1', '2', '3', '7', '100']) expect(r[id]).toBeNull()
      // a second round of the same deletes: nothing left to delete, still resolves
      await expect(o.state.keys.set(del)).resolves.toBeUndefined()
      await expect(b.state.keys.set(del)).resolves.toBeUndefined()
      await expectRowsAreFiles(db, dB)
    })

    test('unusual names: stored exactly as given (no fixFileName); reads equal Baileys\' reads', async () => {
      const { dB, db, b, o } = await openBoth('names')
      const data = {
        'identity-key': { 'a\ud800b': pub33(), 'c\udc00': pub33(), 'é/ü:x': pub33(), '': pub33(), '../../up': pub33(), 'nul\u0000id': pub33() },
        'ty:pe/x': { i: { z: 1 } },
      }
      await b.state.keys.set({ ...data, 'identity-key': { ...data['identity-key'], 'nul\u0000id': undefined } }) // Node refuses NUL in a path
      let stored = data
      if (!store.holdsNul) {
        // a store whose text cannot hold U+0000 refuses the whole call, writing nothing …
        expect(await rejectionOf(o.state.keys.set(data))).not.toBeNull()
        expect(await store.keyRows(db)).toEqual([])
        // … and takes the rest
        const { 'nul\u0000id': _nul, ...rest } = data['identity-key']
        stored = { ...data, 'identity-key': rest }
      }
      await o.state.keys.set(stored)
      const rows = await store.keyRows(db)
      // lone surrogates become U+FFFD in TEXT, as they do in Baileys' file names
      expect(rows.map((r) => [r.type, r.id])).toEqual(pairsOf(stored))
      expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(['a\ufffdb', 'c\ufffd', 'é/ü:x', '', '../../up', 'i', ...(store.holdsNul ? ['nul\u0000id'] : [])]))
      expect(rows.find((r) => r.type === 'ty:pe/x').value.toString()).toBe('{"z":1}')
      for (const r of rows) if (r.id !== 'nul\u0000id') expect(r.value.equals(fs.readFileSync(path.join(dB, T.fileOf(r.type, r.id))))).toBe(true)
      // two lone surrogates are the same U+FFFD in both stores
      const ids = ['a\ud800b', 'a\udbffb', 'c\udc00', 'é/ü:x', '', '../../up', 'nope']
      const rB = await b.state.keys.get('identity-key', ids)
      const rO = await o.state.keys.get('identity-key', ids)
      expect(dumpReads({ k: rO })).toEqual(dumpReads({ k: rB }))
      expect(Object.keys(rO).sort()).toEqual([...ids].sort())
      expect(dump(await o.state.keys.get('ty:pe/x', ['i']))).toBe(dump(await b.state.keys.get('ty:pe/x', ['i'])))
      if (store.holdsNul) expect(Buffer.isBuffer((await o.state.keys.get('identity-key', ['nul\u0000id']))['nul\u0000id'])).toBe(true)
    })
  })

  describe(`values in the older forms Baileys ${line} reads (flavor ${line})`, () => {
    test('ours reads them from rows to the values Baileys reads from files; unreadable ones as null, with a warning, kept aside', async () => {
      const root = tmpDir('legacy')
      const folder = path.join(root, 'folder')
      const db = store.place(root, 'auth')
      fs.mkdirSync(folder)
      const { files } = legacy
      for (const [id, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, `pre-key-${id}.json`), text)
      await store.writeRows(db, { rows: Object.entries(files).map(([id, text]) => ['pre-key', id, text]) })
      const ids = Object.keys(files)
      const ref = await (await baileys.useMultiFileAuthState(folder)).state.keys.get('pre-key', ids)
      const { logger, warnings } = T.recordingLogger()
      // (the options in the config object, the other way to pass them)
      const o = await track(store.openWithConfig)(ours, db, { flavor: line, logger })
      const mine = await o.state.keys.get('pre-key', ids)
      for (const id of ids) expect(`${id}: ${dump(mine[id])}`).toBe(`${id}: ${dump(ref[id])}`)
      expect(Buffer.isBuffer(mine[1].private)).toBe(true)
      legacy.check(mine)
      expect(mine[6]).toBeNull()
      expect(warnings.length).toBeGreaterThanOrEqual(legacy.minWarnings)
      await o.close() // waits for the quarantine writes
      // JSON that parses stays in its row, even where this line cannot revive
      // it; text that is not JSON is moved to our quarantine table, bytes kept
      const left = await store.keyRows(db)
      expect(left.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5'])
      for (const r of left) expect(r.value.toString('utf8')).toBe(files[r.id])
      const aside = await store.quarantineRows(db)
      expect(aside.map((r) => [r.type, r.id, r.value.toString('utf8')])).toEqual([
        ['pre-key', '6', files[6]],
        ['pre-key', '7', files[7]],
      ])
      await store.check(db)
    })
  })
}

// Each line's options are the folder suites' (parity-cases.js), re-exported here.
module.exports = { defineSqliteParityTests, sqliteStore, lineOptions }
