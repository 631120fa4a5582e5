'use strict'
// `initAuthCreds()` against the real Baileys lines: v6 (`@whiskeysockets/baileys`,
// CommonJS) and v7 (`baileys`, ESM, loaded with a dynamic import). Same keys in
// the same order, same types and lengths, and keys that libsignal accepts.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')

const v6 = require('@whiskeysockets/baileys')
const curve = require('libsignal/src/curve')
const ours = require('..')

let v7
beforeAll(async () => {
  v7 = await import('baileys')
})

const roots = []
function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-creds-${tag}-`))
  roots.push(d)
  return d
}
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
})

const FIVE = Buffer.from([5])
const withType = (pub) => Buffer.concat([FIVE, pub])

/** Key order, value types and byte lengths, recursively. */
function shape(v) {
  if (v === undefined) return 'undefined'
  if (v === null) return 'null'
  if (Buffer.isBuffer(v)) return `Buffer[${v.length}]`
  if (ArrayBuffer.isView(v)) return `${Object.prototype.toString.call(v)}[${v.byteLength}]`
  if (Array.isArray(v)) return v.map(shape)
  if (typeof v === 'object') {
    return Object.keys(v).map((k) => [k, shape(v[k])])
  }
  return typeof v
}

function jsonFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
}

/** The X25519 public key Node derives from a raw 32-byte private key. */
function x25519Public(priv) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), priv])
  const key = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  const spki = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' })
  return spki.subarray(spki.length - 32)
}

// XEdDSA verification with Node's Ed25519: the Montgomery public key u maps to
// the Edwards y = (u - 1) / (u + 1); the signature's top bit is the sign of x.
const P = 2n ** 255n - 19n
function modPow(b, e) {
  let r = 1n
  b %= P
  while (e) {
    if (e & 1n) r = (r * b) % P
    b = (b * b) % P
    e >>= 1n
  }
  return r
}
const le2n = (buf) => BigInt('0x' + (Buffer.from(buf).reverse().toString('hex') || '0'))
const n2le = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse()
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
function xeddsaVerify(montPub, msg, sig) {
  const u = le2n(montPub) & ((1n << 255n) - 1n)
  const y = ((((u - 1n) % P) + P) % P) * modPow(u + 1n, P - 2n) % P
  const edPub = n2le(y)
  edPub[31] |= sig[63] & 0x80
  const s = Buffer.from(sig)
  s[63] &= 0x7f
  const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, edPub]), format: 'der', type: 'spki' })
  return crypto.verify(null, msg, key, s)
}

const KEY_PAIRS = ['noiseKey', 'pairingEphemeralKeyPair', 'signedIdentityKey']

describe('key set and order', () => {
  test("default, 'v7' and 'any' give v7's keys, in v7's order, undefined ones included", () => {
    const ref = v7.initAuthCreds()
    const expectedKeys = Object.keys(ref)
    expect(expectedKeys).toContain('additionalData')
    for (const mine of [ours.initAuthCreds(), ours.initAuthCreds('v7'), ours.initAuthCreds('any'), ours.initAuthCreds(undefined), ours.initAuthCreds(null)]) {
      expect(Object.keys(mine)).toEqual(expectedKeys)
      for (const k of expectedKeys) {
        expect(Object.prototype.hasOwnProperty.call(mine, k)).toBe(true)
        if (ref[k] === undefined) expect(mine[k]).toBeUndefined()
      }
      expect(shape(mine)).toEqual(shape(ref))
    }
  })

  test("'v6' gives v6's keys, in v6's order", () => {
    const ref = v6.initAuthCreds()
    const mine = ours.initAuthCreds('v6')
    expect(Object.keys(mine)).toEqual(Object.keys(ref))
    expect(Object.keys(mine)).not.toContain('additionalData')
    for (const k of ['pairingCode', 'lastPropHash', 'routingInfo']) {
      expect(Object.prototype.hasOwnProperty.call(mine, k)).toBe(true)
      expect(mine[k]).toBeUndefined()
    }
    expect(shape(mine)).toEqual(shape(ref))
  })

  test('nested key order matches Baileys (key pairs, signed pre-key, settings)', () => {
    const ref = v7.initAuthCreds()
    const mine = ours.initAuthCreds()
    for (const k of KEY_PAIRS) expect(Object.keys(mine[k])).toEqual(Object.keys(ref[k]))
    expect(Object.keys(mine.signedPreKey)).toEqual(Object.keys(ref.signedPreKey))
    expect(Object.keys(mine.signedPreKey.keyPair)).toEqual(Object.keys(ref.signedPreKey.keyPair))
    expect(Object.keys(mine.accountSettings)).toEqual(Object.keys(ref.accountSettings))
  })

  test('a bad flavor throws a TypeError (of the main realm: compare by name)', () => {
    for (const bad of ['v5', 7, {}]) {
      let err
      try {
        ours.initAuthCreds(bad)
      } catch (e) {
        err = e
      }
      expect(err).toBeDefined()
      expect(err.name).toBe('TypeError')
      expect(err.message).toMatch(/flavor must be 'v6', 'v7' or 'any'/)
    }
  })
})

describe('values', () => {
  test('types, lengths and constants', () => {
    for (const flavor of [undefined, 'v6', 'v7']) {
      const c = ours.initAuthCreds(flavor)
      for (const k of [...KEY_PAIRS]) {
        expect(Buffer.isBuffer(c[k].private)).toBe(true)
        expect(Buffer.isBuffer(c[k].public)).toBe(true)
        expect(c[k].private).toHaveLength(32)
        expect(c[k].public).toHaveLength(32)
      }
      expect(Buffer.isBuffer(c.signedPreKey.keyPair.private)).toBe(true)
      expect(c.signedPreKey.keyPair.private).toHaveLength(32)
      expect(c.signedPreKey.keyPair.public).toHaveLength(32)
      expect(Buffer.isBuffer(c.signedPreKey.signature)).toBe(true)
      expect(c.signedPreKey.signature).toHaveLength(64)
      expect(c.signedPreKey.keyId).toBe(1)
      expect(Number.isInteger(c.registrationId)).toBe(true)
      expect(typeof c.advSecretKey).toBe('string')
      const adv = Buffer.from(c.advSecretKey, 'base64')
      expect(adv).toHaveLength(32)
      expect(adv.toString('base64')).toBe(c.advSecretKey) // standard alphabet, padded
      expect(c.advSecretKey).toMatch(/^[A-Za-z0-9+/]{43}=$/)
      expect(c.processedHistoryMessages).toEqual([])
      expect(Array.isArray(c.processedHistoryMessages)).toBe(true)
      expect(c.nextPreKeyId).toBe(1)
      expect(c.firstUnuploadedPreKeyId).toBe(1)
      expect(c.accountSyncCounter).toBe(0)
      expect(c.accountSettings).toEqual({ unarchiveChats: false })
      expect(c.registered).toBe(false)
    }
  })

  test('every draw is fresh: no key material repeats', () => {
    const seen = new Set()
    for (let i = 0; i < 50; i++) {
      const c = ours.initAuthCreds()
      for (const b of [
        c.noiseKey.private,
        c.noiseKey.public,
        c.pairingEphemeralKeyPair.private,
        c.signedIdentityKey.private,
        c.signedPreKey.keyPair.private,
        c.signedPreKey.signature,
        Buffer.from(c.advSecretKey, 'base64'),
      ]) {
        const hex = b.toString('hex')
        expect(seen.has(hex)).toBe(false)
        seen.add(hex)
      }
      // the four key pairs are distinct from each other within one draw
      expect(c.noiseKey.private.equals(c.signedIdentityKey.private)).toBe(false)
    }
  })

  test('public keys are the X25519 publics of the private keys', () => {
    for (let i = 0; i < 50; i++) {
      const c = ours.initAuthCreds()
      for (const kp of [c.noiseKey, c.pairingEphemeralKeyPair, c.signedIdentityKey, c.signedPreKey.keyPair]) {
        expect(x25519Public(kp.private).equals(kp.public)).toBe(true)
      }
    }
  })

  test("libsignal's calculateAgreement is symmetric between two of our key pairs", () => {
    for (let i = 0; i < 50; i++) {
      const a = ours.initAuthCreds().noiseKey
      const b = ours.initAuthCreds().signedIdentityKey
      const ab = curve.calculateAgreement(withType(b.public), a.private)
      const ba = curve.calculateAgreement(withType(a.public), b.private)
      expect(ab).toHaveLength(32)
      expect(ab.equals(ba)).toBe(true)
      // and with Baileys' own helper
      expect(Buffer.from(v6.Curve.sharedKey(a.private, b.public)).equals(ab)).toBe(true)
    }
  })

  // libsignal's verifier is pure JS (curve25519-js) and slow inside jest's VM
  // context, so it checks a few dozen draws; the same XEdDSA check done with
  // Node's Ed25519 (below) covers many more.
  test("the signed pre-key signature verifies with libsignal's verifySignature; a tampered one does not", () => {
    for (let i = 0; i < 24; i++) {
      const c = ours.initAuthCreds(i % 2 ? 'v6' : undefined)
      const idPub = withType(c.signedIdentityKey.public)
      const msg = withType(c.signedPreKey.keyPair.public)
      const sig = c.signedPreKey.signature
      expect(curve.verifySignature(idPub, msg, sig)).toBe(true)
      if (i % 4 === 0) {
        const badSig = Buffer.from(sig)
        badSig[(i * 7) % 64] ^= 1 << i % 8
        expect(curve.verifySignature(idPub, msg, badSig)).toBe(false)
        const badMsg = Buffer.from(msg)
        badMsg[1 + (i % 32)] ^= 0x80
        expect(curve.verifySignature(idPub, badMsg, sig)).toBe(false)
        // by the identity key, not by another key
        expect(curve.verifySignature(withType(c.noiseKey.public), msg, sig)).toBe(false)
      }
    }
    // Baileys' own helper agrees
    const c = ours.initAuthCreds()
    expect(v6.Curve.verify(c.signedIdentityKey.public, withType(c.signedPreKey.keyPair.public), c.signedPreKey.signature)).toBe(true)
  })

  test('the same XEdDSA check through Node Ed25519 holds for 1,000 draws; tampering is caught', () => {
    for (let i = 0; i < 1000; i++) {
      const c = ours.initAuthCreds(i % 2 ? 'v6' : undefined)
      const msg = withType(c.signedPreKey.keyPair.public)
      const sig = c.signedPreKey.signature
      if (!xeddsaVerify(c.signedIdentityKey.public, msg, sig)) throw new Error(`draw ${i}: signature does not verify`)
      const badSig = Buffer.from(sig)
      badSig[i % 64] ^= 1 << i % 8
      if (xeddsaVerify(c.signedIdentityKey.public, msg, badSig)) throw new Error(`draw ${i}: tampered signature verifies`)
      // signed over 0x05 || public, not over the bare public key
      if (xeddsaVerify(c.signedIdentityKey.public, c.signedPreKey.keyPair.public, sig)) throw new Error(`draw ${i}: bare key verifies`)
    }
    // signatures are randomized (libsignal's calculateSignature is): no repeats
    const sigs = new Set()
    for (let i = 0; i < 200; i++) sigs.add(ours.initAuthCreds().signedPreKey.signature.toString('hex'))
    expect(sigs.size).toBe(200)
  })

  test('Baileys-made signed pre-keys pass both checks (the checks themselves are sound)', () => {
    const c = v6.initAuthCreds()
    expect(
      curve.verifySignature(withType(c.signedIdentityKey.public), withType(c.signedPreKey.keyPair.public), c.signedPreKey.signature),
    ).toBe(true)
    for (let i = 0; i < 16; i++) {
      const r = (i % 2 ? v6 : v7).initAuthCreds()
      expect(xeddsaVerify(r.signedIdentityKey.public, withType(r.signedPreKey.keyPair.public), r.signedPreKey.signature)).toBe(true)
    }
  })

  test('registrationId: 10,000 draws stay in 0..255 and cover many values', () => {
    const counts = new Map()
    for (let i = 0; i < 10000; i++) {
      const id = ours.initAuthCreds(i % 3 === 0 ? 'v6' : undefined).registrationId
      if (!(Number.isInteger(id) && id >= 0 && id <= 255)) throw new Error(`registrationId out of range: ${id}`)
      counts.set(id, (counts.get(id) || 0) + 1)
    }
    // 10,000 uniform draws over 256 values miss one with probability ~1e-14
    expect(counts.size).toBeGreaterThanOrEqual(250)
    expect(counts.has(0) || counts.has(1)).toBe(true)
    expect(counts.has(255) || counts.has(254)).toBe(true)
  })
})

describe('useMultiFileAuthState on an empty folder', () => {
  test.each([
    ['default flavor', undefined, () => v7.initAuthCreds()],
    ["flavor 'v7'", { flavor: 'v7' }, () => v7.initAuthCreds()],
    ["flavor 'v6'", { flavor: 'v6' }, () => v6.initAuthCreds()],
  ])('%s: fresh creds, nothing written until saveCreds (like Baileys)', async (_label, opts, refCreds) => {
    const d = tmpDir('empty')
    const dB = tmpDir('empty-b')
    const b = await (opts && opts.flavor === 'v6' ? v6 : v7).useMultiFileAuthState(dB)
    const o = await ours.useMultiFileAuthState(d, opts)
    expect(jsonFiles(d)).toEqual([])
    expect(jsonFiles(dB)).toEqual([])
    expect(fs.readdirSync(dB)).toEqual([])
    // only the lock dot-file, no credentials
    expect(fs.readdirSync(d).filter((f) => !f.startsWith('.'))).toEqual([])

    const ref = refCreds()
    expect(Object.keys(o.state.creds)).toEqual(Object.keys(ref))
    expect(shape(o.state.creds)).toEqual(shape(ref))
    expect(shape(o.state.creds)).toEqual(shape(b.state.creds))
    expect(
      curve.verifySignature(
        withType(o.state.creds.signedIdentityKey.public),
        withType(o.state.creds.signedPreKey.keyPair.public),
        o.state.creds.signedPreKey.signature,
      ),
    ).toBe(true)

    // reading keys does not write anything either
    expect(await o.state.keys.get('pre-key', ['1'])).toEqual({ 1: null })
    expect(jsonFiles(d)).toEqual([])

    // a second open before any save gives other fresh creds: nothing was stored
    const again = await ours.useMultiFileAuthState(d, opts)
    expect(again.state.creds.noiseKey.private.equals(o.state.creds.noiseKey.private)).toBe(false)

    await o.saveCreds()
    expect(jsonFiles(d)).toEqual(['creds.json'])
    const reopened = await ours.useMultiFileAuthState(d, opts)
    const text = fs.readFileSync(path.join(d, 'creds.json'), 'utf8')
    expect(text).toBe(JSON.stringify(o.state.creds, v6.BufferJSON.replacer))
    expect(reopened.state.creds.noiseKey.private.equals(o.state.creds.noiseKey.private)).toBe(true)
    expect(reopened.state.creds.signedPreKey.signature.equals(o.state.creds.signedPreKey.signature)).toBe(true)
    // undefined-valued keys are not in the file, so not in what is read back
    expect(Object.keys(reopened.state.creds)).toEqual(Object.keys(o.state.creds).filter((k) => o.state.creds[k] !== undefined))
    // Baileys reads our file to the same creds
    const bReads = await (opts && opts.flavor === 'v6' ? v6 : v7).useMultiFileAuthState(d)
    expect(bReads.state.creds).toEqual(reopened.state.creds)
  })
})
