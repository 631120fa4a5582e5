'use strict'
// The parity cases both Baileys lines share (`__test__/parity-v6.test.js`,
// CommonJS, and `__test__/parity-v7.test.mjs`, ESM): the same operations
// through Baileys' own `useMultiFileAuthState` and ours, on two temporary
// folders, must leave the same `*.json` files byte for byte, and each
// implementation must read the other's folder to equal values. No mocks: the
// real Baileys package does the reference side.
//
// This module loads neither Baileys nor this package: each suite loads them
// its own way (`require` / `import`) and hands them to `defineParityTests`,
// with what differs between the lines (the key data forms each line stores,
// the checks only one line makes, the older file forms it reads).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')

// ---------------------------------------------------------------- helpers

const rb = (n) => crypto.randomBytes(n)
const pub33 = () => Buffer.concat([Buffer.from([5]), rb(32)])

/** The class name of an object, `''` for plain objects of any realm. */
function className(v) {
  const p = Object.getPrototypeOf(v)
  if (p === null) return 'null-proto'
  const name = p.constructor && p.constructor.name
  return name === 'Object' ? '' : String(name)
}

/**
 * A canonical dump that keeps key order and tells apart Buffers, other typed
 * arrays, arrays, class instances, -0, NaN and undefined. Realm-independent.
 */
function dump(v) {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'undefined':
      return 'undefined'
    case 'number':
      return Object.is(v, -0) ? 'n:-0' : `n:${v}`
    case 'string':
      return `s:${JSON.stringify(v)}`
    case 'boolean':
      return `b:${v}`
    case 'bigint':
      return `big:${v}`
    case 'function':
      return 'function'
    case 'symbol':
      return 'symbol'
  }
  if (Buffer.isBuffer(v)) return `Buffer<${v.toString('hex')}>`
  if (ArrayBuffer.isView(v)) {
    return `${Object.prototype.toString.call(v)}<${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}>`
  }
  if (Array.isArray(v)) return `[${v.map(dump).join(',')}]`
  return `${className(v)}{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${dump(v[k])}`)
    .join(',')}}`
}

function jsonFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
}

/** Same `*.json` names, same bytes in every one. */
function expectSameFolders(ref, mine) {
  const names = jsonFiles(ref)
  expect(jsonFiles(mine)).toEqual(names)
  for (const f of names) {
    const a = fs.readFileSync(path.join(ref, f))
    const b = fs.readFileSync(path.join(mine, f))
    if (!a.equals(b)) {
      // latin1 is byte-faithful and gives a readable diff
      expect({ file: f, bytes: b.toString('latin1') }).toEqual({ file: f, bytes: a.toString('latin1') })
    }
  }
  return names
}

/** `get` every id of every type of `data` (plus `missing` ids), checking the id set. */
async function readAll(keys, data, missing = []) {
  const out = {}
  for (const type of Object.keys(data)) {
    const ids = [...Object.keys(data[type]), ...missing]
    const r = await keys.get(type, ids)
    expect(Object.keys(r).sort()).toEqual([...new Set(ids.map(String))].sort())
    out[type] = r
  }
  return out
}

/** One line per `type/id`, sorted, so that I/O completion order does not matter. */
function dumpReads(reads, skipTypes = []) {
  const lines = []
  for (const type of Object.keys(reads).sort()) {
    if (skipTypes.includes(type)) continue
    for (const id of Object.keys(reads[type]).sort()) lines.push(`${type}/${id} = ${dump(reads[type][id])}`)
  }
  return lines
}

/** Shape of a parsed-without-reviver creds file: key order, types, byte lengths. */
function shape(v) {
  if (v === null) return null
  if (Array.isArray(v)) return v.map(shape)
  if (typeof v === 'object') {
    if (v.type === 'Buffer' && typeof v.data === 'string') return `Buffer[${Buffer.from(v.data, 'base64').length}]`
    const o = {}
    for (const k of Object.keys(v)) o[k] = shape(v[k])
    return o
  }
  return typeof v
}

/** Settles to the rejection of `promise`, or to null when it resolves. */
const rejectionOf = (promise) =>
  promise.then(
    () => null,
    (e) => e,
  )

// ---------------------------------------------------------------- fixtures

const SESSION_IDS = [
  '5511987654321.0',
  '5511987654321.12',
  '123456789012345_1.0',
  '5511987654321:12@s.whatsapp.net',
  'weird/slash/id',
]

/** libsignal SessionRecord (older fork): JSON-ish with nested Buffers. */
function sessionWithBuffers() {
  const baseKey = pub33()
  const chainId = pub33().toString('base64')
  return {
    _sessions: {
      [baseKey.toString('base64')]: {
        registrationId: 12345,
        currentRatchet: {
          ephemeralKeyPair: { pubKey: pub33(), privKey: rb(32) },
          lastRemoteEphemeralKey: pub33(),
          previousCounter: 0,
          rootKey: rb(32),
        },
        indexInfo: {
          baseKey,
          baseKeyType: 1,
          closed: -1,
          used: 1732000000123,
          created: 1732000000000,
          remoteIdentityKey: pub33(),
        },
        _chains: {
          [chainId]: {
            chainKey: { counter: 3, key: rb(32) },
            chainType: 2,
            messageKeys: { 1: rb(32), 2: rb(32) },
          },
        },
        pendingPreKey: { signedKeyId: 1, baseKey: pub33(), preKeyId: 42 },
      },
    },
    version: 'v1',
  }
}

/** libsignal 6 SessionRecord#serialize(): base64 strings throughout. */
function sessionSerialized() {
  const s = sessionWithBuffers()
  return JSON.parse(JSON.stringify(s, (k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('base64') : v)))
}

/** Sender key states, as libsignal's SenderKeyRecord#serialize() (states array with Buffers). */
function senderKeyStates() {
  return [
    {
      senderKeyId: 1234567,
      senderChainKey: { iteration: 7, seed: rb(32) },
      senderSigningKey: { public: pub33(), private: rb(32) },
      senderMessageKeys: [{ iteration: 5, seed: rb(32) }],
    },
  ]
}

function ltHash(version) {
  const indexValueMap = {}
  for (let i = 0; i < 4; i++) indexValueMap[rb(32).toString('base64')] = { valueMac: rb(32) }
  return { version, hash: rb(128), indexValueMap }
}

const APP_STATE_IDS = ['AAAAAFbC', 'AAAAAFbC/w==', 'ab/cd+ef/gh=', 'ZmluZ2VycHJpbnQ=']

const MISSING = ['does-not-exist', 'x/y:z::w', 424242]

function pairedCreds() {
  return {
    me: {
      id: '5511987654321:12@s.whatsapp.net',
      lid: '123456789012345:12@lid',
      name: 'Zoë 🚀 "quoted" \\ slash/ \u2028 tab\t',
    },
    account: {
      details: rb(90),
      accountSignatureKey: rb(32),
      accountSignature: rb(64),
      deviceSignature: rb(64),
    },
    signalIdentities: [
      {
        identifier: { name: '5511987654321:12@s.whatsapp.net', deviceId: 0 },
        identifierKey: pub33(),
      },
      {
        identifier: { name: '123456789012345:12@lid', deviceId: 0 },
        identifierKey: pub33(),
      },
    ],
    processedHistoryMessages: [
      {
        key: { remoteJid: '5511987654321@s.whatsapp.net', fromMe: true, id: '3EB0C431D0E1A2B3C4D5' },
        messageTimestamp: 1732000000,
      },
    ],
    platform: 'smba',
    routingInfo: rb(12),
    lastAccountSyncTimestamp: 1732000123,
    myAppStateKeyId: 'AAAAAFbC',
    registered: true,
    nextPreKeyId: 31,
    firstUnuploadedPreKeyId: 31,
    accountSyncCounter: 1,
    accountSettings: { unarchiveChats: true },
    lastPropHash: '3R6uJk',
  }
}

// ---------------------------------------------------------------- tests

/**
 * The values the parity cases store, for one Baileys line (the SQLite parity
 * suites use them too): `roundTrip(v)` (a value after a trip through a file
 * of that line), `appStateKey(rawId)` (a real `AppStateSyncKeyData`) and
 * `makeKeyData()` (all ten key types, in the forms of `keyData`; see
 * `defineParityTests`).
 */
function makeParityFixtures({ baileys, keyData }) {
  const { proto } = baileys

  /** Creds as they are after a trip through the file (undefined keys dropped, Buffers kept). */
  function roundTrip(v) {
    return JSON.parse(JSON.stringify(v, baileys.BufferJSON.replacer), baileys.BufferJSON.reviver)
  }

  function appStateKey(rawId) {
    return proto.Message.AppStateSyncKeyData.fromObject({
      keyData: rb(32),
      fingerprint: { rawId, currentIndex: rawId % 7, deviceIndexes: [0, 1] },
      timestamp: Date.now(),
    })
  }

  function makeKeyData() {
    const preKey = {}
    for (const id of [1, 2, 3, 7, 100]) preKey[id] = baileys.Curve.generateKeyPair()
    const session = {}
    const forms = keyData.sessionForms
    SESSION_IDS.forEach((id, i) => (session[id] = forms[i % forms.length]()))
    return {
      'pre-key': preKey,
      session,
      'sender-key': {
        '123-456@g.us::789::0': keyData.senderKey(),
        '120363025246125486@g.us::5511987654321::12': keyData.senderKey(),
        '120363025246125486@g.us::123456789012345_1::0': keyData.olderSenderKey(),
      },
      'sender-key-memory': {
        '120363025246125486@g.us': { '5511987654321:12@s.whatsapp.net': true, '5511900000000@s.whatsapp.net': true },
        '123-456@g.us': { '123456789012345:3@lid': true },
      },
      'app-state-sync-key': Object.fromEntries(APP_STATE_IDS.map((id, i) => [id, appStateKey(1000 + i)])),
      'app-state-sync-version': {
        regular: ltHash(12),
        regular_high: ltHash(3),
        regular_low: ltHash(40),
        critical_block: ltHash(1),
        critical_unblock_low: ltHash(2),
      },
      'lid-mapping': {
        1234567890: '987654321012345',
        '987654321012345_reverse': '1234567890',
        5511987654321: '123456789012345',
        '123456789012345_reverse': '5511987654321',
      },
      'device-list': {
        5511987654321: ['0', '12', '23'],
        123456789012345: ['0'],
      },
      tctoken: {
        '5511987654321@s.whatsapp.net': { token: rb(40), timestamp: '1732000123' },
        '123456789012345@lid': { token: rb(24), timestamp: '123' },
        __index: { token: Buffer.from(JSON.stringify(['123456789012345@lid'])) },
      },
      'identity-key': {
        '5511987654321.0': pub33(),
        '123456789012345_1.12': pub33(),
        '5511987654321:12@s.whatsapp.net': pub33(),
        ...keyData.extraIdentityKeys(),
        // a Uint8Array that is not a Buffer: stored and read back as a Buffer
        '5511900000000.3': new Uint8Array(pub33()),
      },
    }
  }

  return { roundTrip, appStateKey, makeKeyData }
}

/**
 * Registers the parity cases of one Baileys line.
 *
 * - `line`: `'v6'` or `'v7'`.
 * - `baileys`: that line's module namespace (the reference side).
 * - `ours`: this package's exports (the older-forms case opens with it).
 * - `flavors`: the `describe.each` table, rows `[label, options, lib]`: the
 *   cases open ours as `lib.useMultiFileAuthState(dir, options)`.
 * - `credKeysMatch(options)`: whether fresh creds of ours have Baileys' keys, in
 *   Baileys' order, with those options.
 * - `keyData`: the forms this line stores: `sessionForms` (functions, used in
 *   turn over the session ids), `senderKey` and `olderSenderKey` (functions),
 *   `extraIdentityKeys()` (more `identity-key` entries).
 * - `checkSessionReads(reads, data)`: this line's checks of the sessions and
 *   sender keys that ours read back from Baileys' folder.
 * - `legacy`: the older file forms this line reads: `files` (pre-key id →
 *   text), `check(mine)` (this line's checks of what ours read) and
 *   `minWarnings`.
 */
function defineParityTests({ line, baileys, ours, flavors, credKeysMatch, keyData, checkSessionReads, legacy }) {
  const { proto } = baileys

  const roots = []
  function tmpDir(tag) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-parity-${line}-${tag}-`))
    roots.push(d)
    return d
  }
  afterAll(() => {
    for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
  })

  const { roundTrip, appStateKey, makeKeyData } = makeParityFixtures({ baileys, keyData })

  describe.each(flavors)(`parity with Baileys ${line} (%s)`, (_label, opts, lib) => {
    const open = (dir, extra) => lib.useMultiFileAuthState(dir, opts || extra ? { ...opts, ...extra } : undefined)
    /** Two new folders `<tag>-b` / `<tag>-o`, opened by Baileys' helper and by ours. */
    async function openBoth(tag) {
      const dB = tmpDir(`${tag}-b`)
      const dO = tmpDir(`${tag}-o`)
      const b = await baileys.useMultiFileAuthState(dB)
      const o = await open(dO)
      return { dB, dO, b, o }
    }
    /** Opens `folder` with Baileys' helper and with ours: both must reject. */
    async function bothReject(folder) {
      const eb = await rejectionOf(baileys.useMultiFileAuthState(folder))
      const eo = await rejectionOf(open(folder))
      expect(eb).not.toBeNull()
      expect(eo).not.toBeNull()
      return { eb, eo }
    }
    /** A regular file holding `x`, in a new temporary folder. */
    function plainFile(tag, name) {
      const file = path.join(tmpDir(tag), name)
      fs.writeFileSync(file, 'x')
      return file
    }

    test('fresh creds: nothing on disk until saveCreds, then the same file shape', async () => {
      const { dB, dO, b, o } = await openBoth('fresh')
      expect(jsonFiles(dB)).toEqual([])
      expect(jsonFiles(dO)).toEqual([])
      if (credKeysMatch(opts)) expect(Object.keys(o.state.creds)).toEqual(Object.keys(b.state.creds))

      expect(await b.saveCreds()).toBeUndefined()
      expect(await o.saveCreds()).toBeUndefined()
      expect(jsonFiles(dO)).toEqual(['creds.json'])
      expect(jsonFiles(dB)).toEqual(['creds.json'])

      const fb = JSON.parse(fs.readFileSync(path.join(dB, 'creds.json'), 'utf8'))
      const fo = JSON.parse(fs.readFileSync(path.join(dO, 'creds.json'), 'utf8'))
      expect(shape(fo)).toEqual(shape(fb))
      expect(Object.keys(fo)).toEqual(Object.keys(fb))
      expect(Buffer.from(fo.advSecretKey, 'base64')).toHaveLength(32)
      for (const k of ['processedHistoryMessages', 'nextPreKeyId', 'firstUnuploadedPreKeyId', 'accountSyncCounter', 'accountSettings', 'registered'])
        expect(fo[k]).toEqual(fb[k])
      expect(fo.signedPreKey.keyId).toBe(1)

      // each reads the other's folder to equal values
      const bReadsO = (await baileys.useMultiFileAuthState(dO)).state.creds
      const oReadsO = (await open(dO)).state.creds
      const oReadsB = (await open(dB)).state.creds
      const bReadsB = (await baileys.useMultiFileAuthState(dB)).state.creds
      expect(dump(oReadsO)).toBe(dump(bReadsO))
      expect(dump(oReadsB)).toBe(dump(bReadsB))
      expect(dump(bReadsO)).toBe(dump(roundTrip(o.state.creds)))
      expect(Buffer.isBuffer(oReadsB.noiseKey.private)).toBe(true)
      expect(Buffer.isBuffer(oReadsB.signedPreKey.signature)).toBe(true)
      expect(oReadsB).toEqual(bReadsB)
    })

    test('paired creds mutated in place with Object.assign: identical bytes, cross-readable', async () => {
      const { dB, dO, b, o } = await openBoth('paired')
      const credsRef = o.state.creds

      // same contents on both sides, then saveCreds
      Object.assign(o.state.creds, b.state.creds)
      await Promise.all([b.saveCreds(), o.saveCreds()])
      expectSameFolders(dB, dO)

      const paired = pairedCreds()
      Object.assign(b.state.creds, paired)
      Object.assign(o.state.creds, paired)
      await Promise.all([b.saveCreds(), o.saveCreds()])
      expect(o.state.creds).toBe(credsRef)
      expectSameFolders(dB, dO)

      // a later in-place mutation of the very same object is what the next save writes
      Object.assign(o.state.creds, { nextPreKeyId: 61, firstUnuploadedPreKeyId: 61, lastAccountSyncTimestamp: 1732999999 })
      Object.assign(b.state.creds, { nextPreKeyId: 61, firstUnuploadedPreKeyId: 61, lastAccountSyncTimestamp: 1732999999 })
      o.state.creds.me.name = 'renamed'
      b.state.creds.me.name = 'renamed'
      await o.saveCreds()
      await b.saveCreds()
      expect(o.state.creds).toBe(credsRef)
      expectSameFolders(dB, dO)
      const onDisk = JSON.parse(fs.readFileSync(path.join(dO, 'creds.json'), 'utf8'))
      expect(onDisk.nextPreKeyId).toBe(61)
      expect(onDisk.me.name).toBe('renamed')
      expect(onDisk.lastAccountSyncTimestamp).toBe(1732999999)

      const bReadsO = (await baileys.useMultiFileAuthState(dO)).state.creds
      const oReadsB = (await open(dB)).state.creds
      const bReadsB = (await baileys.useMultiFileAuthState(dB)).state.creds
      const oReadsO = (await open(dO)).state.creds
      expect(dump(oReadsB)).toBe(dump(bReadsB))
      expect(dump(oReadsO)).toBe(dump(bReadsO))
      expect(dump(oReadsB)).toBe(dump(roundTrip(b.state.creds)))
      for (const c of [oReadsB, oReadsO]) {
        expect(Buffer.isBuffer(c.account.details)).toBe(true)
        expect(Buffer.isBuffer(c.account.accountSignatureKey)).toBe(true)
        expect(Buffer.isBuffer(c.account.accountSignature)).toBe(true)
        expect(Buffer.isBuffer(c.account.deviceSignature)).toBe(true)
        expect(Buffer.isBuffer(c.signalIdentities[1].identifierKey)).toBe(true)
        expect(Buffer.isBuffer(c.routingInfo)).toBe(true)
        expect(c.me).toEqual({ ...paired.me, name: 'renamed' })
        expect(c.processedHistoryMessages).toEqual(paired.processedHistoryMessages)
        expect(c.signalIdentities[0].identifier).toEqual(paired.signalIdentities[0].identifier)
        expect(c.platform).toBe('smba')
      }
    })

    test('creds holding a real proto.ADVSignedDeviceIdentity (toJSON path): identical bytes', async () => {
      const { dB, dO, b, o } = await openBoth('adv')
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
      expectSameFolders(dB, dO)
      const oReadsB = (await open(dB)).state.creds
      const bReadsO = (await baileys.useMultiFileAuthState(dO)).state.creds
      expect(dump(oReadsB)).toBe(dump(bReadsO))
    })

    test('all ten key types: same files, same bytes, each reads the other', async () => {
      const { dB, dO, b, o } = await openBoth('keys')
      const data = makeKeyData()
      expect(await b.state.keys.set(data)).toBeUndefined()
      expect(await o.state.keys.set(data)).toBeUndefined()
      const names = expectSameFolders(dB, dO)
      expect(names.length).toBe(Object.values(data).reduce((n, t) => n + Object.keys(t).length, 0))
      // file naming: `/` → `__`, `:` → `-`
      expect(names).toEqual(
        expect.arrayContaining([
          'pre-key-7.json',
          'session-weird__slash__id.json',
          'session-5511987654321-12@s.whatsapp.net.json',
          'sender-key-123-456@g.us--789--0.json',
          'app-state-sync-key-AAAAAFbC__w==.json',
          'app-state-sync-key-ab__cd+ef__gh=.json',
          'lid-mapping-987654321012345_reverse.json',
          'tctoken-__index.json',
          'identity-key-123456789012345_1.12.json',
        ]),
      )

      const withProto = await open(dO, { proto })
      const withProtoOnB = await open(dB, { proto })
      const bOwn = await readAll(b.state.keys, data, MISSING)
      const bOther = await readAll((await baileys.useMultiFileAuthState(dO)).state.keys, data, MISSING)
      const oOwn = await readAll(withProto.state.keys, data, MISSING)
      const oOther = await readAll(withProtoOnB.state.keys, data, MISSING)
      const expected = dumpReads(bOwn)
      expect(dumpReads(bOther)).toEqual(expected)
      expect(dumpReads(oOwn)).toEqual(expected)
      expect(dumpReads(oOther)).toEqual(expected)
      // without `proto`, every other type reads the same
      const plain = await readAll(o.state.keys, data, MISSING)
      expect(dumpReads(plain, ['app-state-sync-key'])).toEqual(dumpReads(bOwn, ['app-state-sync-key']))

      // missing ids are null; Buffers stay Buffers
      for (const t of Object.keys(data)) for (const id of MISSING) expect(oOther[t][id]).toBeNull()
      expect(Buffer.isBuffer(oOther['pre-key'][7].public)).toBe(true)
      expect(Buffer.isBuffer(oOther['identity-key']['5511987654321.0'])).toBe(true)
      expect(Buffer.isBuffer(oOther['app-state-sync-version'].regular.hash)).toBe(true)
      expect(oOther['app-state-sync-version'].regular.hash).toHaveLength(128)
      expect(Buffer.isBuffer(oOther.tctoken['5511987654321@s.whatsapp.net'].token)).toBe(true)
      expect(oOther.tctoken['5511987654321@s.whatsapp.net'].timestamp).toBe('1732000123')
      checkSessionReads(oOther, data)
      expect(oOther['device-list'][5511987654321]).toEqual(['0', '12', '23'])
      expect(oOther['lid-mapping']['1234567890']).toBe('987654321012345')
      expect(oOther['sender-key-memory']['123-456@g.us']).toEqual({ '123456789012345:3@lid': true })
      expect(oOther['pre-key'][7]).toEqual(bOwn['pre-key'][7])
    })

    test('app-state-sync-key: with proto a true AppStateSyncKeyData, without it an equal plain object', async () => {
      const { dB, dO, b, o } = await openBoth('ask')
      const ids = APP_STATE_IDS
      const data = { 'app-state-sync-key': Object.fromEntries(ids.map((id, i) => [id, appStateKey(i + 1)])) }
      await b.state.keys.set(data)
      await o.state.keys.set(data)
      expectSameFolders(dB, dO)
      const text = fs.readFileSync(path.join(dO, 'app-state-sync-key-AAAAAFbC__w==.json'), 'utf8')
      expect(JSON.parse(text)).toEqual(data['app-state-sync-key']['AAAAAFbC/w=='].toJSON())

      const ref = await b.state.keys.get('app-state-sync-key', ids)
      const viaProto = await (await open(dB, { proto })).state.keys.get('app-state-sync-key', ids)
      const viaPlain = await (await open(dB)).state.keys.get('app-state-sync-key', ids)
      for (const id of ids) {
        const r = ref[id]
        expect(r).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
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
          fingerprint: {
            rawId: r.fingerprint.rawId,
            currentIndex: r.fingerprint.currentIndex,
            deviceIndexes: [...r.fingerprint.deviceIndexes],
          },
          timestamp: expect.objectContaining({ low: r.timestamp.low, high: r.timestamp.high }),
        })
        // the plain object goes back through fromObject to the same message
        expect(dump(proto.Message.AppStateSyncKeyData.fromObject(q))).toBe(dump(r))
      }
    })

    test("through Baileys' own makeCacheableSignalKeyStore and addTransactionCapability: same files, same reads", async () => {
      const warnings = []
      const logger = {
        level: 'silent',
        trace() {},
        debug() {},
        info() {},
        warn: (...a) => warnings.push(a),
        error: (...a) => warnings.push(a),
        fatal() {},
        child: () => logger,
      }
      const pk = {}
      for (let i = 1; i <= 30; i++) pk[i] = baileys.Curve.generateKeyPair()
      const session = { '5511987654321.0': rb(200), '123456789012345_1.3': rb(150) }
      const memory = { '120363025246125486@g.us': { '5511987654321:12@s.whatsapp.net': true } }
      const appKey = appStateKey(77)
      const run = async (dir, state) => {
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
      const dB = tmpDir('tx-b')
      const dO = tmpDir('tx-o')
      const readsB = await run(dB, (await baileys.useMultiFileAuthState(dB)).state)
      const readsO = await run(dO, (await open(dO, { proto })).state)
      expect(readsO).toEqual(readsB)
      const names = expectSameFolders(dB, dO)
      expect(names).toContain('pre-key-30.json')
      expect(names).toContain('app-state-sync-key-AAAAAFbC__w==.json')
    })

    test('get/set work detached from their object; saveCreds ignores its argument (ev.on("creds.update", saveCreds))', async () => {
      const { dB, dO, b, o } = await openBoth('detached')
      Object.assign(o.state.creds, b.state.creds)
      const update = { me: { id: '5511987654321:12@s.whatsapp.net', name: 'x' } }
      for (const x of [b, o]) {
        const { get, set } = x.state.keys
        const { saveCreds } = x
        await set.call(undefined, { 'identity-key': { '5511987654321.0': Buffer.from([5, 1, 2]) } })
        expect(Buffer.isBuffer((await get.call(null, 'identity-key', ['5511987654321.0']))['5511987654321.0'])).toBe(true)
        Object.assign(x.state.creds, update)
        await saveCreds.call(null, update)
      }
      expectSameFolders(dB, dO)
      expect(JSON.parse(fs.readFileSync(path.join(dO, 'creds.json'), 'utf8')).noiseKey).toBeDefined()
    })

    test('numbers as ids: get("pre-key", [7]) reads pre-key-7.json', async () => {
      const { dB, dO, b, o } = await openBoth('num')
      const kp = baileys.Curve.generateKeyPair()
      await b.state.keys.set({ 'pre-key': { 7: kp } })
      await o.state.keys.set({ 'pre-key': { 7: kp } })
      expectSameFolders(dB, dO)
      expect(jsonFiles(dO)).toEqual(['pre-key-7.json'])
      const rb7 = await b.state.keys.get('pre-key', [7, 8])
      const ro7 = await o.state.keys.get('pre-key', [7, 8])
      expect(Object.keys(ro7).sort()).toEqual(['7', '8'])
      expect(dump(ro7[7])).toBe(dump(rb7[7]))
      expect(ro7[8]).toBeNull()
      expect(ro7[7]).toEqual(kp)
    })

    test('falsy values delete (null, undefined, 0, "", false, NaN); deleting missing keys is fine', async () => {
      const { dB, dO, b, o } = await openBoth('del')
      const data = makeKeyData()
      await b.state.keys.set(data)
      await o.state.keys.set(data)
      const del = {
        'pre-key': { 1: null, 2: undefined, 3: 0, 7: '', 100: false, 555: NaN },
        session: { '5511987654321.0': NaN, 'weird/slash/id': null, 'never:existed': 0 },
        'sender-key': { '123-456@g.us::789::0': false },
        'app-state-sync-key': { 'AAAAAFbC/w==': '' },
        'lid-mapping': { '987654321012345_reverse': undefined },
        'brand-new-type': { a: null, 'b/c': 0, 'd::e': false },
      }
      expect(await b.state.keys.set(del)).toBeUndefined()
      expect(await o.state.keys.set(del)).toBeUndefined()
      const names = expectSameFolders(dB, dO)
      expect(names).not.toContain('pre-key-1.json')
      expect(names).not.toContain('session-weird__slash__id.json')
      expect(names).not.toContain('app-state-sync-key-AAAAAFbC__w==.json')
      expect(names).toContain('session-5511987654321.12.json')
      const r = await o.state.keys.get('pre-key', [1, 2, 3, 7, 100, 555])
      for (const id of ['1', '2', '3', '7', '100', '555']) expect(r[id]).toBeNull()
      // every falsy value of the call deleted its file, in both
      for (const [t, ids] of Object.entries(del)) for (const id of Object.keys(ids)) expect(names).not.toContain(`${t}-${id.replace(/\//g, '__').replace(/:/g, '-')}.json`)
      // a second round of the same deletes: nothing left to delete, still resolves
      await expect(o.state.keys.set(del)).resolves.toBeUndefined()
      await expect(b.state.keys.set(del)).resolves.toBeUndefined()
      expectSameFolders(dB, dO)
    })

    test('unusual names: lone surrogates, non-ASCII, `/` and `:` in the type too', async () => {
      const { dB, dO, b, o } = await openBoth('names')
      const data = {
        'identity-key': { 'a\ud800b': pub33(), 'c\udc00': pub33(), 'é/ü:x': pub33(), '': pub33(), '../../up': pub33() },
        'ty:pe/x': { i: { z: 1 } },
      }
      await b.state.keys.set(data)
      await o.state.keys.set(data)
      expectSameFolders(dB, dO)
      expect(jsonFiles(dO)).toContain('ty-pe__x-i.json')
      // two lone surrogates become the same U+FFFD in the file name, in both
      const ids = ['a\ud800b', 'a\udbffb', 'c\udc00', 'é/ü:x', '', '../../up', 'nope']
      const rb = await b.state.keys.get('identity-key', ids)
      const ro = await o.state.keys.get('identity-key', ids)
      expect(dumpReads({ k: ro })).toEqual(dumpReads({ k: rb }))
      expect(Object.keys(ro).sort()).toEqual([...ids].sort())
      expect(dump(await o.state.keys.get('ty:pe/x', ['i']))).toBe(dump(await b.state.keys.get('ty:pe/x', ['i'])))
    })

    test('a path that is not a directory: both reject with the same message', async () => {
      const file = plainFile('notdir', 'creds-folder')
      const { eb, eo } = await bothReject(file)
      expect(eo.message).toBe(eb.message)
      expect(eo.message).toBe(`found something that is not a directory at ${file}, either delete it or specify a different location`)
      expect(fs.readFileSync(file, 'utf8')).toBe('x')
    })

    const UNDER_FILE = [
      ['a file with a trailing slash', (file) => `${file}/`],
      ['a folder under a file', (file) => path.join(file, 'sub')],
    ]

    // A path under a regular file: `stat` fails with ENOTDIR. Baileys treats any
    // failed `stat` as "missing" and reports the error of its `mkdir`; both agree
    // on the error code and errno.
    //
    // Windows: our err.errno is minus the Win32 code and our err.message has
    // Windows' own wording, where Node gives libuv's numbers and words (a
    // known difference, see the README's Platforms): there only code and path
    // are compared.
    const WINDOWS = process.platform === 'win32'
    test.each(UNDER_FILE)(`%s: both reject with the same code, ${WINDOWS ? '' : 'errno '}and path`, async (_l, spell) => {
      const file = plainFile('under-file', 'plain-file')
      const { eb, eo } = await bothReject(spell(file))
      if (WINDOWS) expect({ code: eo.code, path: eo.path }).toEqual({ code: eb.code, path: eb.path })
      else expect({ code: eo.code, errno: eo.errno, path: eo.path }).toEqual({ code: eb.code, errno: eb.errno, path: eb.path })
      expect(fs.readFileSync(file, 'utf8')).toBe('x')
    })

    // A failed stat goes on to `mkdir -p`, whose error is reported (as Baileys does).
    ;(WINDOWS ? test.skip.each(UNDER_FILE) : test.each(UNDER_FILE))('%s: both reject with the same message text and syscall', async (_l, spell) => {
      const file = plainFile('under-file-msg', 'plain-file')
      const { eb, eo } = await bothReject(spell(file))
      expect({ message: eo.message, syscall: eo.syscall }).toEqual({ message: eb.message, syscall: eb.syscall })
    })

    test('a missing nested folder: both create it, and write nothing before saveCreds', async () => {
      const d = tmpDir('nested')
      const fb = path.join(d, 'b', 'deeper', 'auth')
      const fo = path.join(d, 'o', 'deeper', 'auth')
      const b = await baileys.useMultiFileAuthState(fb)
      const o = await open(fo)
      expect(fs.statSync(fb).isDirectory()).toBe(true)
      expect(fs.statSync(fo).isDirectory()).toBe(true)
      expect(jsonFiles(fo)).toEqual([])
      Object.assign(o.state.creds, b.state.creds)
      await Promise.all([b.saveCreds(), o.saveCreds()])
      expectSameFolders(fb, fo)
    })
  })

  describe(`files in the older forms Baileys ${line} reads (flavor ${line})`, () => {
    test('ours reads them to the values Baileys reads, unreadable ones as null', async () => {
      const d = tmpDir('legacy')
      const { files } = legacy
      for (const [id, text] of Object.entries(files)) fs.writeFileSync(path.join(d, `pre-key-${id}.json`), text)
      const ids = Object.keys(files)
      const ref = await (await baileys.useMultiFileAuthState(d)).state.keys.get('pre-key', ids)
      const warnings = []
      const logger = { warn: (...a) => warnings.push(a) }
      const mine = await (await ours.useMultiFileAuthState(d, { flavor: line, logger })).state.keys.get('pre-key', ids)
      for (const id of ids) expect(`${id}: ${dump(mine[id])}`).toBe(`${id}: ${dump(ref[id])}`)
      expect(Buffer.isBuffer(mine[1].private)).toBe(true)
      legacy.check(mine)
      expect(mine[6]).toBeNull()
      // JSON that parses is left as it was, even where this line cannot revive
      // it; text that is not JSON is moved aside as `<name>.corrupt-<unix-ms>`
      // (README), bytes kept
      for (const id of ['1', '2', '3', '4', '5']) expect(fs.readFileSync(path.join(d, `pre-key-${id}.json`), 'utf8')).toBe(files[id])
      for (const id of ['6', '7']) {
        expect(fs.existsSync(path.join(d, `pre-key-${id}.json`))).toBe(false)
        const aside = fs.readdirSync(d).filter((f) => f.startsWith(`pre-key-${id}.json.corrupt-`))
        expect(aside).toHaveLength(1)
        expect(aside[0]).toMatch(/\.corrupt-\d+$/)
        expect(fs.readFileSync(path.join(d, aside[0]), 'utf8')).toBe(files[id])
      }
      expect(warnings.length).toBeGreaterThanOrEqual(legacy.minWarnings)
    })
  })
}

/**
 * What each Baileys line stores and reads, for every parity suite (folder,
 * SQLite, PostgreSQL): `{ credKeysMatch, keyData, checkSessionReads, legacy }`
 * for `defineParityTests` / `defineSqliteParityTests`.
 */
function lineOptions(line) {
  if (line === 'v6') {
    return {
      // fresh creds have v6's key set with flavor 'v6'
      credKeysMatch: (opts) => Boolean(opts && opts.flavor === 'v6'),
      keyData: {
        // libsignal SessionRecord objects: JSON-ish with nested Buffers, and serialize()'s base64 form
        sessionForms: [sessionWithBuffers, sessionSerialized],
        // sender key records as libsignal's SenderKeyRecord#serialize() (states array with Buffers)
        senderKey: senderKeyStates,
        olderSenderKey: senderKeyStates,
        extraIdentityKeys: () => ({}),
      },
      checkSessionReads(reads, data) {
        const id = Object.keys(data.session['5511987654321.0']._sessions)[0]
        expect(Buffer.isBuffer(reads.session['5511987654321.0']._sessions[id].currentRatchet.rootKey)).toBe(true)
      },
      legacy: {
        files: {
          1: '{"private":{"type":"Buffer","data":[1,2,3]},"public":{"buffer":true,"data":"AQID"}}',
          2: '{"public":{"buffer":true,"value":"AQID"},"private":{"type":"Buffer"}}',
          // parses, but v6 cannot revive it: left as it was
          3: '{"x":{"type":"Buffer","data":{"a":1}}}',
          4: '{"0":1,"1":2,"nested":{"0":3}}',
          5: '{"type":"Buffer","data":"-_8"}',
          6: '{"torn":',
          7: '',
        },
        check() {},
        minWarnings: 3,
      },
    }
  }
  return {
    // ours makes v7's key set both with flavor 'v7' and by default
    credKeysMatch: () => true,
    keyData: {
      sessionForms: [
        () => Buffer.from(JSON.stringify(sessionSerialized())), // raw bytes, as v7 stores a SessionRecord
        () => new Uint8Array(rb(180)), // a Uint8Array that is not a Buffer
        () => sessionSerialized(), // libsignal 6 SessionRecord#serialize()
        () => sessionWithBuffers(), // an older object form, JSON-ish with nested Buffers
        () => rb(300),
      ],
      // sender key record as v7 stores it: `Buffer.from(JSON.stringify(record.serialize()))`
      senderKey: () => Buffer.from(JSON.stringify(senderKeyStates())),
      olderSenderKey: senderKeyStates, // older object form
      extraIdentityKeys: () => ({ '123456789012345@lid': new Uint8Array(pub33()) }),
    },
    checkSessionReads(reads, data) {
      expect(Buffer.isBuffer(reads.session['5511987654321.0'])).toBe(true)
      expect(reads.session['5511987654321.0'].equals(data.session['5511987654321.0'])).toBe(true)
      expect(Buffer.isBuffer(reads.session['5511987654321.12'])).toBe(true)
      expect(reads.session['5511987654321.12'].equals(Buffer.from(data.session['5511987654321.12']))).toBe(true)
      const nested = reads.session['5511987654321:12@s.whatsapp.net']
      expect(Buffer.isBuffer(nested._sessions[Object.keys(nested._sessions)[0]].currentRatchet.rootKey)).toBe(true)
      expect(Buffer.isBuffer(reads['sender-key']['123-456@g.us::789::0'])).toBe(true)
    },
    legacy: {
      files: {
        // a Uint8Array stored by an old version as an index-keyed object
        1: '{"private":{"0":1,"1":2,"2":3},"public":{"type":"Buffer","data":"AQID"}}',
        // keys that parseInt accepts, values taken modulo 256
        2: '{"1a":5," 1":6,"-1":7,"0":300,"3":-1,"4":1.7}',
        // v6-only forms stay plain objects in v7
        3: '{"x":{"type":"Buffer","data":[1,2,3]},"y":{"buffer":true,"data":"AQID"},"z":{}}',
        4: '{"0":1,"1":"x","arr":[1,2],"n":{"0":1,"b":2}}',
        5: '{"type":"Buffer","data":"-_8"}',
        6: '{"torn":',
        7: '',
      },
      check(mine) {
        expect(Buffer.isBuffer(mine[2])).toBe(true)
      },
      minWarnings: 2,
    },
  }
}

module.exports = {
  defineParityTests,
  lineOptions,
  makeParityFixtures,
  // helpers and fixtures the SQLite parity cases (support/sqlite-parity-cases.js) share
  dump,
  readAll,
  dumpReads,
  shape,
  pairedCreds,
  SESSION_IDS,
  APP_STATE_IDS,
  MISSING,
  // the fixtures the suites pick their line's key data forms from
  rb,
  pub33,
  sessionWithBuffers,
  sessionSerialized,
  senderKeyStates,
}
