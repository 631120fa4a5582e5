'use strict'
// Child process of the SIGKILL test (`__test__/crash-kill.test.js`), and the
// deterministic model both sides share.
//
//   node kill-child.js run    <folder> <ours|baileys> <startRound> <fsync 0|1>
//   node kill-child.js verify <folder> <acked>
//
// `run` opens <folder> with our package (or with Baileys v7's own
// `useMultiFileAuthState`, for the contrast run), prints `ready <pid>`, then
// loops from <startRound>: mutate creds in place + `saveCreds()`, then one
// multi-key `set` (new keys, overwritten keys, deletes), and after each
// awaited round prints `ack <round>`. It never stops by itself: the parent
// SIGKILLs it. It exits when its stdin closes (the parent is gone).
//
// `verify` opens the folder with our package and reads every key the model
// knows through `keys.get`, printing one JSON line of mismatches.
//
// The model: round `r` writes values that depend only on (r, key), so the
// parent can compute, for any acknowledged round A, the exact state of the
// folder after rounds 1..A (`stateAfter`), and which files the possibly
// half-done round A+1 may have changed.

const path = require('node:path')

// KILL_PKG: a copy of the package to test (for long campaigns on a tree that
// may be rebuilt meanwhile); by default this checkout.
const PKG = process.env.KILL_PKG || path.join(__dirname, '..', '..', 'index.js')

const SESSION_POOL = 12
const SENDER_POOL = 5
const PRE_KEY_LIFETIME = 4
const REPLAY_WINDOW = 64

/** A small deterministic PRNG (xorshift32). */
function prng(seed) {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

function bytes(seed, n) {
  const next = prng(seed)
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i += 4) {
    const v = next()
    for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 0xff
  }
  return b
}

const sessionId = (s) => `49170000${s}:${s % 3}@s.whatsapp.net`
const senderId = (k) => `1203630${k}@g.us::4917000${k}:0`

function preKey(r) {
  return { private: bytes(r * 7 + 1, 32), public: bytes(r * 7 + 2, 32) }
}

function session(r, s) {
  // 1 KiB .. 16 KiB, so that writes take some time.
  const size = 1024 + ((r * 131 + s * 977) % 15) * 1024
  return {
    _sessions: {
      [bytes(s + 1000, 33).toString('base64')]: {
        registrationId: (r * 31 + s) % 16384,
        currentRatchet: { rootKey: bytes(r * 13 + s, 32), previousCounter: r, chain: bytes(r * 17 + s, size) },
        indexInfo: { baseKey: bytes(s * 5 + 3, 33), closed: -1, used: r },
        note: `round ${r} session ${s} – ünïcödé`,
      },
    },
    version: 'v1',
  }
}

function senderKey(r, k) {
  return [{ senderKeyId: r, senderChainKey: { iteration: r * 2, seed: bytes(r * 3 + k, 32) }, senderSigningKey: { public: bytes(k, 33) } }]
}

/** The `set` argument of round r. */
function roundOps(r) {
  const ops = { 'pre-key': {}, session: {}, 'sender-key': {} }
  ops['pre-key'][r] = preKey(r) // a new file every round
  if (r > PRE_KEY_LIFETIME) ops['pre-key'][r - PRE_KEY_LIFETIME] = null // deleted a few rounds later
  for (let j = 0; j < 3; j++) {
    const s = (r * 3 + j) % SESSION_POOL
    ops.session[sessionId(s)] = session(r, s) // overwritten
  }
  // One session not written this round is deleted (offsets 3..11 from 3r).
  const del = (r * 3 + 3 + (r % 9)) % SESSION_POOL
  ops.session[sessionId(del)] = null
  const k = r % SENDER_POOL
  ops['sender-key'][senderId(k)] = senderKey(r, k)
  return ops
}

/** Baileys' BufferJSON.replacer (identical in v6 and v7). */
function replacer(_k, value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array || value?.type === 'Buffer') {
    return { type: 'Buffer', data: Buffer.from(value?.data || value).toString('base64') }
  }
  return value
}

const fixFileName = (file) => file.replace(/\//g, '__').replace(/:/g, '-')

/** file name -> expected text (a string) or null (must not exist), for the files round r touches. */
function roundFiles(r) {
  const out = new Map()
  const ops = roundOps(r)
  for (const type in ops) {
    for (const id in ops[type]) {
      const v = ops[type][id]
      out.set(fixFileName(`${type}-${id}.json`), v ? JSON.stringify(v, replacer) : null)
    }
  }
  return out
}

/** Applies round r to a state map (file name -> text; absent = no file). */
function applyRound(state, r) {
  for (const [name, text] of roundFiles(r)) {
    if (text === null) state.delete(name)
    else state.set(name, text)
  }
}

/** Every (type, id) the model can ever write up to round `upTo`. */
function allKeys(upTo) {
  const keys = []
  for (let r = Math.max(1, upTo - PRE_KEY_LIFETIME - 1); r <= upTo + 1; r++) keys.push(['pre-key', String(r)])
  for (let s = 0; s < SESSION_POOL; s++) keys.push(['session', sessionId(s)])
  for (let k = 0; k < SENDER_POOL; k++) keys.push(['sender-key', senderId(k)])
  return keys
}

module.exports = { roundOps, roundFiles, applyRound, replacer, fixFileName, allKeys }

async function openImpl(folder, impl, fsync) {
  if (impl === 'baileys') {
    const b = await import('baileys')
    return b.useMultiFileAuthState(folder)
  }
  const ours = require(PKG)
  return ours.useMultiFileAuthState(folder, { fsync })
}

async function run(folder, impl, start, fsync) {
  const { state, saveCreds } = await openImpl(folder, impl, fsync)
  process.stdout.write(`ready ${process.pid}\n`)
  for (let r = start; ; r++) {
    // Baileys mutates the very creds object, then calls saveCreds.
    state.creds.killTestRound = r
    state.creds.nextPreKeyId = r + 1
    state.creds.accountSyncCounter = r * 2
    await saveCreds()
    await state.keys.set(roundOps(r))
    // Pipes are synchronous on Linux: once written, the parent will read it.
    process.stdout.write(`ack ${r}\n`)
  }
}

async function verify(folder, acked) {
  const ours = require(PKG)
  const { state } = await ours.useMultiFileAuthState(folder)
  // Every key checked below is written again at least every 5 rounds (and
  // each pre-key checked lives within the last 6), so the last rounds alone
  // give the exact state: no need to replay from round 1 (O(acked) per check).
  const expected = new Map()
  for (let r = Math.max(1, acked - REPLAY_WINDOW); r <= acked; r++) applyRound(expected, r)
  // The round after the last acknowledged one may have been half done.
  const inFlight = roundFiles(acked + 1)
  const mismatches = []
  const byType = new Map()
  for (const [type, id] of allKeys(acked)) {
    if (!byType.has(type)) byType.set(type, [])
    byType.get(type).push(id)
  }
  let checked = 0
  for (const [type, ids] of byType) {
    const got = await state.keys.get(type, ids)
    for (const id of ids) {
      const name = fixFileName(`${type}-${id}.json`)
      const want = expected.has(name) ? expected.get(name) : null
      const have = got[id] == null ? null : JSON.stringify(got[id], replacer)
      checked++
      if (want !== have && !(inFlight.has(name) && inFlight.get(name) === have)) mismatches.push(name)
    }
  }
  process.stdout.write(JSON.stringify({ checked, mismatches, round: state.creds.killTestRound }) + '\n')
}

if (require.main === module) {
  // The parent going away closes our stdin: do not loop forever as an orphan.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
  const [mode, folder, ...rest] = process.argv.slice(2)
  const main =
    mode === 'run'
      ? run(folder, rest[0], Number(rest[1]), rest[2] === '1')
      : verify(folder, Number(rest[0])) // then stays open until stdin ends
  main.catch((e) => {
    process.stderr.write(`kill-child failed: ${e && e.stack}\n${e && e.code ? `code=${e.code}\n` : ''}`)
    process.exit(3)
  })
}
