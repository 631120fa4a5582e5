#!/usr/bin/env node
'use strict'
// Malformed-file campaign.
//
//   node scripts/malformed-campaign.js [--count 100000] [--seed 1] [--workers 2]
//                                      [--chunk 2500] [--json] [--no-huge]
//
// Takes real files written by Baileys v7's own helper (a creds.json with the
// fields a linked device has, and key files of every type Baileys stores),
// derives `--count` bad files from them — truncation at every byte, byte
// flips, zero-filled ranges, invalid UTF-8, deletions, duplications, spliced
// torn writes, token and number swaps, escapes, Buffer forms, BOMs, plus deep
// (up to 200,000 levels) and huge (30 MB, over the 64 MiB cap) files — and
// reads each one through baileys-auth-native, in child processes (a crash
// shows as a non-zero exit or a signal):
//
// - as a key file through `keys.get`: when `JSON.parse(text, BufferJSON.reviver)`
//   of the chosen Baileys line still parses, the answer equals what Baileys'
//   helper answers (same types, values and key order; `app-state-sync-key`
//   through the same `fromObject`, and a
//   `fromObject` that throws rejects both). Otherwise the answer is null, the
//   file is moved aside as `<name>.corrupt-<ms>` with its bytes kept and a
//   warning is logged — except when only the v6 reviver throws (Baileys:
//   "missing"), where the answer is null and the file stays where it is.
//   Past 2,048 levels of nesting the answer is null + moved aside (our
//   documented limit, counted in non-empty arrays and objects: an empty `[]`
//   or `{}` is a leaf; Baileys' own reader dies of a RangeError a bit further).
// - as creds.json by opening a folder: it loads (equal to what Baileys'
//   reader gives) when that is a JSON object, otherwise AuthFileCorruptError
//   and the file is byte-identical afterwards.
//
// Chunks alternate between the v7 and the v6 reader (option `flavor`).
// Exit code: 0 when there was no crash and no mismatch.

const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
// MALFORMED_PKG: a copy of the package to test (its index.js), for a long run
// while this checkout may be rebuilt; by default this checkout.
const PKG = process.env.MALFORMED_PKG || path.join(ROOT, 'index.js')
const MAX_DEPTH = 2048

function parseArgs(argv) {
  const out = { count: 100000, seed: 1, workers: 2, chunk: 2500, json: false, huge: true, worker: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    if (a === '--count') out.count = Number(next())
    else if (a === '--seed') out.seed = Number(next())
    else if (a === '--workers') out.workers = Number(next())
    else if (a === '--chunk') out.chunk = Number(next())
    else if (a === '--json') out.json = true
    else if (a === '--no-huge') out.huge = false
    else if (a === '--worker') out.worker = JSON.parse(next())
    else throw new Error(`unknown argument ${a}`)
  }
  return out
}

// ---------------------------------------------------------------------------
// Deterministic randomness: every task is a pure function of (seed, index).

function rngFor(seed, index) {
  let a = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) | 0
  const next = () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  const pick = (arr) => arr[int(arr.length)]
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)))
  return { next, int, pick, bytes }
}

// ---------------------------------------------------------------------------
// Base files, written by Baileys v7's own useMultiFileAuthState.

async function makeBases(dir) {
  const b = await import('baileys')
  const folder = path.join(dir, 'baileys-v7')
  const { state, saveCreds } = await b.useMultiFileAuthState(folder)
  const r = (n) => crypto.randomBytes(n)
  Object.assign(state.creds, {
    me: { id: '4917000000:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Malformed Bot' },
    account: { details: r(80), accountSignatureKey: r(32), accountSignature: r(64), deviceSignature: r(64) },
    signalIdentities: [{ identifier: { name: '4917000000:12@s.whatsapp.net', deviceId: 0 }, identifierKey: Buffer.concat([Buffer.from([5]), r(32)]) }],
    platform: 'android',
    myAppStateKeyId: r(6).toString('base64'),
    lastAccountSyncTimestamp: 1700000000,
    processedHistoryMessages: [{ key: { remoteJid: '4917000000@s.whatsapp.net', fromMe: true, id: r(8).toString('hex').toUpperCase() }, messageTimestamp: 1700000123 }],
    routingInfo: r(24),
    registered: true,
    nextPreKeyId: 813,
    firstUnuploadedPreKeyId: 813,
    accountSyncCounter: 3,
    lastPropHash: '3gPUJk',
  })
  await saveCreds()
  const b64 = (n) => r(n).toString('base64')
  const session = {
    _sessions: {
      [b64(33)]: {
        registrationId: 4242,
        currentRatchet: { ephemeralKeyPair: { pubKey: b64(33), privKey: b64(32) }, lastRemoteEphemeralKey: b64(33), previousCounter: 0, rootKey: b64(32) },
        indexInfo: { baseKey: b64(33), baseKeyType: 2, closed: -1, used: 1700000000000, created: 1700000000000, remoteIdentityKey: b64(33) },
        _chains: { [b64(33)]: { chainKey: { counter: 3, key: b64(32) }, chainType: 1, messageKeys: { 1: b64(32), 2: b64(32) } } },
        pendingPreKey: { signedKeyId: 1, baseKey: b64(33), preKeyId: 31 },
      },
    },
    version: 'v1',
  }
  const appStateKey = b.proto.Message.AppStateSyncKeyData.fromObject({
    keyData: r(32),
    fingerprint: { rawId: 1234567, currentIndex: 2, deviceIndexes: [0, 1, 12] },
    timestamp: 1700000000123,
  })
  await state.keys.set({
    'pre-key': { 1: { private: r(32), public: r(32) } },
    session: { '4917000001:3@s.whatsapp.net': session },
    'sender-key': { '120363000000000000@g.us::4917000001:3': [{ senderKeyId: 123456, senderChainKey: { iteration: 7, seed: b64(32) }, senderSigningKey: { public: b64(33) }, senderMessageKeys: [{ iteration: 5, seed: b64(32) }] }] },
    'sender-key-memory': { '120363000000000000@g.us': { '4917000001:3@s.whatsapp.net': true, '4917000002@s.whatsapp.net': true } },
    'app-state-sync-key': { [b64(6)]: appStateKey },
    'app-state-sync-version': { regular_high: { version: 12, hash: r(128), indexValueMap: { [b64(32)]: { valueMac: r(32) }, [b64(32)]: { valueMac: r(32) } } } },
    'lid-mapping': { '4917000001': '123456789012345@lid' },
    'device-list': { '4917000001': ['0', '3', '12'] },
    tctoken: { '4917000001@s.whatsapp.net': { token: r(20), timestamp: '1700000000' } },
    'identity-key': { '4917000001.3': Buffer.concat([Buffer.from([5]), r(32)]) },
  })
  const bases = []
  for (const name of fs.readdirSync(folder).sort()) {
    const bytes = fs.readFileSync(path.join(folder, name))
    if (name === 'creds.json') bases.push({ name, kind: 'creds', bytes: bytes.toString('base64') })
    else {
      const type = ['app-state-sync-version', 'app-state-sync-key', 'sender-key-memory', 'sender-key', 'pre-key', 'session', 'lid-mapping', 'device-list', 'tctoken', 'identity-key'].find((t) => name.startsWith(`${t}-`))
      bases.push({ name, kind: 'key', keyType: type, bytes: bytes.toString('base64') })
    }
  }
  // A file of an old version that stored a Uint8Array as an index-keyed object (v7 revives it).
  bases.push({ name: 'pre-key-legacy.json', kind: 'key', keyType: 'pre-key', bytes: Buffer.from(JSON.stringify({ private: Object.assign({}, Array.from(r(32))), public: Object.assign({}, Array.from(r(32))) })).toString('base64') })
  // v6's Buffer forms.
  bases.push({ name: 'pre-key-v6forms.json', kind: 'key', keyType: 'pre-key', bytes: Buffer.from(JSON.stringify({ private: { buffer: true, data: b64(32) }, public: { type: 'Buffer', data: Array.from(r(8)) } })).toString('base64') })
  return bases
}

// ---------------------------------------------------------------------------
// Mutations.

const INVALID_UTF8 = [[0xff], [0xfe], [0x80], [0xbf], [0xc3], [0xc3, 0x28], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]
const ESCAPES = ['\\u0000', '\\ud800', '\\udc00', '\\ud83d\\ude00', '\\ud83d', '\\"', '\\\\', '\\/', '\\b\\f\\n\\r\\t', '\\u2028', '\\uFFFF', '\\x41', '\\u12', '\\', '\u2028', '\u0001']
const NUMBERS = ['1e400', '-1e400', '-0', '1e-400', '123456789012345678901234567890', '0.1e1', '01', '1.', '.5', '-', '1e', 'NaN', 'Infinity', '0x10', '5e-324', '1.7976931348623157e308', '9007199254740993']
const TOKENS = ['{', '}', '[', ']', ',', ':', '"', 'true', 'false', 'null', 'ture', '{}', '[]', '""', ' ', '\\', "'", '\u00a0', '\ufeff']
const BUFFER_FORMS = [
  '{"type":"Buffer","data":"AAEC"}',
  '{"type":"Buffer","data":[1,2,3]}',
  '{"type":"Buffer","data":5}',
  '{"type":"Buffer","data":{"length":3}}',
  '{"type":"Buffer","data":"A-_B"}',
  '{"type":"Buffer","data":"AA==BB"}',
  '{"type":"Buffer","data":" A A E C "}',
  '{"type":"Buffer"}',
  '{"buffer":true,"data":"AAEC"}',
  '{"buffer":true,"value":[1,2]}',
  '{"buffer":true}',
  '{"0":1,"1":2,"2":300}',
  '{"1a":1," 2":2,"-1":3}',
  '{"0":1.9,"1":-1,"2":1e300}',
  '{"0":1,"x":2}',
  '{"0":"1"}',
  '{"type":"Buffer","data":"AAEC","extra":1}',
  '{"__proto__":{"type":"Buffer","data":"AAEC"}}',
]

function mutateRandom(base, rnd, otherOfSameKind) {
  const b = Buffer.from(base)
  const at = () => rnd.int(b.length + 1)
  // One of `items` inserted just inside a string (after a quote), or anywhere when there is none.
  const insertInString = (items) => {
    const quotes = []
    for (let i = 0; i < b.length; i++) if (b[i] === 0x22) quotes.push(i)
    const p = quotes.length ? rnd.pick(quotes) + 1 : at()
    return Buffer.concat([b.subarray(0, p), Buffer.from(rnd.pick(items)), b.subarray(p)])
  }
  const kinds = ['flip', 'byte', 'zeros', 'block', 'utf8', 'utf8InString', 'delete', 'dup', 'splice', 'token', 'number', 'escape', 'whitespace', 'bom', 'bufferForm', 'dupKey', 'truncGarbage']
  const kind = rnd.pick(kinds)
  let out
  switch (kind) {
    case 'flip': {
      out = Buffer.from(b)
      for (let k = 1 + rnd.int(3); k > 0 && out.length; k--) out[rnd.int(out.length)] ^= 1 << rnd.int(8)
      break
    }
    case 'byte': {
      out = Buffer.from(b)
      if (out.length) out[rnd.int(out.length)] = rnd.int(256)
      break
    }
    case 'zeros': {
      out = Buffer.from(b)
      const s = rnd.int(out.length)
      out.fill(0, s, Math.min(out.length, s + 1 + rnd.int(512)))
      break
    }
    case 'block': {
      // A torn page: a 512-byte aligned block of zeros, or the file cut at a block boundary.
      out = Buffer.from(b)
      const blk = 512 * rnd.int(Math.ceil(out.length / 512))
      out = rnd.next() < 0.5 ? out.fill(0, blk, Math.min(out.length, blk + 512)) : out.subarray(0, blk)
      break
    }
    case 'utf8': {
      const p = at()
      out = Buffer.concat([b.subarray(0, p), Buffer.from(rnd.pick(INVALID_UTF8)), b.subarray(rnd.next() < 0.5 ? p : Math.min(b.length, p + 1))])
      break
    }
    case 'utf8InString':
      out = insertInString(INVALID_UTF8)
      break
    case 'delete': {
      const s = at()
      out = Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + 1 + rnd.int(64)))])
      break
    }
    case 'dup': {
      const s = at()
      const e = Math.min(b.length, s + 1 + rnd.int(64))
      out = Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)])
      break
    }
    case 'splice': {
      // A torn overwrite: the start of one version and the end of another.
      const o = otherOfSameKind
      out = Buffer.concat([b.subarray(0, at()), o.subarray(rnd.int(o.length + 1))])
      break
    }
    case 'token': {
      const text = b.toString('latin1')
      const positions = []
      for (let i = 0; i < text.length; i++) if ('{}[],:"'.includes(text[i])) positions.push(i)
      const p = positions.length ? rnd.pick(positions) : 0
      out = Buffer.concat([b.subarray(0, p), Buffer.from(rnd.pick(TOKENS)), b.subarray(p + (rnd.next() < 0.7 ? 1 : 0))])
      break
    }
    case 'number': {
      const text = b.toString('latin1')
      const re = /-?\d+(\.\d+)?([eE][+-]?\d+)?/g
      const found = []
      let m
      while ((m = re.exec(text))) {
        // Only numbers outside strings: preceded by ':' '[' or ','.
        if (/[:\[,]/.test(text[m.index - 1] || '')) found.push([m.index, m[0].length])
      }
      if (!found.length) {
        out = Buffer.concat([b, Buffer.from(rnd.pick(NUMBERS))])
        break
      }
      const [p, n] = rnd.pick(found)
      out = Buffer.concat([b.subarray(0, p), Buffer.from(rnd.pick(NUMBERS)), b.subarray(p + n)])
      break
    }
    case 'escape':
      out = insertInString(ESCAPES)
      break
    case 'whitespace': {
      const text = b.toString('latin1')
      const positions = []
      for (let i = 0; i <= text.length; i++) if (i === 0 || i === text.length || '{}[],:'.includes(text[i]) || '{}[],:'.includes(text[i - 1])) positions.push(i)
      const p = rnd.pick(positions)
      out = Buffer.concat([b.subarray(0, p), Buffer.from(rnd.pick([' ', '\n', '\r\n', '\t', '  \n\t ', '\u000b', '\f'])), b.subarray(p)])
      break
    }
    case 'bom':
      out = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])
      break
    case 'bufferForm': {
      const text = b.toString('latin1')
      const re = /\{"type":"Buffer","data":"[^"]*"\}/g
      const found = []
      let m
      while ((m = re.exec(text))) found.push([m.index, m[0].length])
      const form = Buffer.from(rnd.pick(BUFFER_FORMS))
      if (!found.length) {
        const colon = text.indexOf(':')
        out = colon < 0 ? Buffer.concat([b, form]) : Buffer.concat([b.subarray(0, colon + 1), form, Buffer.from(','), b.subarray(colon + 1)])
        break
      }
      const [p, n] = rnd.pick(found)
      out = Buffer.concat([b.subarray(0, p), form, b.subarray(p + n)])
      break
    }
    case 'dupKey': {
      const text = b.toString('latin1')
      const opens = []
      for (let i = 0; i < text.length; i++) if (text[i] === '{' && text[i + 1] === '"') opens.push(i)
      const p = opens.length ? rnd.pick(opens) + 1 : 0
      const ins = rnd.pick(['"type":"Buffer",', '"data":"AAAA",', '"__proto__":{"polluted":1},', '"a":1,"a":2,', '"0":1,', '"constructor":{"prototype":{"x":1}},'])
      out = Buffer.concat([b.subarray(0, p), Buffer.from(ins), b.subarray(p)])
      break
    }
    case 'truncGarbage':
      out = Buffer.concat([b.subarray(0, at()), rnd.bytes(1 + rnd.int(64))])
      break
  }
  return { kind, bytes: out }
}

/**
 * The campaign's tasks, each a pure function of its index: first the
 * truncations (every byte of every base when the count allows, else evenly
 * spaced ones), then random mutations. Deep and huge files are their own chunk.
 */
function planner(bases, count, seed) {
  const decoded = bases.map((b) => ({ ...b, buf: Buffer.from(b.bytes, 'base64') }))
  const truncTotal = decoded.reduce((n, b) => n + b.buf.length, 0)
  const truncCount = count >= 2 * truncTotal ? truncTotal : Math.floor(count * 0.3)
  const creds = decoded.filter((b) => b.kind === 'creds')
  const keys = decoded.filter((b) => b.kind === 'key')
  function task(i) {
    if (i < truncCount) {
      // Map i to a (base, offset) among all truncations, evenly spaced.
      let k = truncCount === truncTotal ? i : Math.floor((i * truncTotal) / truncCount)
      for (const b of decoded) {
        if (k < b.buf.length) return { i, base: b, kind: 'truncate', bytes: b.buf.subarray(0, k) }
        k -= b.buf.length
      }
    }
    const rnd = rngFor(seed, i)
    // Creds get a third of the random mutations: it is the file that matters most.
    const pool = rnd.next() < 0.33 ? creds : keys
    const base = rnd.pick(pool)
    const other = rnd.pick(pool).buf
    const m = mutateRandom(base.buf, rnd, other)
    // Now and then a second mutation on top.
    const m2 = rnd.next() < 0.2 ? mutateRandom(m.bytes, rnd, other) : null
    return { i, base, kind: m2 ? `${m.kind}+${m2.kind}` : m.kind, bytes: m2 ? m2.bytes : m.bytes }
  }
  return { task, truncTotal, truncCount }
}

/** The special tasks: deep and huge files. */
function specialTasks(bases, huge) {
  const decoded = bases.map((b) => ({ ...b, buf: Buffer.from(b.bytes, 'base64') }))
  const creds = decoded.find((b) => b.kind === 'creds')
  const key = decoded.find((b) => b.keyType === 'pre-key' && b.name === 'pre-key-1.json')
  const out = []
  let n = 0
  const add = (base, kind, bytes) => out.push({ i: `special-${n++}`, base, kind, bytes })
  for (const d of [100, 2046, 2047, 2048, 2049, 2050, 2100, 2500, 5000, 200000]) {
    add(key, `deep-array-${d}`, Buffer.from('['.repeat(d) + ']'.repeat(d)))
    add(key, `deep-array-1-${d}`, Buffer.from('['.repeat(d) + '1' + ']'.repeat(d)))
    add(key, `deep-object-${d}`, Buffer.from('{"a":'.repeat(d) + '1' + '}'.repeat(d)))
    add(key, `deep-object-empty-${d}`, Buffer.from('{"a":'.repeat(d - 1) + '{}' + '}'.repeat(d - 1)))
    add(key, `deep-unclosed-${d}`, Buffer.from('[{"a":'.repeat(d)))
    add(creds, `deep-creds-${d}`, Buffer.from('{"a":'.repeat(d) + '1' + '}'.repeat(d)))
  }
  // Valid files with a deep value inside a real one.
  add(creds, 'creds-deep-inside-2000', Buffer.from(creds.buf.toString().replace(/^\{/, `{"deep":${'['.repeat(2000)}${']'.repeat(2000)},`)))
  add(creds, 'creds-deep-inside-3000', Buffer.from(creds.buf.toString().replace(/^\{/, `{"deep":${'['.repeat(3000)}${']'.repeat(3000)},`)))
  if (huge) {
    const payload = crypto.randomBytes(22 * 1024 * 1024)
    add(key, 'huge-valid-30MB', Buffer.from(JSON.stringify({ private: { type: 'Buffer', data: payload.toString('base64') } })))
    add(key, 'huge-garbage-30MB', crypto.randomBytes(30 * 1024 * 1024))
    add(key, 'huge-string-30MB', Buffer.from(JSON.stringify('x'.repeat(30 * 1024 * 1024))))
    add(key, 'huge-many-keys', Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 300000 }, (_, i) => [`k${i}`, i])))))
    add(key, 'huge-numeric-object', Buffer.from(JSON.stringify(Object.assign({}, Array.from({ length: 200000 }, (_, i) => i & 255)))))
    add(creds, 'huge-creds-valid-30MB', Buffer.from(creds.buf.toString().replace(/^\{/, `{"blob":"${'A'.repeat(30 * 1024 * 1024)}",`)))
    add(creds, 'huge-creds-garbage-30MB', crypto.randomBytes(30 * 1024 * 1024))
    add(key, 'over-cap-64MiB-and-1', { sparse: 64 * 1024 * 1024 + 1 })
    add(creds, 'over-cap-creds-64MiB-and-1', { sparse: 64 * 1024 * 1024 + 1 })
  }
  return out
}

// ---------------------------------------------------------------------------
// The worker: reads its chunk through the package, checks every answer.

/**
 * A canonical text of a value: types (Buffer, plain object, class instances
 * by constructor name), key order, -0, lone surrogates. Iterative, so that
 * values 2,048 levels deep compare without exhausting the stack.
 */
function canon(root) {
  const out = []
  const stack = [{ v: root }]
  while (stack.length) {
    const item = stack.pop()
    if (item.text !== undefined) {
      out.push(item.text)
      continue
    }
    const v = item.v
    if (v === null) out.push('null')
    else if (v === undefined) out.push('undefined')
    else if (typeof v === 'number') out.push(Object.is(v, -0) ? 'N-0' : `N${v}`)
    else if (typeof v === 'string') out.push(`S${JSON.stringify(v)}`)
    else if (typeof v === 'boolean') out.push(v ? 'T' : 'F')
    else if (Buffer.isBuffer(v)) out.push(`B${v.toString('base64')}`)
    else if (Array.isArray(v)) {
      out.push('[')
      stack.push({ text: ']' })
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] })
        if (i) stack.push({ text: ',' })
      }
    } else if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v)
      out.push(proto === Object.prototype ? '{' : `${proto && proto.constructor ? proto.constructor.name : 'null'}{`)
      stack.push({ text: '}' })
      const keys = Object.keys(v)
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ v: v[keys[i]] })
        stack.push({ text: `${i ? ',' : ''}${JSON.stringify(keys[i])}:` })
      }
    } else out.push(`?${typeof v}`)
  }
  return out.join('')
}

function depthOf(text) {
  let d = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      // Our parser counts non-empty containers only: an empty `[]` or `{}`
      // is a leaf, wherever it is.
      let j = i + 1
      while (j < text.length && ' \t\n\r'.includes(text[j])) j++
      if (text[j] === (c === '[' ? ']' : '}')) i = j
      else max = Math.max(max, ++d)
    } else if (c === ']' || c === '}') d--
  }
  return max
}

async function worker(spec) {
  const { dir, seed, count, start, end, flavor, special, huge } = spec
  const bases = JSON.parse(fs.readFileSync(path.join(dir, 'bases.json'), 'utf8'))
  const pkg = require(PKG)
  const ref = flavor === 'v6' ? require('@whiskeysockets/baileys') : await import('baileys')
  const { BufferJSON, proto } = ref
  const replacer = BufferJSON.replacer
  const plan = planner(bases, count, seed)
  const tasks = special ? specialTasks(bases, huge) : Array.from({ length: end - start }, (_, k) => plan.task(start + k))
  const work = fs.mkdtempSync(path.join(dir, `w-${special ? 'special' : start}-`))
  const stats = { files: 0, keys: 0, creds: 0, keyValue: 0, keyNullMoved: 0, keyNullKept: 0, keyRejected: 0, credsLoaded: 0, credsCorrupt: 0, kinds: {}, mismatches: [] }
  const mismatch = (t, what, detail) => {
    if (stats.mismatches.length < 50) stats.mismatches.push({ i: t.i, base: t.base.name, kind: t.kind, flavor, what, detail: String(detail).slice(0, 300), bytes: t.bytes.length > 400 ? `${t.bytes.length} bytes` : Buffer.from(t.bytes).toString('base64') })
    else stats.mismatches.length++
  }
  const sameValue = (a, b) => canon(a) === canon(b)
  const writeTaskFile = (file, t) => {
    if (t.bytes.sparse) {
      fs.closeSync(fs.openSync(file, 'w'))
      fs.truncateSync(file, t.bytes.sparse)
    } else fs.writeFileSync(file, t.bytes)
  }
  const fileSha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
  const taskSha = (t) => (t.bytes.sparse ? null : crypto.createHash('sha256').update(t.bytes).digest('hex'))

  /**
   * protobufjs' `fromObject` sizes `keyData` from the base64 text
   * (`base64.length`) but, for malformed base64, decodes fewer bytes into a
   * `Buffer.allocUnsafe` buffer: the tail is uninitialized memory, different
   * on every call (a Baileys/protobufjs quirk, the same for both sides since
   * both call the same `fromObject`). Those bytes are zeroed on both sides
   * before comparing; the length and every decoded byte still count.
   */
  function uninitializedTail(type, parsed, got, want) {
    if (type !== 'app-state-sync-key' || !parsed || typeof parsed.keyData !== 'string' || !got || !want) return [got, want]
    const { util: pbUtil } = require(require.resolve('protobufjs/minimal', { paths: [path.dirname(require.resolve('@whiskeysockets/baileys'))] }))
    let written
    try {
      written = pbUtil.base64.decode(parsed.keyData, Buffer.alloc(Math.ceil(pbUtil.base64.length(parsed.keyData))), 0)
    } catch {
      return [got, want]
    }
    const fix = (v) => {
      if (!v || !v.keyData || written >= v.keyData.length) return v
      const copy = Object.assign(Object.create(Object.getPrototypeOf(v)), v)
      copy.keyData = Buffer.from(v.keyData).fill(0, written)
      return copy
    }
    return [fix(got), fix(want)]
  }

  /** What Baileys' reader gives for these bytes. */
  function oracle(t) {
    if (t.bytes.sparse) return { tooBig: true }
    const text = Buffer.from(t.bytes).toString('utf8')
    const depth = depthOf(text)
    try {
      JSON.parse(text)
    } catch (e) {
      return { syntax: true, depth }
    }
    try {
      return { value: JSON.parse(text, BufferJSON.reviver), depth }
    } catch (e) {
      return { reviveError: e, depth }
    }
  }

  // Key files, in batches of one `get` per key type.
  const warns = []
  const logger = { warn: (m) => warns.push(String(m)) }
  const keyFolder = path.join(work, 'keys')
  const { state } = await pkg.useMultiFileAuthState(keyFolder, { flavor, logger, proto })
  const keyTasks = tasks.filter((t) => t.base.kind === 'key')
  const BATCH = 200
  for (let s = 0; s < keyTasks.length; s += BATCH) {
    const batch = keyTasks.slice(s, s + BATCH)
    const byType = new Map()
    for (const t of batch) {
      t.id = `m${t.i}`
      t.file = `${t.base.keyType}-${t.id}.json`
      writeTaskFile(path.join(keyFolder, t.file), t)
      if (!byType.has(t.base.keyType)) byType.set(t.base.keyType, [])
      byType.get(t.base.keyType).push(t)
    }
    for (const [type, ts] of byType) {
      // Expected answers first (before our read may move a file away).
      for (const t of ts) t.expect = oracle(t)
      // app-state-sync-key files are read one by one: a `fromObject` that
      // throws rejects the whole call, and then the warnings of the other ids
      // of that call are lost (a known bug, see crash-hostile.test.js); here
      // every file is checked on its own.
      let results = null
      if (type !== 'app-state-sync-key') results = await state.keys.get(type, ts.map((t) => t.id))
      for (const t of ts) {
        stats.files++
        stats.keys++
        stats.kinds[t.kind.split('+')[0]] = (stats.kinds[t.kind.split('+')[0]] || 0) + 1
        let got
        let rejected = null
        if (results) got = results[t.id]
        else {
          try {
            got = (await state.keys.get(type, [t.id]))[t.id]
          } catch (e) {
            rejected = e
          }
        }
        const e = t.expect
        const full = path.join(keyFolder, t.file)
        const aside = () => fs.readdirSync(keyFolder).filter((n) => n.startsWith(`${t.file}.corrupt-`))
        const expectMovedAside = () => {
          if (got !== null || rejected) return mismatch(t, 'expected null (moved aside)', rejected ? `rejected: ${rejected.message}` : `got ${JSON.stringify(got, replacer)}`)
          if (fs.existsSync(full)) return mismatch(t, 'file not moved aside', t.file)
          const a = aside()
          if (a.length !== 1) return mismatch(t, 'moved-aside copies', a.join(','))
          const h = taskSha(t)
          if (h && fileSha(path.join(keyFolder, a[0])) !== h) return mismatch(t, 'moved-aside bytes differ', a[0])
          if (!warns.some((w) => w.includes(t.file))) return mismatch(t, 'no warning', t.file)
          stats.keyNullMoved++
        }
        if (e.tooBig || e.syntax || e.depth > MAX_DEPTH) {
          expectMovedAside()
        } else if (e.reviveError) {
          // Baileys' helper: the read failed, "missing". Ours: null; a RangeError
          // (nesting) never happens under our depth limit.
          if (got !== null || rejected) mismatch(t, 'expected null (v6 reviver throws)', rejected ? rejected.message : JSON.stringify(got, replacer))
          else if (!fs.existsSync(full)) mismatch(t, 'file moved although it parses', t.file)
          else stats.keyNullKept++
        } else {
          let want = e.value
          let wantError = null
          if (type === 'app-state-sync-key' && want) {
            try {
              want = proto.Message.AppStateSyncKeyData.fromObject(want)
            } catch (err) {
              wantError = err
            }
          }
          if (wantError) {
            if (!rejected) mismatch(t, 'expected a rejection (fromObject throws)', JSON.stringify(got, replacer))
            else if (rejected.message !== wantError.message) mismatch(t, 'different rejection', `${rejected.message} vs ${wantError.message}`)
            else stats.keyRejected++
          } else if (rejected) {
            mismatch(t, 'rejected', rejected.message)
          } else if (!sameValue(...uninitializedTail(type, e.value, got, want))) {
            mismatch(t, 'value differs', `got ${JSON.stringify(got, replacer)?.slice(0, 120)} want ${JSON.stringify(want, replacer)?.slice(0, 120)}`)
          } else if (!fs.existsSync(full) || (taskSha(t) && fileSha(full) !== taskSha(t))) {
            mismatch(t, 'a readable file was moved or changed', t.file)
          } else stats.keyValue++
        }
      }
    }
    // Keep the folder small.
    for (const n of fs.readdirSync(keyFolder)) if (n.endsWith('.json') || n.includes('.corrupt-')) fs.rmSync(path.join(keyFolder, n), { force: true })
    warns.length = 0
  }

  // Creds: a folder per file.
  for (const t of tasks.filter((t) => t.base.kind === 'creds')) {
    stats.files++
    stats.creds++
    stats.kinds[t.kind.split('+')[0]] = (stats.kinds[t.kind.split('+')[0]] || 0) + 1
    const folder = path.join(work, `c${t.i}`)
    fs.mkdirSync(folder)
    const file = path.join(folder, 'creds.json')
    writeTaskFile(file, t)
    const e = oracle(t)
    const before = t.bytes.sparse ? null : taskSha(t)
    let opened = null
    let error = null
    try {
      opened = await pkg.useMultiFileAuthState(folder, { flavor, lock: false })
    } catch (err) {
      error = err
    }
    const isObject = e.value !== null && typeof e.value === 'object' && !Array.isArray(e.value) && !Buffer.isBuffer(e.value)
    if (!e.tooBig && !e.syntax && !e.reviveError && e.depth <= MAX_DEPTH && isObject) {
      if (error) mismatch(t, 'creds rejected', `${error.name}: ${error.message}`)
      else if (!sameValue(opened.state.creds, e.value)) mismatch(t, 'creds differ', JSON.stringify(opened.state.creds, replacer).slice(0, 200))
      else stats.credsLoaded++
    } else {
      if (!error) mismatch(t, 'creds loaded although not credentials', JSON.stringify(opened.state.creds, replacer).slice(0, 200))
      else if (error.name !== 'AuthFileCorruptError' || !(error instanceof pkg.AuthFileCorruptError) || !error.path || !error.cause) mismatch(t, 'wrong error', `${error.name} ${error.code} ${error.message}`)
      else stats.credsCorrupt++
    }
    // Byte-identical afterwards, whatever happened, and nothing else written.
    if (before ? fileSha(file) !== before : fs.statSync(file).size !== t.bytes.sparse) mismatch(t, 'creds.json changed', '')
    const names = fs.readdirSync(folder)
    if (names.length !== 1) mismatch(t, 'files appeared', names.join(','))
    fs.rmSync(folder, { recursive: true, force: true })
  }
  fs.rmSync(work, { recursive: true, force: true })
  process.stdout.write(`SUMMARY ${JSON.stringify(stats)}\n`)
}

// ---------------------------------------------------------------------------
// The driver.

function runWorker(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, '--worker', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    child.on('close', (code, signal) => {
      const m = /^SUMMARY (.*)$/m.exec(out)
      resolve({ spec, code, signal, summary: m ? JSON.parse(m[1]) : null, stderr: err.slice(-4000) })
    })
  })
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.worker) return worker(opts.worker)
  const t0 = Date.now()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-malformed-'))
  try {
    const bases = await makeBases(dir)
    fs.writeFileSync(path.join(dir, 'bases.json'), JSON.stringify(bases))
    const plan = planner(bases, opts.count, opts.seed)
    const specs = []
    let chunkNo = 0
    for (let s = 0; s < opts.count; s += opts.chunk) {
      specs.push({ dir, seed: opts.seed, count: opts.count, start: s, end: Math.min(opts.count, s + opts.chunk), flavor: chunkNo++ % 2 ? 'v6' : 'v7' })
    }
    specs.push({ dir, seed: opts.seed, count: opts.count, special: true, huge: opts.huge, flavor: 'v7' })
    specs.push({ dir, seed: opts.seed, count: opts.count, special: true, huge: false, flavor: 'v6' })
    const results = []
    let next = 0
    const log = (m) => !opts.json && process.stderr.write(`${m}\n`)
    async function lane() {
      while (next < specs.length) {
        const spec = specs[next++]
        const r = await runWorker(spec)
        results.push(r)
        const label = spec.special ? `special (${spec.flavor})` : `${spec.start}..${spec.end} (${spec.flavor})`
        log(`[malformed] ${label}: ${r.summary ? `${r.summary.files} files, ${r.summary.mismatches.length} mismatches` : `CRASH code ${r.code} signal ${r.signal}`}`)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, lane))
    const total = { files: 0, keys: 0, creds: 0, keyValue: 0, keyNullMoved: 0, keyNullKept: 0, keyRejected: 0, credsLoaded: 0, credsCorrupt: 0, kinds: {} }
    const crashes = []
    const mismatches = []
    for (const r of results) {
      if (!r.summary || r.code !== 0 || r.signal) {
        crashes.push({ chunk: r.spec.special ? 'special' : `${r.spec.start}..${r.spec.end}`, flavor: r.spec.flavor, code: r.code, signal: r.signal, stderr: r.stderr })
        continue
      }
      for (const k of Object.keys(total)) {
        if (k === 'kinds') for (const [kk, v] of Object.entries(r.summary.kinds)) total.kinds[kk] = (total.kinds[kk] || 0) + v
        else total[k] += r.summary[k]
      }
      mismatches.push(...r.summary.mismatches)
    }
    const report = {
      requested: opts.count,
      filesRead: total.files,
      seed: opts.seed,
      truncationsAtEveryByte: plan.truncCount === plan.truncTotal,
      truncations: plan.truncCount,
      bases: bases.map((b) => `${b.name} (${Buffer.from(b.bytes, 'base64').length} B)`),
      crashes: crashes.length,
      mismatches: mismatches.length,
      ...total,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      crashDetails: crashes,
      mismatchSamples: mismatches.slice(0, 20),
    }
    if (opts.json) process.stdout.write(JSON.stringify(report) + '\n')
    else process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    process.exitCode = crashes.length || mismatches.length ? 1 : 0
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(2)
})
