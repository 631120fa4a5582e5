'use strict'
// Child process of the SQLite SIGKILL suite (`__test__/sqlite-crash-kill.test.js`,
// `scripts/sqlite-kill-campaign.js`), and the deterministic model both sides share.
//
//   node sqlite-kill-child.js run    <dbPath> <firstSeq> <fsync 0|1> <seed>
//   node sqlite-kill-child.js verify <dbPath> <lastSeq>
//
// `run` opens <dbPath> with `useSqliteAuthState`, prints `ready <pid>`, then
// issues calls numbered from <firstSeq> in windows of 1..8 un-awaited calls
// (a `keys.set` over several types with writes and deletes, or a `saveCreds`
// after mutating the very `state.creds`), awaits the window, and goes on
// until it is SIGKILLed. Right after a call RESOLVES it writes one line
// `ack <seq> <kind> <digest>` with a synchronous write(2) to its stdout pipe:
// a call is reported only once acknowledged, and a report written before the
// kill is in the pipe for the parent to read. An unreported call is unknown
// (committed or not).
//
// `verify` opens the file with our store, reads every key the model can hold
// through `keys.get` and prints one `RESULT {json}` line: the values as the
// store answers them (encoded with `encodeAuthValue`) and the creds markers.
// It then closes the store and exits.
//
// The model: call `seq` does exactly `callOps(seq)`, a pure function of seq,
// and every call writes at least one value carrying its `seq`, so the newest
// call the file holds is max(seq) over its rows. Calls are committed in the
// order they were issued, so a file must hold exactly the state after calls
// 1..P for that P: anything else is a lost, torn or half-applied call.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { replacer } = require('./kill-child.js') // Baileys' BufferJSON.replacer

// SQLITE_KILL_PKG: a copy of the package to test (for a long campaign while
// this checkout is being rebuilt); by default this checkout.
const PKG = process.env.SQLITE_KILL_PKG || path.join(__dirname, '..', '..', 'index.js')
// SQLITE_KILL_MUTANT=split|early-ack: a deliberately wrong client (a set split
// into one call per type; an ack written before the call resolves), for the
// check that the harness can see half-applied and lost calls at all.
const MUTANT = process.env.SQLITE_KILL_MUTANT || ''

const TYPES = [
  'pre-key',
  'session',
  'sender-key',
  'sender-key-memory',
  'app-state-sync-key',
  'app-state-sync-version',
  'lid-mapping',
  'device-list',
  'tctoken',
]
const POOL = 20 // ids per type
// Falsy values keys.set deletes with (Baileys' helper: `value ? write : remove`).
const FALSY = [null, undefined, 0, '', false]

/** xorshift32, seeded. */
function prng(seed) {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0x2545f491) >>> 0 || 1
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
  return { next, int: (n) => next() % n, chance: (p) => next() / 4294967296 < p }
}

function bytes(seed, n) {
  const r = prng(seed)
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = r.next() & 0xff
  return b
}

function idOf(type, i) {
  switch (type) {
    case 'pre-key':
      return String(i + 1)
    case 'session':
      return `4917000${i}:${i % 3}@s.whatsapp.net`
    case 'sender-key':
      return `1203630${i}@g.us::4917000${i}:0`
    case 'lid-mapping':
      return i % 2 ? `4917000${i}` : `${i}_reverse`
    case 'device-list':
      return `4917000${i}`
    default:
      return i % 5 === 4 ? `id-${i}-ünï/cödé:${i}` : `id-${i}`
  }
}

function valueOf(seq, type, i, size) {
  return {
    seq,
    tag: `CALL-${seq}-${type}`,
    key: [type, i],
    keyData: bytes(seq * 131 + i, 32),
    nested: { pad: bytes(seq * 7 + i * 3, size), list: [seq, i, 'ünïcödé', { deep: [true, null, -0.5] }] },
  }
}

/** What call `seq` does: `{ kind: 'creds', ... }` or `{ kind: 'set', data }`. */
function callOps(seq) {
  const r = prng(seq)
  if (r.int(4) === 0) {
    return { kind: 'creds', killSeq: seq, killTag: `CALL-${seq}-creds`, killPad: bytes(seq * 17, 16 + r.int(1500)) }
  }
  const data = {}
  const nTypes = 1 + r.int(4)
  for (let t = 0; t < nTypes; t++) {
    const type = TYPES[r.int(TYPES.length)]
    data[type] = data[type] || {}
    const nIds = 1 + r.int(5)
    for (let k = 0; k < nIds; k++) {
      const i = r.int(POOL)
      const id = idOf(type, i)
      if (r.chance(0.3)) data[type][id] = FALSY[r.int(FALSY.length)]
      else {
        // Mostly small values, sometimes several KiB (more pages per commit).
        data[type][id] = valueOf(seq, type, i, r.chance(0.15) ? 2000 + r.int(6000) : 16 + r.int(400))
      }
    }
  }
  // (An id drawn twice keeps its last op, so count what is left.)
  const writes = Object.values(data).reduce((n, ops) => n + Object.values(ops).filter(Boolean).length, 0)
  if (writes === 0) {
    // Every call leaves its mark.
    const type = TYPES[seq % TYPES.length]
    const i = seq % POOL
    data[type] = data[type] || {}
    data[type][idOf(type, i)] = valueOf(seq, type, i, 64)
  }
  return { kind: 'set', data }
}

const keyName = (type, id) => `${type}\u0000${id}`

/** [[type, id, text | null]] of a set call, in call order (a later op of the same key wins). */
function setEffects(data, encode) {
  const out = []
  for (const type of Object.keys(data)) {
    for (const id of Object.keys(data[type])) {
      const v = data[type][id]
      out.push([type, id, v ? encode(v) : null])
    }
  }
  return out
}

const encodeText = (v) => JSON.stringify(v, replacer)

/** The digest of what a call asked the store to write (both sides compute it). */
function digest(call, encode) {
  const h = crypto.createHash('sha256')
  if (call.kind === 'creds') h.update(`creds ${call.killSeq} ${call.killTag} ${encodeText(call.killPad)}`)
  else for (const [type, id, text] of setEffects(call.data, encode)) h.update(`${type}\0${id}\0${text === null ? '<delete>' : text}\n`)
  return h.digest('hex').slice(0, 16)
}

/** Every key the model can ever hold. */
function allKeys() {
  const keys = []
  for (const type of TYPES) for (let i = 0; i < POOL; i++) keys.push([type, idOf(type, i)])
  return keys
}

/**
 * The model's state after calls 1..seq, built incrementally: `keys` maps
 * keyName -> { seq, text } of the last call that touched the key (text null:
 * deleted), `creds` the last creds call.
 */
class Model {
  constructor() {
    this.seq = 0
    this.keys = new Map()
    this.creds = null
  }
  advanceTo(target) {
    if (target < this.seq) throw new Error(`model cannot go back from ${this.seq} to ${target}`)
    for (let s = this.seq + 1; s <= target; s++) {
      const call = callOps(s)
      if (call.kind === 'creds') this.creds = { seq: s, tag: call.killTag, pad: encodeText(call.killPad) }
      else for (const [type, id, text] of setEffects(call.data, encodeText)) this.keys.set(keyName(type, id), { seq: s, text })
    }
    this.seq = target
    return this
  }
}

module.exports = { TYPES, POOL, callOps, setEffects, digest, encodeText, keyName, allKeys, Model }

// ---------------------------------------------------------------------------
// The child.

function say(line) {
  // write(2) on the pipe, synchronously: once this returns the parent will read it.
  fs.writeSync(1, `${line}\n`)
}

async function run(dbPath, first, fsync, seed) {
  const pkg = require(PKG)
  const encode = (v) => pkg.encodeAuthValue(v).toString('utf8')
  const { state, saveCreds } = await pkg.useSqliteAuthState({ dbPath }, { fsync })
  say(`ready ${process.pid}`)
  const r = prng(seed ^ process.pid)
  for (let seq = first; ; ) {
    const window = 1 + r.int(8)
    const inFlight = []
    for (let k = 0; k < window; k++, seq++) {
      const n = seq
      const call = callOps(n)
      let p
      if (call.kind === 'creds') {
        // As Baileys does: mutate the very creds object, then saveCreds().
        state.creds.killSeq = call.killSeq
        state.creds.killTag = call.killTag
        state.creds.killPad = call.killPad
        state.creds.nextPreKeyId = n
        p = saveCreds()
      } else if (MUTANT === 'split') {
        // Deliberately wrong: one set per type, so a kill can land between them.
        p = Object.keys(call.data).reduce((prev, type) => prev.then(() => state.keys.set({ [type]: call.data[type] })), Promise.resolve())
      } else {
        p = state.keys.set(call.data)
      }
      const d = digest(call, encode)
      if (MUTANT === 'early-ack') {
        // Deliberately wrong: reported before the call is acknowledged.
        say(`ack ${n} ${call.kind} ${d}`)
        inFlight.push(p)
      } else {
        inFlight.push(p.then(() => say(`ack ${n} ${call.kind} ${d}`)))
      }
    }
    await Promise.all(inFlight)
  }
}

async function verify(dbPath, last) {
  const pkg = require(PKG)
  const { state, close } = await pkg.useSqliteAuthState({ dbPath })
  const byType = new Map()
  for (const [type, id] of allKeys()) {
    if (!byType.has(type)) byType.set(type, [])
    byType.get(type).push(id)
  }
  const values = {}
  for (const [type, ids] of byType) {
    const got = await state.keys.get(type, ids)
    values[type] = {}
    for (const id of ids) {
      const v = got[id]
      // app-state-sync-key values come back revived as AppStateSyncKeyData
      // (its fields only): compare their keyData, unique per call and key.
      values[type][id] = v === null ? null : type === 'app-state-sync-key' ? { keyData: Buffer.from(v.keyData).toString('base64') } : encode(pkg, v)
    }
  }
  const c = state.creds
  const creds = { seq: c.killSeq ?? null, tag: c.killTag ?? null, pad: c.killPad ? encodeText(c.killPad) : null, identity: identityOf(c) }
  await close()
  say(`RESULT ${JSON.stringify({ last, values, creds })}`)
}

function encode(pkg, v) {
  return pkg.encodeAuthValue(v).toString('utf8')
}

/**
 * What never changes in a set of credentials once they exist, as text: the
 * same for the raw row (Buffers in their JSON form) and for decoded creds.
 */
function identityOf(creds) {
  return encodeText([creds.noiseKey, creds.signedIdentityKey, creds.registrationId, creds.advSecretKey])
}
module.exports.identityOf = identityOf

if (require.main === module) {
  // The parent going away closes our stdin: never loop on as an orphan.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
  const [mode, dbPath, ...rest] = process.argv.slice(2)
  const main = mode === 'run' ? run(dbPath, Number(rest[0]), rest[1] === '1', Number(rest[2] || 1)) : verify(dbPath, Number(rest[0]))
  main.then(
    () => mode === 'verify' && process.exit(0),
    (e) => {
      process.stderr.write(`sqlite-kill-child ${mode} failed: ${e && e.stack}\n${e && e.code ? `code=${e.code}\n` : ''}`)
      process.exit(3)
    },
  )
}
