'use strict'
// Encryption at rest (`encryptionKey`) of the SQLite and PostgreSQL stores,
// checked on the stored bytes themselves (SQLite through better-sqlite3 in a
// child process, PostgreSQL through node-postgres; never through the store
// under test), with values in Baileys' own shapes written by Baileys' own
// helper (`@whiskeysockets/baileys`) as the reference:
// - every value and the credentials are `BANSEAL1:<base64>` text that an
//   independent XChaCha20-Poly1305 (HChaCha20 written here over Node's
//   chacha20-poly1305, checked against the draft's test vector) opens, under
//   the associated data (scope, creds-or-key, type, id), to the very bytes of
//   Baileys' own files; the stored rows, the SQLite file and its WAL, and the
//   PostgreSQL server's data directory hold no private key in any form (and
//   the same search finds them in a plain store, so it can fail);
// - a wrong key, no key, a row copied to another id / type / account, or a
//   tampered byte: `AuthKeyError` (code `EBAILEYSKEY`), never garbage and
//   never fresh credentials, nothing moved aside, rows unchanged;
// - bad keys are a `TypeError` that does not hold the key, before anything is
//   created;
// - `reencryptAuthStore` rotates; an interrupted rotation (the rotating
//   process SIGKILLed part-way, or half the rows re-sealed under the old key)
//   opens with new + previous and completes when run again; rotating a store
//   this process has open must not leave that open store unable to read;
// - `migrateAuthStores` across PostgreSQL (k1) → SQLite (k2) → folder gives
//   Baileys' files byte for byte; a folder refuses an encryptionKey; an
//   encrypted file does not open in the JS store of Baileys' SQLite contract.

const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')

const T = require('./support/sqlite-tools.js')
const P = require('./support/pg-tools.js')
const { makeParityFixtures, pairedCreds, sessionWithBuffers, sessionSerialized, senderKeyStates, dump } = require('./support/parity-cases.js')

const ROOT = path.join(__dirname, '..')
const { BufferJSON, proto } = baileys

// (declared before the server: afterAll hooks run in declaration order, so
// the stores close while the server still runs)
const { track } = T.storeTracker()
const ctx = P.pgSuite()
const R = P.rowsOf(ctx)
const tmp = T.tmpDirs('ban-enc')

const openSqlite = track((dbPath, options = {}) => ours.useSqliteAuthState(dbPath, { proto, ...options }))
const openPg = track((account, options = {}) => ours.usePostgresAuthState(ctx.url, account, { proto, ...options }))
const { accountName, rejection } = P

const newKey = () => crypto.randomBytes(32)
const KEY_ERROR = { name: 'AuthKeyError', code: 'EBAILEYSKEY' }

// ---------------------------------------------------------------- an independent XChaCha20-Poly1305

/** HChaCha20 (draft-irtf-cfrg-xchacha, 2.2): a 32-byte subkey from a key and 16 bytes of nonce. */
function hchacha20(key, nonce16) {
  const s = new Uint32Array(16)
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(4 * i)
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(4 * i)
  const rotl = (v, c) => ((v << c) | (v >>> (32 - c))) >>> 0
  const qr = (a, b, c, d) => {
    s[a] = (s[a] + s[b]) >>> 0
    s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) >>> 0
    s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) >>> 0
    s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) >>> 0
    s[b] = rotl(s[b] ^ s[c], 7)
  }
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15)
    qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14)
  }
  const out = Buffer.alloc(32)
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[i], 4 * i)
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[12 + i], 16 + 4 * i)
  return out
}

/** The IETF ChaCha20-Poly1305 of Node under HChaCha20's subkey: XChaCha20-Poly1305. */
function xchacha(key, nonce24) {
  return { key: hchacha20(key, nonce24.subarray(0, 16)), iv: Buffer.concat([Buffer.alloc(4), nonce24.subarray(16, 24)]) }
}
function xEncrypt(key, nonce24, plain, aad) {
  const x = xchacha(key, nonce24)
  const c = crypto.createCipheriv('chacha20-poly1305', x.key, x.iv, { authTagLength: 16 })
  c.setAAD(aad, { plaintextLength: plain.length })
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()])
}
function xDecrypt(key, nonce24, sealed, aad) {
  const x = xchacha(key, nonce24)
  const d = crypto.createDecipheriv('chacha20-poly1305', x.key, x.iv, { authTagLength: 16 })
  d.setAAD(aad, { plaintextLength: sealed.length - 16 })
  d.setAuthTag(sealed.subarray(sealed.length - 16))
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()])
}

// The seal's documented layout (core/src/seal.rs): `BANSEAL1:` + base64 of
// key id (SHA-256(key)[0..4]) | 24-byte nonce | ciphertext | 16-byte tag,
// under the associated data below.
const PREFIX = 'BANSEAL1:'
const keyIdOf = (key) => crypto.createHash('sha256').update(key).digest().subarray(0, 4)
// Each field is its length (8 bytes, little-endian) and its bytes.
const field = (text) => {
  const bytes = Buffer.from(text)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(bytes.length))
  return Buffer.concat([len, bytes])
}
const aadOf = (scope, type, id) =>
  Buffer.concat([
    Buffer.from('baileys-auth-native/seal/1'),
    field(scope),
    ...(type === undefined ? [field('creds')] : [field('key'), field(type), field(id)]),
  ])
/** The raw bytes of a stored seal (throws for text that is not one). */
function rawOf(stored) {
  const text = Buffer.from(stored).toString('latin1')
  if (!text.startsWith(PREFIX)) throw new Error(`not a seal: ${text.slice(0, 40)}`)
  return Buffer.from(text.slice(PREFIX.length), 'base64')
}
/** Opens a stored seal independently of the addon. */
function unseal(key, stored, scope, type, id) {
  const raw = rawOf(stored)
  if (!raw.subarray(0, 4).equals(keyIdOf(key))) throw new Error('sealed under another key id')
  return xDecrypt(key, raw.subarray(4, 28), raw.subarray(28), aadOf(scope, type, id))
}
/** Seals `plain` as the addon does, independently of it. */
function seal(key, plain, scope, type, id) {
  const nonce = crypto.randomBytes(24)
  return Buffer.from(PREFIX + Buffer.concat([keyIdOf(key), nonce, xEncrypt(key, nonce, Buffer.from(plain), aadOf(scope, type, id))]).toString('base64'))
}
/** The first five base64 characters of a seal under `key`: 30 bits of its key id. */
const idPrefixOf = (key) => Buffer.concat([keyIdOf(key), Buffer.alloc(2)]).toString('base64').slice(0, 5)
const SEAL_TEXT = /^BANSEAL1:[A-Za-z0-9+/]+={0,2}$/

// ---------------------------------------------------------------- the reference: Baileys' own folder

const { makeKeyData } = makeParityFixtures({
  baileys,
  keyData: { sessionForms: [sessionWithBuffers, sessionSerialized], senderKey: senderKeyStates, olderSenderKey: senderKeyStates, extraIdentityKeys: () => ({}) },
})

/** Baileys' file of a key (its fixFileName). */
const fileOf = T.fileOf

let ref // { dir, data, reader, credsBytes, count, secrets }
beforeAll(async () => {
  const dir = path.join(tmp('ref'), 'auth')
  const b = await baileys.useMultiFileAuthState(dir)
  Object.assign(b.state.creds, pairedCreds())
  await b.saveCreds()
  const data = makeKeyData()
  await b.state.keys.set(data)
  const reader = await baileys.useMultiFileAuthState(dir)
  const count = Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0)
  ref = { dir, data, reader, credsBytes: fs.readFileSync(path.join(dir, 'creds.json')), count, secrets: secretsOf(reader.state.creds, data) }
})

/** Every private part of an auth state: the creds' private keys and advSecretKey, pre-key privates, app-state keyData. */
function secretsOf(creds, data) {
  const out = [creds.noiseKey.private, creds.pairingEphemeralKeyPair.private, creds.signedIdentityKey.private, creds.signedPreKey.keyPair.private, Buffer.from(creds.advSecretKey, 'base64')]
  for (const kp of Object.values(data['pre-key'] || {})) out.push(kp.private)
  for (const k of Object.values(data['app-state-sync-key'] || {})) out.push(k.keyData)
  return out.map((b) => Buffer.from(b))
}
/** The forms a secret takes at rest if it is not sealed: raw, base64 (Baileys' JSON), hex. */
const needles = (secrets) => secrets.flatMap((s) => [s, Buffer.from(s.toString('base64')), Buffer.from(s.toString('hex'))])
/** Which of `needles` occur in `bytes`. */
const found = (bytes, list) => list.filter((n) => bytes.indexOf(n) >= 0)

/** Replaces a store's fresh creds by the reference's, then writes them and every key. */
async function fill(store, data = ref.data) {
  const c = store.state.creds
  for (const k of Object.keys(c)) delete c[k]
  Object.assign(c, ref.reader.state.creds)
  await store.saveCreds()
  await store.state.keys.set(data)
}

/** The store reads the reference's creds and every key as Baileys' helper reads its folder (but the `skip` types). */
async function expectSameAsBaileys(store, what, skip = []) {
  expect([what, dump(store.state.creds)]).toEqual([what, dump(ref.reader.state.creds)])
  for (const [type, byId] of Object.entries(ref.data)) {
    if (skip.includes(type)) continue
    const ids = Object.keys(byId)
    const want = await ref.reader.state.keys.get(type, ids)
    const got = await store.state.keys.get(type, ids)
    for (const id of ids) expect([what, type, id, dump(got[id])]).toEqual([what, type, id, dump(want[id])])
  }
}

/** Each sealed row opens (independently) under `key` to the bytes of Baileys' file for it. */
function expectRowsAreBaileysFiles(rows, creds, key, scope) {
  expect(rows.length).toBe(ref.count)
  for (const r of rows) {
    const plain = unseal(key, r.value, scope, r.type, r.id)
    expect([r.type, r.id, plain.toString()]).toEqual([r.type, r.id, fs.readFileSync(path.join(ref.dir, fileOf(r.type, r.id))).toString()])
  }
  expect(unseal(key, creds, scope).toString()).toBe(ref.credsBytes.toString())
}

/** Every file of a directory, recursively, as paths. */
function walk(dir) {
  const out = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

/** Which of `list` occur in any file of the PostgreSQL server's tables and WAL. */
function foundInServer(list) {
  const hits = new Set()
  for (const sub of ['base', 'pg_wal']) {
    for (const f of walk(path.join(ctx.pg.dataDir, sub))) {
      const bytes = fs.readFileSync(f)
      for (const n of found(bytes, list)) hits.add(n.toString('hex'))
    }
  }
  return [...hits]
}

/** A SQLite file and its WAL, as bytes on disk (read with fs, never through SQLite). */
function sqliteBytes(db) {
  return Buffer.concat([db, `${db}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)))
}

const sqliteQuarantine = (db) => T.query(db, `SELECT type, id, CAST(value AS BLOB) AS value FROM ${T.QUARANTINE_TABLE}`)
/** Every row of a SQLite file (keys, creds, quarantine), for before/after comparisons. */
const sqliteSnapshot = (db) => ({ keys: T.keyRows(db), creds: T.credsBytes(db), quarantine: sqliteQuarantine(db) })
const sqliteWrite = (db, sql, ...params) => T.withDb(db, (d) => d.prepare(sql).run(...params), { readonly: false })

// ---------------------------------------------------------------- the seal

describe('the seal', () => {
  test("the independent XChaCha20-Poly1305 used below passes draft-irtf-cfrg-xchacha's test vectors (HChaCha20 2.2.1, AEAD A.3.1)", () => {
    const hk = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')
    expect(hchacha20(hk, Buffer.from('000000090000004a0000000031415927', 'hex')).toString('hex')).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc')
    const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex')
    const nonce = Buffer.from('404142434445464748494a4b4c4d4e4f5051525354555657', 'hex')
    const aad = Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex')
    const plain = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
    const want =
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
      'c0875924c1c7987947deafd8780acf49'
    expect(xEncrypt(key, nonce, plain, aad).toString('hex')).toBe(want)
    expect(xDecrypt(key, nonce, Buffer.from(want, 'hex'), aad).equals(plain)).toBe(true)
  })

  test("SQLite: every value and the creds are BANSEAL1 text that XChaCha20-Poly1305 opens under (file, key|creds, type, id) to Baileys' own file bytes; the key id is SHA-256(key)[0..4]; nonces are random", async () => {
    const key = newKey()
    const db = path.join(tmp('seal'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await fill(s)
    // the same value written twice is sealed twice, under fresh nonces
    await s.state.keys.set({ 'pre-key': { 1: ref.data['pre-key'][1] } })
    const first = T.keyRows(db).find((r) => r.type === 'pre-key' && r.id === '1').value
    await s.state.keys.set({ 'pre-key': { 1: ref.data['pre-key'][1] } })
    await s.close()
    const rows = T.keyRows(db)
    const again = rows.find((r) => r.type === 'pre-key' && r.id === '1').value
    expect(again.equals(first)).toBe(false)
    expect(unseal(key, again, '', 'pre-key', '1').equals(unseal(key, first, '', 'pre-key', '1'))).toBe(true)
    expect(rawOf(again).subarray(4, 28).equals(rawOf(first).subarray(4, 28))).toBe(false)
    for (const r of rows) expect([r.type, r.id, SEAL_TEXT.test(r.value.toString('latin1'))]).toEqual([r.type, r.id, true])
    expectRowsAreBaileysFiles(rows, T.credsBytes(db), key, '')
  })

  test("PostgreSQL: the same, with the account as the seal's scope", async () => {
    const key = newKey()
    const account = accountName('seal')
    const s = await openPg(account, { encryptionKey: key })
    await fill(s)
    await s.close()
    const rows = await R.keyRows(account)
    for (const r of rows) expect([r.type, r.id, SEAL_TEXT.test(r.value.toString('latin1'))]).toEqual([r.type, r.id, true])
    expectRowsAreBaileysFiles(rows, await R.credsBytes(account), key, account)
    // under another scope (another account, or the file's empty one) the same seals do not open
    expect(() => unseal(key, rows[0].value, `${account}x`, rows[0].type, rows[0].id)).toThrow()
    expect(() => unseal(key, rows[0].value, '', rows[0].type, rows[0].id)).toThrow()
  })

  test('a value sealed by the independent implementation in its place opens in the store; its plaintext is taken as is', async () => {
    const key = newKey()
    const account = accountName('forged')
    const s = await openPg(account, { encryptionKey: key })
    await s.saveCreds()
    const kp = baileys.Curve.generateKeyPair()
    const text = JSON.stringify(kp, BufferJSON.replacer)
    await R.writeRows(account, { rows: [['pre-key', '5', seal(key, text, account, 'pre-key', '5')]] })
    const got = await s.state.keys.get('pre-key', ['5'])
    expect(dump(got['5'])).toBe(dump(JSON.parse(text, BufferJSON.reviver)))
  })

  test('a seal that opens to text that is not JSON (a torn key file migrated into an encrypted store) reads as null with a warning, and is kept aside once: reading it again does not add a quarantine row each time', async () => {
    const key = newKey()
    const folder = path.join(tmp('torn'), 'auth')
    const b = await baileys.useMultiFileAuthState(folder)
    await b.saveCreds()
    await b.state.keys.set({ 'pre-key': { 1: baileys.Curve.generateKeyPair() } })
    fs.writeFileSync(path.join(folder, 'pre-key-2.json'), '{"private":{"type":"Buffer","data":"AAAA')
    const db = path.join(tmp('torn-db'), 'auth.db')
    await ours.migrateAuthStores(folder, { kind: 'sqlite', path: db, encryptionKey: key })
    const { logger, warnings } = T.recordingLogger()
    const s = await openSqlite(db, { encryptionKey: key, logger })
    for (let i = 0; i < 3; i++) {
      expect(await s.state.keys.get('pre-key', ['2'])).toEqual({ 2: null })
      await P.sleep(100) // the quarantine is fire and forget
    }
    await s.close()
    const aside = sqliteQuarantine(db)
    // what is kept aside stays sealed: no plaintext in the quarantine either
    for (const q of aside) expect(SEAL_TEXT.test(q.value.toString('latin1'))).toBe(true)
    expect(warnings.length).toBeGreaterThanOrEqual(1)
    // as in a plain store (the key moved aside once, then missing): one row
    expect(aside.length).toBe(1)
  })
})

// ---------------------------------------------------------------- round trip and nothing in the clear

describe('round trip, and no plaintext at rest', () => {
  test('SQLite: values round-trip through a reopen with the key (hex form too); neither the rows nor the file and its WAL (open or closed) hold a private key in any form, nor JSON; a plain file does', async () => {
    const key = newKey()
    const db = path.join(tmp('rt'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await fill(s)
    const all = needles(ref.secrets)
    expect(found(sqliteBytes(db), all)).toEqual([]) // while open: the WAL holds the writes
    await s.close()
    expect(found(sqliteBytes(db), all)).toEqual([])
    for (const r of T.keyRows(db)) expect(r.value.toString('latin1')).not.toMatch(/[{}"]/)
    expect(T.credsBytes(db).toString('latin1')).toMatch(SEAL_TEXT)
    const again = await openSqlite(db, { encryptionKey: key.toString('hex').toUpperCase() })
    await expectSameAsBaileys(again, 'sqlite, hex key')
    await again.close()
    const u8 = await openSqlite(db, { encryptionKey: new Uint8Array(key) })
    await expectSameAsBaileys(u8, 'sqlite, Uint8Array key')
    await u8.close()

    // the search finds them when they are there
    const plainDb = path.join(tmp('rt-plain'), 'auth.db')
    const p = await openSqlite(plainDb)
    await fill(p)
    await p.close()
    expect(found(sqliteBytes(plainDb), needles(ref.secrets.slice(5, 6))).length).toBeGreaterThan(0)
  })

  test("PostgreSQL: values round-trip through a reopen; neither the rows nor the server's tables and WAL files hold the account's private keys; a plain account's are found there", async () => {
    const key = newKey()
    const account = accountName('rt')
    // secrets of this test alone: the other tests share the server
    const creds = { ...pairedCreds() }
    const preKeys = { 1: baileys.Curve.generateKeyPair(), 2: baileys.Curve.generateKeyPair() }
    const s = await openPg(account, { encryptionKey: key })
    Object.assign(s.state.creds, creds)
    await s.saveCreds()
    await s.state.keys.set({ ...ref.data, 'pre-key': preKeys })
    const secrets = secretsOf(s.state.creds, { 'pre-key': preKeys })
    await s.close()
    for (const r of await R.keyRows(account)) expect([r.type, r.id, SEAL_TEXT.test(r.value.toString('latin1'))]).toEqual([r.type, r.id, true])
    expect((await R.credsBytes(account)).toString('latin1')).toMatch(SEAL_TEXT)

    const again = await openPg(account, { encryptionKey: key.toString('hex') })
    expect(dump(again.state.creds)).toBe(dump(JSON.parse(JSON.stringify(s.state.creds, BufferJSON.replacer), BufferJSON.reviver)))
    expect(dump(await again.state.keys.get('pre-key', ['1', '2']))).toBe(dump(preKeys))
    const sessions = Object.keys(ref.data.session)
    const [gotS, wantS] = [await again.state.keys.get('session', sessions), await ref.reader.state.keys.get('session', sessions)]
    // (per id: Baileys' helper answers in I/O completion order)
    expect(sessions.map((id) => dump(gotS[id]))).toEqual(sessions.map((id) => dump(wantS[id])))
    await again.close()

    const plainAccount = accountName('rt-plain')
    const plainKey = baileys.Curve.generateKeyPair()
    const p = await openPg(plainAccount)
    await p.state.keys.set({ 'pre-key': { 1: plainKey } })
    await p.close()
    const hits = foundInServer([...needles(secrets), ...needles([plainKey.private])])
    const plainHits = needles([plainKey.private]).map((n) => n.toString('hex'))
    expect(hits.filter((h) => !plainHits.includes(h))).toEqual([])
    expect(hits.some((h) => plainHits.includes(h))).toBe(true)
  })
})

// ---------------------------------------------------------------- refusals

describe('a wrong key, no key, moved rows, tampering: AuthKeyError, nothing moved aside', () => {
  test('SQLite: a wrong key rejects at open (the creds are read there); the file is unchanged and nothing is kept aside; the right key still opens', async () => {
    const key = newKey()
    const wrong = newKey()
    const db = path.join(tmp('wrong'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await fill(s)
    await s.close()
    const before = sqliteSnapshot(db)
    for (const options of [{ encryptionKey: wrong }, { encryptionKey: wrong, previousEncryptionKeys: [newKey()] }]) {
      const e = await rejection(openSqlite(db, options))
      expect(e).toMatchObject(KEY_ERROR)
      expect(e.message).not.toContain(key.toString('hex'))
      expect(e.message).not.toContain(wrong.toString('hex'))
      expect(e.message).not.toContain(wrong.toString('base64'))
    }
    expect(sqliteSnapshot(db)).toEqual(before)
    expect(before.quarantine).toEqual([])
    // the failed opens left the file free: another process opens it at once
    const other = await P.inChild(
      `const s = await ours.useSqliteAuthState(args.db, { encryptionKey: Buffer.from(args.key, 'hex') }); const id = s.state.creds.me.id; await s.close(); return id`,
      { db, key: key.toString('hex') },
    )
    expect(other).toBe(ref.reader.state.creds.me.id)
  })

  test('PostgreSQL: a wrong key rejects at open; rows, creds and quarantine unchanged; the lease is not kept: another process opens the account at once', async () => {
    const key = newKey()
    const account = accountName('wrong')
    const s = await openPg(account, { encryptionKey: key })
    await fill(s)
    await s.close()
    const before = await R.snapshot(account)
    const e = await rejection(openPg(account, { encryptionKey: newKey(), leaseTtlMs: 60000 }))
    expect(e).toMatchObject(KEY_ERROR)
    expect(e.message).not.toContain(key.toString('hex'))
    expect(await R.snapshot(account)).toEqual(before)
    expect(before.quarantine).toEqual([])
    expect((await R.lease(account)).live).toBe(false)
    expect(await P.openInChild(ctx.url, account, { encryptionKey: key.toString('hex') })).toEqual({ ok: true })
  })

  test('no key: an encrypted store rejects at open; with plain creds and sealed keys it opens and `get` rejects; a plain store opened with a key rejects too; nothing moved aside, nothing written', async () => {
    const key = newKey()
    // SQLite
    const db = path.join(tmp('nokey'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await fill(s)
    await s.close()
    let before = sqliteSnapshot(db)
    expect(await rejection(openSqlite(db))).toMatchObject(KEY_ERROR)
    expect(sqliteSnapshot(db)).toEqual(before)
    const plainCreds = ours.encodeAuthValue(ours.initAuthCreds('v6')).toString()
    sqliteWrite(db, 'UPDATE creds SET value = ? WHERE key = ?', plainCreds, T.CREDS_KEY)
    before = sqliteSnapshot(db)
    const mixed = await openSqlite(db)
    expect(await rejection(mixed.state.keys.get('pre-key', ['1']))).toMatchObject(KEY_ERROR)
    expect(await rejection(mixed.state.keys.get('session', Object.keys(ref.data.session)))).toMatchObject(KEY_ERROR)
    await mixed.close()
    expect(sqliteSnapshot(db)).toEqual(before)
    expect(before.quarantine).toEqual([])
    // plain creds opened with a key: refused, never taken for credentials
    expect(await rejection(openSqlite(db, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(sqliteSnapshot(db)).toEqual(before)

    // PostgreSQL
    const account = accountName('nokey')
    const p = await openPg(account, { encryptionKey: key })
    await fill(p)
    await p.close()
    let pgBefore = await R.snapshot(account)
    expect(await rejection(openPg(account))).toMatchObject(KEY_ERROR)
    expect(await R.snapshot(account)).toEqual(pgBefore)
    await R.writeRows(account, { creds: plainCreds })
    pgBefore = await R.snapshot(account)
    const pmixed = await openPg(account)
    expect(pmixed.state.creds.registered).toBe(false) // the plain creds, not the sealed ones
    expect(await rejection(pmixed.state.keys.get('pre-key', ['1', '2']))).toMatchObject(KEY_ERROR)
    await pmixed.close()
    expect(await rejection(openPg(account, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(await R.snapshot(account)).toEqual(pgBefore)
    expect(pgBefore.quarantine).toEqual([])

    // a plain value among sealed ones (written without the key): refused on get
    const account2 = accountName('plainrow')
    const q = await openPg(account2, { encryptionKey: key })
    await q.saveCreds()
    await R.writeRows(account2, { rows: [['pre-key', '9', ours.encodeAuthValue(baileys.Curve.generateKeyPair())]] })
    expect(await rejection(q.state.keys.get('pre-key', ['9']))).toMatchObject(KEY_ERROR)
    expect(await R.quarantineRows(account2)).toEqual([])
    expect(await R.row(account2, 'pre-key', '9')).toBeDefined()
  })

  test('PostgreSQL: a row copied (INSERT … SELECT) or moved (UPDATE) to another id, type or account fails to open on get; the original still opens; creds copied to another account, or a key seal put in the creds, fail at open; nothing moved aside', async () => {
    const key = newKey()
    const a = accountName('move-a')
    const b = accountName('move-b')
    const s = await openPg(a, { encryptionKey: key })
    await fill(s)
    const t = R.tables
    await ctx.query(`INSERT INTO ${t.keys} (account, type, id, value) SELECT account, type, '999', value FROM ${t.keys} WHERE account = $1 AND type = 'pre-key' AND id = '1'`, [a])
    await ctx.query(`INSERT INTO ${t.keys} (account, type, id, value) SELECT account, 'session', '1', value FROM ${t.keys} WHERE account = $1 AND type = 'pre-key' AND id = '1'`, [a])
    await ctx.query(`INSERT INTO ${t.keys} (account, type, id, value) SELECT $2, type, id, value FROM ${t.keys} WHERE account = $1 AND type = 'pre-key'`, [a, b])
    await ctx.query(`INSERT INTO ${t.creds} (account, value) SELECT $2, value FROM ${t.creds} WHERE account = $1`, [a, b])
    // two rows swapped in place
    await ctx.query(
      `UPDATE ${t.keys} k SET value = o.value FROM ${t.keys} o WHERE k.account = $1 AND o.account = $1 AND k.type = 'pre-key' AND o.type = 'pre-key' AND ((k.id = '2' AND o.id = '3') OR (k.id = '3' AND o.id = '2'))`,
      [a],
    )
    const before = await R.snapshot(a)
    for (const [type, ids] of [
      ['pre-key', ['999']],
      ['session', ['1']],
      ['pre-key', ['2']],
      ['pre-key', ['3']],
      ['pre-key', ['1', '999']],
    ]) {
      const e = await rejection(s.state.keys.get(type, ids))
      expect([type, ids, e && e.name, e && e.code]).toEqual([type, ids, KEY_ERROR.name, KEY_ERROR.code])
    }
    expect(dump((await s.state.keys.get('pre-key', ['1']))[1])).toBe(dump((await ref.reader.state.keys.get('pre-key', ['1']))[1]))
    expect(await R.snapshot(a)).toEqual(before)
    expect(before.quarantine).toEqual([])

    // account b: its copied creds refuse the open; without them, its copied keys refuse the get
    const bBefore = await R.snapshot(b)
    expect(await rejection(openPg(b, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(await R.snapshot(b)).toEqual(bBefore)
    await ctx.query(`DELETE FROM ${t.creds} WHERE account = $1`, [b])
    const sb = await openPg(b, { encryptionKey: key })
    expect(await rejection(sb.state.keys.get('pre-key', ['1']))).toMatchObject(KEY_ERROR)
    await sb.close()
    expect(await R.quarantineRows(b)).toEqual([])

    // a key's seal as the creds
    await s.close()
    await ctx.query(`UPDATE ${t.creds} SET value = (SELECT value FROM ${t.keys} WHERE account = $1 AND type = 'pre-key' AND id = '1') WHERE account = $1`, [a])
    const aBefore = await R.snapshot(a)
    expect(await rejection(openPg(a, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(await R.snapshot(a)).toEqual(aBefore)
  })

  test('SQLite: a row copied to another id or type, or a key seal put in the creds, fails to open; nothing moved aside', async () => {
    const key = newKey()
    const db = path.join(tmp('move'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await fill(s)
    await s.close()
    sqliteWrite(db, "INSERT INTO signal_keys (type, id, value) SELECT type, '999', value FROM signal_keys WHERE type = 'pre-key' AND id = '1'")
    sqliteWrite(db, "INSERT INTO signal_keys (type, id, value) SELECT 'session', '1', value FROM signal_keys WHERE type = 'pre-key' AND id = '1'")
    const before = sqliteSnapshot(db)
    const again = await openSqlite(db, { encryptionKey: key })
    expect(await rejection(again.state.keys.get('pre-key', ['999']))).toMatchObject(KEY_ERROR)
    expect(await rejection(again.state.keys.get('session', ['1']))).toMatchObject(KEY_ERROR)
    expect(Object.keys(await again.state.keys.get('pre-key', ['1']))).toEqual(['1'])
    await again.close()
    expect(sqliteSnapshot(db)).toEqual(before)
    expect(before.quarantine).toEqual([])
    sqliteWrite(db, "UPDATE creds SET value = (SELECT value FROM signal_keys WHERE type = 'pre-key' AND id = '1') WHERE key = ?", T.CREDS_KEY)
    const credsBefore = sqliteSnapshot(db)
    expect(await rejection(openSqlite(db, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(sqliteSnapshot(db)).toEqual(credsBefore)
  })

  test("SQLite: the seal tells (type, id) apart however they are spelled: a row moved from ('session', 'x\\0y') to ('session\\0x', 'y') does not open", async () => {
    const key = newKey()
    const db = path.join(tmp('nul'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: key })
    await s.saveCreds()
    await s.state.keys.set({ session: { 'x\0y': { secret: 1 } } })
    expect(await s.state.keys.get('session', ['x\0y'])).toEqual({ 'x\0y': { secret: 1 } })
    await s.close()
    sqliteWrite(db, "UPDATE signal_keys SET type = 'session' || char(0) || 'x', id = 'y' WHERE type = 'session'")
    expect(T.query(db, "SELECT hex(type) AS t, hex(id) AS i FROM signal_keys")).toEqual([{ t: Buffer.from('session\0x').toString('hex').toUpperCase(), i: '79' }])
    const again = await openSqlite(db, { encryptionKey: key })
    expect(await rejection(again.state.keys.get('session\0x', ['y']))).toMatchObject(KEY_ERROR)
  })

  test('a tampered byte anywhere (key id, nonce, ciphertext, tag, prefix, base64, length) fails with AuthKeyError, for keys and for the creds; rows stay as they are, nothing moved aside', async () => {
    const key = newKey()
    const account = accountName('tamper')
    const s = await openPg(account, { encryptionKey: key })
    await fill(s)
    const original = await R.row(account, 'pre-key', '1')
    const raw = rawOf(original)
    const flip = (i) => {
      const r = Buffer.from(raw)
      r[i] ^= 0x01
      return Buffer.from(PREFIX + r.toString('base64'))
    }
    const text = original.toString('latin1')
    const variants = {
      'key id': flip(0),
      nonce: flip(10),
      ciphertext: flip(40),
      tag: flip(raw.length - 1),
      'one byte short': Buffer.from(PREFIX + raw.subarray(0, raw.length - 1).toString('base64')),
      'one byte more': Buffer.from(PREFIX + Buffer.concat([raw, Buffer.from([0])]).toString('base64')),
      'header only': Buffer.from(PREFIX + raw.subarray(0, 40).toString('base64')),
      'other prefix': Buffer.from(`BANSEAL2:${text.slice(PREFIX.length)}`),
      'lower-case prefix': Buffer.from(`banseal1:${text.slice(PREFIX.length)}`),
      'not base64': Buffer.from(`${text.slice(0, 20)}*${text.slice(21)}`),
      'trailing newline': Buffer.from(`${text}\n`),
      empty: Buffer.from(PREFIX),
    }
    for (const [what, bytes] of Object.entries(variants)) {
      await R.writeRows(account, { rows: [['pre-key', '1', bytes]] })
      const e = await rejection(s.state.keys.get('pre-key', ['1']))
      expect([what, e && e.name, e && e.code]).toEqual([what, KEY_ERROR.name, KEY_ERROR.code])
      expect([what, (await R.row(account, 'pre-key', '1')).equals(bytes)]).toEqual([what, true])
    }
    expect(await R.quarantineRows(account)).toEqual([])
    await R.writeRows(account, { rows: [['pre-key', '1', original]] })
    expect(Object.keys(await s.state.keys.get('pre-key', ['1']))).toEqual(['1'])
    await s.close()

    const creds = await R.credsBytes(account)
    const craw = rawOf(creds)
    craw[50] ^= 0x80
    const tampered = Buffer.from(PREFIX + craw.toString('base64'))
    await R.writeRows(account, { creds: tampered })
    const before = await R.snapshot(account)
    expect(await rejection(openPg(account, { encryptionKey: key }))).toMatchObject(KEY_ERROR)
    expect(await R.snapshot(account)).toEqual(before)
  })
})

// ---------------------------------------------------------------- bad keys

describe('bad keys', () => {
  test('31 or 33 bytes, short / long / non-hex text, base64 text, a number, other typed arrays, an array: TypeError without the key in its message, before anything is created, taken or written', async () => {
    const good = newKey()
    const raw31 = crypto.randomBytes(31)
    const hex = crypto.randomBytes(32).toString('hex')
    const bad = [raw31, crypto.randomBytes(33), 'abc', hex.slice(0, 63), `${hex}0`, `${hex.slice(0, 63)}g`, crypto.randomBytes(32).toString('base64'), 1234567, new Uint16Array(16), Array.from(crypto.randomBytes(32)), {}, true]
    const forms = (k) => {
      if (typeof k === 'string') return [k]
      if (typeof k === 'number') return [String(k)]
      if (Buffer.isBuffer(k) || k instanceof Uint16Array) {
        const b = Buffer.from(k.buffer, k.byteOffset, k.byteLength)
        return [b.toString('hex'), b.toString('base64'), b.toString('latin1')]
      }
      if (Array.isArray(k)) return [Buffer.from(k).toString('hex'), k.join(',')]
      return []
    }
    const dir = tmp('badkeys')
    const db = path.join(dir, 'new.db')
    const account = accountName('badkey')
    // an existing encrypted file, for reencryptAuthStore and the previous keys
    const existing = path.join(dir, 'existing.db')
    const e0 = await openSqlite(existing, { encryptionKey: good })
    await e0.saveCreds()
    await e0.close()
    const existingBefore = sqliteSnapshot(existing)
    for (const k of bad) {
      const tries = {
        'sqlite encryptionKey': () => ours.useSqliteAuthState(db, { encryptionKey: k }),
        'sqlite config form': () => ours.useSqliteAuthState({ dbPath: db, encryptionKey: k }),
        'sqlite previousEncryptionKeys': () => ours.useSqliteAuthState(db, { encryptionKey: good, previousEncryptionKeys: [good, k] }),
        'postgres encryptionKey': () => ours.usePostgresAuthState(ctx.url, account, { encryptionKey: k }),
        'postgres previousEncryptionKeys': () => ours.usePostgresAuthState(ctx.url, account, { encryptionKey: good, previousEncryptionKeys: [k] }),
        'migrateAuthStores destination': () => ours.migrateAuthStores(ref.dir, { kind: 'sqlite', path: db, encryptionKey: k }),
        'migrateAuthStores postgres destination': () => ours.migrateAuthStores(ref.dir, { kind: 'postgres', connection: ctx.url, account, encryptionKey: k }),
        'reencryptAuthStore new key': () => ours.reencryptAuthStore(existing, { encryptionKey: k, previousEncryptionKeys: [good] }),
        'reencryptAuthStore previous key': () => ours.reencryptAuthStore(existing, { encryptionKey: good, previousEncryptionKeys: [k] }),
      }
      for (const [where, run] of Object.entries(tries)) {
        const e = await rejection(run)
        const label = `${where} with ${Object.prototype.toString.call(k)} ${String(k).length}`
        expect([label, e && e.name]).toEqual([label, 'TypeError'])
        for (const f of forms(k)) expect([label, e.message.includes(f)]).toEqual([label, false])
        expect([label, e.message.includes(good.toString('hex'))]).toEqual([label, false])
      }
    }
    expect(fs.existsSync(db)).toBe(false)
    expect(await ctx.query(`SELECT account FROM ${R.tables.leases} WHERE account = $1 UNION ALL SELECT account FROM ${R.tables.creds} WHERE account = $1`, [account])).toEqual([])
    expect(sqliteSnapshot(existing)).toEqual(existingBefore)
    // previousEncryptionKeys that is not an array
    expect(await rejection(ours.useSqliteAuthState(db, { encryptionKey: good, previousEncryptionKeys: good }))).toMatchObject({ name: 'TypeError' })
    expect(fs.existsSync(db)).toBe(false)
  })
})

// ---------------------------------------------------------------- rotation

/** Pre-keys in Baileys' shape, `n` of them from `from`. */
function manyPreKeys(n, from = 1) {
  const out = {}
  for (let i = from; i < from + n; i++) out[i] = baileys.Curve.generateKeyPair()
  return out
}

describe('rotation: reencryptAuthStore', () => {
  test('SQLite and PostgreSQL: afterwards the new key opens, the old one alone is refused, every value is equal and every row is sealed under the new key', async () => {
    const k1 = newKey()
    const k2 = newKey()
    const db = path.join(tmp('rotate'), 'auth.db')
    const account = accountName('rotate')
    for (const [what, spec, open, rows] of [
      ['sqlite', db, (o) => openSqlite(db, o), async () => T.keyRows(db).concat([{ value: T.credsBytes(db) }])],
      ['postgres', { kind: 'postgres', connection: ctx.url, account }, (o) => openPg(account, o), async () => (await R.keyRows(account)).concat([{ value: await R.credsBytes(account) }])],
    ]) {
      const s = await open({ encryptionKey: k1 })
      await fill(s)
      await s.close()
      const r = await ours.reencryptAuthStore(spec, { encryptionKey: k2, previousEncryptionKeys: [k1] })
      expect([what, r.total]).toEqual([what, ref.count])
      expect(r.store).not.toContain(ctx.pg.password)
      for (const row of await rows()) expect([what, row.value.toString('latin1').slice(0, 14)]).toEqual([what, PREFIX + idPrefixOf(k2)])
      const e = await rejection(open({ encryptionKey: k1 }))
      expect([what, e && e.name, e && e.code]).toEqual([what, KEY_ERROR.name, KEY_ERROR.code])
      const again = await open({ encryptionKey: k2 })
      await expectSameAsBaileys(again, what)
      await again.close()
      // run again with the same keys: nothing to do but it still works (idempotent)
      expect((await ours.reencryptAuthStore(spec, { encryptionKey: k2, previousEncryptionKeys: [k1] })).total).toBe(ref.count)
    }
  })

  test('a wrong previous key, or a plain store, is refused and left as it was', async () => {
    const k1 = newKey()
    const db = path.join(tmp('rotate-bad'), 'auth.db')
    const s = await openSqlite(db, { encryptionKey: k1 })
    await fill(s)
    await s.close()
    const before = sqliteSnapshot(db)
    expect(await rejection(ours.reencryptAuthStore(db, { encryptionKey: newKey(), previousEncryptionKeys: [newKey()] }))).toMatchObject(KEY_ERROR)
    expect(sqliteSnapshot(db)).toEqual(before)
    const plain = path.join(tmp('rotate-plain'), 'auth.db')
    const p = await openSqlite(plain)
    await fill(p)
    await p.close()
    const plainBefore = sqliteSnapshot(plain)
    expect(await rejection(ours.reencryptAuthStore(plain, { encryptionKey: k1 }))).toMatchObject(KEY_ERROR)
    expect(sqliteSnapshot(plain)).toEqual(plainBefore)
  })

  test("a rotation of a store this very process has open (a bot's own, shared in-process) is refused, or leaves that open store able to read its keys", async () => {
    const k1 = newKey()
    const k2 = newKey()
    const db = path.join(tmp('rotate-live'), 'auth.db')
    const bot = await openSqlite(db, { encryptionKey: k1 })
    await fill(bot)
    const rotation = await rejection(ours.reencryptAuthStore(db, { encryptionKey: k2, previousEncryptionKeys: [k1] }))
    const read = await rejection(bot.state.keys.get('pre-key', Object.keys(ref.data['pre-key'])))
    // either outcome is sound; not: a rotation that succeeded under the bot, whose reads then fail
    expect({ rotationRefused: rotation !== null, botReads: read === null || read.code }).not.toEqual({ rotationRefused: false, botReads: 'EBAILEYSKEY' })
    await bot.close()
  })

  test('SQLite: a rotation of 3,000 keys SIGKILLed part-way opens with new + previous (not with the new key alone), and run again it completes', async () => {
    const k1 = newKey()
    const k2 = newKey()
    const data = { ...ref.data, 'pre-key': manyPreKeys(3000) }
    const total = Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0)
    const newRows = (db) => T.query(db, 'SELECT count(*) AS n FROM signal_keys WHERE substr(value, 10, 5) = ?', idPrefixOf(k2))[0].n
    let db
    let interrupted = null
    for (let attempt = 0; attempt < 3 && interrupted === null; attempt++) {
      db = path.join(tmp(`kill-${attempt}`), 'auth.db')
      const s = await openSqlite(db, { encryptionKey: k1 })
      await fill(s, data)
      await s.close()
      const code = `require(${JSON.stringify(ROOT)}).reencryptAuthStore(${JSON.stringify(db)}, { encryptionKey: Buffer.from('${k2.toString('hex')}', 'hex'), previousEncryptionKeys: [Buffer.from('${k1.toString('hex')}', 'hex')], batchSize: 1 }).then(() => process.stdout.write('done'), (e) => { process.stdout.write('error ' + e.message); process.exit(1) })`
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      const exited = new Promise((resolve) => child.on('exit', (c, sig) => resolve(sig || c)))
      let ended = false
      exited.then(() => (ended = true))
      while (!ended && newRows(db) < 100) await P.sleep(5)
      child.kill('SIGKILL')
      await exited
      const n = newRows(db)
      if (out === '' && n > 0 && n < total) interrupted = n
    }
    expect(interrupted).not.toBeNull()
    expect(T.integrity(db)).toEqual(['ok'])
    // the creds are sealed again last: still under the old key
    expect(T.credsBytes(db).toString('latin1').slice(0, 14)).toBe(PREFIX + idPrefixOf(k1))
    expect(await rejection(openSqlite(db, { encryptionKey: k2 }))).toMatchObject(KEY_ERROR)
    const old = await openSqlite(db, { encryptionKey: k1 })
    expect(await rejection(old.state.keys.get('pre-key', Object.keys(data['pre-key'])))).toMatchObject(KEY_ERROR)
    await old.close()
    const both = await openSqlite(db, { encryptionKey: k2, previousEncryptionKeys: [k1] })
    await expectSameAsBaileys(both, 'new + previous', ['pre-key'])
    const ids = Object.keys(data['pre-key'])
    expect(dump(await both.state.keys.get('pre-key', ids))).toBe(dump(data['pre-key']))
    await both.close()

    expect((await ours.reencryptAuthStore(db, { encryptionKey: k2, previousEncryptionKeys: [k1] })).total).toBe(total)
    expect(newRows(db)).toBe(total)
    expect(await rejection(openSqlite(db, { encryptionKey: k1 }))).toMatchObject(KEY_ERROR)
    const done = await openSqlite(db, { encryptionKey: k2 })
    expect(dump(await done.state.keys.get('pre-key', ids))).toBe(dump(data['pre-key']))
    expect(dump(done.state.creds)).toBe(dump(ref.reader.state.creds))
    await done.close()
  })

  test('PostgreSQL: a rotation stopped half-way (half the rows and the creds still under the old key) opens with new + previous and completes when run again; so does one SIGKILLed part-way once its lease has run out', async () => {
    const k1 = newKey()
    const k2 = newKey()
    const account = accountName('half')
    const spec = { kind: 'postgres', connection: ctx.url, account }
    const s = await openPg(account, { encryptionKey: k1 })
    await fill(s)
    await s.close()
    const old = await R.keyRows(account)
    const oldCreds = await R.credsBytes(account)
    await ours.reencryptAuthStore(spec, { encryptionKey: k2, previousEncryptionKeys: [k1] })
    // the state an interrupted run leaves: some rows re-sealed, the creds (last) not yet
    const half = old.filter((_, i) => i % 2 === 0)
    await R.writeRows(account, { rows: half.map((r) => [r.type, r.id, r.value]), creds: oldCreds })
    expect(await rejection(openPg(account, { encryptionKey: k2 }))).toMatchObject(KEY_ERROR)
    const both = await openPg(account, { encryptionKey: k2, previousEncryptionKeys: [k1] })
    await expectSameAsBaileys(both, 'postgres, new + previous')
    await both.close()
    await ours.reencryptAuthStore(spec, { encryptionKey: k2, previousEncryptionKeys: [k1] })
    expect(await rejection(openPg(account, { encryptionKey: k1 }))).toMatchObject(KEY_ERROR)
    const done = await openPg(account, { encryptionKey: k2 })
    await expectSameAsBaileys(done, 'postgres, new key after the second run')
    await done.close()

    // a real kill: 2,000 keys, a few per transaction
    const big = accountName('kill')
    const data = { ...ref.data, 'pre-key': manyPreKeys(2000) }
    const total = Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0)
    const b = await openPg(big, { encryptionKey: k1 })
    await fill(b, data)
    await b.close()
    const newRows = async () =>
      Number(
        (
          await ctx.query(
            `SELECT count(*) AS n FROM ${R.tables.keys} WHERE account = $1 AND substring(decode(substring(convert_from(value, 'UTF8') from 10 for 8), 'base64') from 1 for 4) = $2`,
            [big, keyIdOf(k2)],
          )
        )[0].n,
      )
    const code = `require(${JSON.stringify(ROOT)}).reencryptAuthStore({ kind: 'postgres', connection: ${JSON.stringify(ctx.url)}, account: ${JSON.stringify(big)} }, { encryptionKey: '${k2.toString('hex')}', previousEncryptionKeys: ['${k1.toString('hex')}'], batchSize: 2 }).then(() => process.stdout.write('done'), (e) => { process.stdout.write('error ' + e.message); process.exit(1) })`
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const exited = new Promise((resolve) => child.on('exit', (c, sig) => resolve(sig || c)))
    let ended = false
    exited.then(() => (ended = true))
    while (!ended && (await newRows()) < 50) await P.sleep(5)
    child.kill('SIGKILL')
    await exited
    const n = await newRows()
    expect([out, n > 0 && n < total]).toEqual(['', true])
    // the dead rotator's lease runs out (as it would after leaseTtlMs)
    await ctx.query(`UPDATE ${R.tables.leases} SET expires_at = now() - interval '1 second' WHERE account = $1`, [big])
    expect(await rejection(openPg(big, { encryptionKey: k2 }))).toMatchObject(KEY_ERROR)
    const mid = await openPg(big, { encryptionKey: k2, previousEncryptionKeys: [k1] })
    const ids = Object.keys(data['pre-key'])
    expect(dump(await mid.state.keys.get('pre-key', ids))).toBe(dump(data['pre-key']))
    await mid.close()
    expect((await ours.reencryptAuthStore({ kind: 'postgres', connection: ctx.url, account: big }, { encryptionKey: k2, previousEncryptionKeys: [k1] })).total).toBe(total)
    expect(await newRows()).toBe(total)
    const fin = await openPg(big, { encryptionKey: k2 })
    expect(dump(await fin.state.keys.get('pre-key', ids))).toBe(dump(data['pre-key']))
    await fin.close()
  })
})

// ---------------------------------------------------------------- migration

describe('migration', () => {
  test("Baileys' folder → PostgreSQL (k1) → SQLite (k2) → folder, and PostgreSQL (k1) → folder: every file byte for byte as Baileys wrote it; both sealed stores hold Baileys' bytes as plaintext", async () => {
    const k1 = newKey()
    const k2 = newKey()
    const account = accountName('mig')
    const dir = tmp('mig')
    const pgSpec = { kind: 'postgres', connection: ctx.url, account, encryptionKey: k1 }
    const db = path.join(dir, 'auth.db')
    const sqliteSpec = { kind: 'sqlite', path: db, encryptionKey: k2 }
    const steps = [
      [ref.dir, pgSpec],
      [pgSpec, sqliteSpec],
      [sqliteSpec, path.join(dir, 'from-sqlite')],
      [pgSpec, path.join(dir, 'from-pg')],
    ]
    for (const [from, to] of steps) {
      const r = await ours.migrateAuthStores(from, to)
      expect([r.total, r.differenceCount, r.verified]).toEqual([ref.count, 0, true])
      expect(`${r.from} ${r.to}`).not.toContain(ctx.pg.password)
    }
    expectRowsAreBaileysFiles(await R.keyRows(account), await R.credsBytes(account), k1, account)
    expectRowsAreBaileysFiles(T.keyRows(db), T.credsBytes(db), k2, '')
    const want = filesOf(ref.dir)
    for (const out of ['from-sqlite', 'from-pg']) expect([out, filesOf(path.join(dir, out))]).toEqual([out, want])
  })

  test('a folder with an encryptionKey is refused with a TypeError, as source or destination; nothing is created', async () => {
    const key = newKey()
    const dir = tmp('mig-folder')
    const refBefore = filesOf(ref.dir)
    const e1 = await rejection(ours.migrateAuthStores(ref.dir, { kind: 'folder', path: path.join(dir, 'enc'), encryptionKey: key }))
    expect(e1).toMatchObject({ name: 'TypeError' })
    expect(e1.message).not.toContain(key.toString('hex'))
    expect(fs.existsSync(path.join(dir, 'enc'))).toBe(false)
    const e2 = await rejection(ours.migrateAuthStores({ kind: 'folder', path: ref.dir, encryptionKey: key }, path.join(dir, 'x.db')))
    expect(e2).toMatchObject({ name: 'TypeError' })
    expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(false)
    expect(await rejection(ours.reencryptAuthStore({ kind: 'folder', path: ref.dir }, { encryptionKey: key }))).toMatchObject({ name: 'TypeError' })
    expect(filesOf(ref.dir)).toEqual(refBefore)
  })

  test('from an encrypted store with a wrong key or none: AuthKeyError, nothing created at the destination', async () => {
    const key = newKey()
    const dir = tmp('mig-wrong')
    const db = path.join(dir, 'src.db')
    await ours.migrateAuthStores(ref.dir, { kind: 'sqlite', path: db, encryptionKey: key })
    for (const [i, from] of [{ kind: 'sqlite', path: db, encryptionKey: newKey() }, db, { kind: 'sqlite', path: db }].entries()) {
      expect(await rejection(ours.migrateAuthStores(from, path.join(dir, `out-${i}`)))).toMatchObject(KEY_ERROR)
      expect(fs.existsSync(path.join(dir, `out-${i}`))).toBe(false)
    }
  })

  test("an encrypted SQLite file does not open in the JS store of Baileys' SQLite contract (bench/sqlite-reference.mjs), nor do its keys read there; the plain copy of it does", async () => {
    const key = newKey()
    const dir = tmp('mig-ref')
    const enc = path.join(dir, 'enc.db')
    const plain = path.join(dir, 'plain.db')
    await ours.migrateAuthStores(ref.dir, { kind: 'sqlite', path: enc, encryptionKey: key })
    await ours.migrateAuthStores({ kind: 'sqlite', path: enc, encryptionKey: key }, plain)
    const { useReferenceSqliteAuthState } = await import('../bench/sqlite-reference.mjs')
    const Driver = T.betterSqlite()
    expect(await rejection(useReferenceSqliteAuthState({ dbPath: enc, baileys, Driver }))).toMatchObject({ name: 'SyntaxError' })
    // without the creds row: it starts a fresh session, and every key it reads fails
    sqliteWrite(enc, 'DELETE FROM creds')
    const fresh = await useReferenceSqliteAuthState({ dbPath: enc, baileys, Driver })
    try {
      expect(fresh.state.creds.registered).toBe(false)
      expect(await rejection(fresh.state.keys.get('pre-key', ['1']))).toMatchObject({ name: 'SyntaxError' })
    } finally {
      await fresh.close()
    }
    const control = await useReferenceSqliteAuthState({ dbPath: plain, baileys, Driver })
    try {
      expect(dump(control.state.creds)).toBe(dump(ref.reader.state.creds))
      const ids = Object.keys(ref.data['pre-key'])
      const got = await control.state.keys.get('pre-key', ids)
      const want = await ref.reader.state.keys.get('pre-key', ids)
      expect(ids.map((id) => dump(got[id]))).toEqual(ids.map((id) => dump(want[id])))
    } finally {
      await control.close()
    }
  })
})

/** Every file of a folder but our lock, name → text. */
function filesOf(folder) {
  const out = {}
  for (const name of fs.readdirSync(folder).sort()) if (name !== '.baileys-auth.lock') out[name] = fs.readFileSync(path.join(folder, name)).toString('latin1')
  return out
}
