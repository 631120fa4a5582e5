'use strict'
// A process that owns one account of the PostgreSQL backend, for the lease
// and outage suites (`__test__/pg-lease.test.js`, `__test__/pg-outage.test.js`),
// and the write model both sides share.
//
//   node pg-owner-child.js '<json config>'
//   config: { url, account, tag, opts, openRetryMs }
//
// It opens `account` with `usePostgresAuthState(url, account, opts)` (retrying
// on EBAILEYSLOCKED for up to `openRetryMs`), then obeys JSON commands, one a
// line, on its stdin, and reports JSON events, one a line, on its stdout with
// a synchronous write(2): a line is in the pipe before the next statement
// runs, so an event written before a SIGKILL is still read by the parent.
//
// Events: {ev:'open', token, ms, attempts} | {ev:'open-error', name, code, ...}
//   {ev:'issued', seq}   (before the call is made)
//   {ev:'ack', seq}      (right after the call RESOLVED)
//   {ev:'rej', seq, name, code, message}
//   {ev:'logger.error', ...} (each call of the logger's error)
//   {ev:'burst-issued', from, count}, {ev:'blocking', ms}, {ev:'unblocked'},
//   {ev:'closed', ms}, {ev:'report', loggerErrors, counters}
//
// config.mutant ('split' | 'early-ack'): a deliberately wrong client (below).
//
// Commands: {cmd:'loop', from, window, credsEvery} writes until 'stop-loop'
//   (rejections included: it keeps trying, with new seqs, 20 ms apart);
//   {cmd:'set', seq}; {cmd:'burst', from, count, selfStop} issues `count`
//   sets at once and, with selfStop, SIGSTOPs itself right after issuing
//   them; {cmd:'block', ms} busy-waits the JavaScript thread; {cmd:'close'};
//   {cmd:'report'}; {cmd:'exit'}.
//
// The model: write `seq` of owner `tag` is ONE `keys.set` of KEYS_PER_WRITE
// keys of its own (ids `<tag>.<seq>.<j>` over three types) plus the shared
// key `tctoken/<tag>-latest` = { tag, seq }. All its keys are there or none;
// the values are a pure function of (tag, seq, type, j), so the parent checks
// the stored bytes exactly (`expectedHex`).

const fs = require('node:fs')
const path = require('node:path')

const PKG = process.env.PG_CHILD_PKG || path.join(__dirname, '..', '..', 'index.js')

const TYPES = ['session', 'pre-key', 'sender-key']
const PER_TYPE = 2
const KEYS_PER_WRITE = TYPES.length * PER_TYPE

function bytes(seed, n) {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0x2545f491) >>> 0 || 1
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b[i] = x & 0xff
  }
  return b
}

function tagSeed(tag) {
  let h = 7
  for (const c of tag) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0
  return h
}

const keyId = (tag, seq, j) => `${tag}.${seq}.${j}`
const latestId = (tag) => `${tag}-latest`

function keyValue(tag, seq, type, j) {
  return { tag, seq, type, j, keyData: bytes(tagSeed(tag) ^ (seq * 131 + j * 7 + type.length), 32 + ((seq + j) % 5) * 40) }
}

/** The data of write `seq` of owner `tag` (one keys.set). */
function writeData(tag, seq) {
  const data = {}
  TYPES.forEach((type, t) => {
    data[type] = {}
    for (let k = 0; k < PER_TYPE; k++) {
      const j = t * PER_TYPE + k
      data[type][keyId(tag, seq, j)] = keyValue(tag, seq, type, j)
    }
  })
  data.tctoken = { [latestId(tag)]: { tag, seq } }
  return data
}

/** { 'type\0id': hex } of what write `seq` stores. */
function expectedHex(pkg, tag, seq) {
  const out = new Map()
  const data = writeData(tag, seq)
  for (const type of Object.keys(data)) {
    for (const id of Object.keys(data[type])) out.set(`${type}\0${id}`, pkg.encodeAuthValue(data[type][id]).toString('hex'))
  }
  return out
}

module.exports = { TYPES, PER_TYPE, KEYS_PER_WRITE, writeData, expectedHex, keyId, latestId }

// ---------------------------------------------------------------------------
// The child.

function say(obj) {
  fs.writeSync(1, JSON.stringify(obj) + '\n')
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function errFields(e) {
  return {
    name: e && e.name,
    code: e && e.code,
    message: String(e && e.message).slice(0, 400),
    pid: e && e.pid,
    host: e && e.host,
    until: e && e.until instanceof Date ? e.until.getTime() : null,
  }
}

async function main(config) {
  const pkg = require(PKG)
  let loggerErrors = 0
  const logger = {
    error: (obj, msg) => {
      loggerErrors++
      say({ ev: 'logger.error', obj, msg: String(msg).slice(0, 200) })
    },
    warn: () => {},
    info: () => {},
    debug: () => {},
    trace: () => {},
  }
  const opts = { ...config.opts, logger }
  const t0 = Date.now()
  let auth
  let attempts = 0
  for (;;) {
    attempts++
    try {
      auth = await pkg.usePostgresAuthState(config.url, config.account, opts)
      break
    } catch (e) {
      if (e && e.code === 'EBAILEYSLOCKED' && Date.now() - t0 < (config.openRetryMs || 0)) {
        await sleep(20)
        continue
      }
      say({ ev: 'open-error', ...errFields(e), attempts, ms: Date.now() - t0 })
      return
    }
  }
  say({ ev: 'open', token: auth.counters().token, ms: Date.now() - t0, attempts, pid: process.pid })
  const { state, saveCreds } = auth
  const tag = config.tag

  // config.mutant: a deliberately wrong client, for the check that the
  // suites can see half-applied and lost writes at all: 'split' makes each
  // write one set per type, 'early-ack' reports a write before it resolved.
  const set = (data) =>
    config.mutant === 'split'
      ? Object.keys(data).reduce((p, type) => p.then(() => state.keys.set({ [type]: data[type] })), Promise.resolve())
      : state.keys.set(data)
  const write = (seq) => {
    say({ ev: 'issued', seq })
    if (config.mutant === 'early-ack') say({ ev: 'ack', seq })
    return set(writeData(tag, seq)).then(
      () => (config.mutant !== 'early-ack' && say({ ev: 'ack', seq }), true),
      (e) => (say({ ev: 'rej', seq, ...errFields(e) }), false),
    )
  }
  const writeCreds = (seq) => {
    // As Baileys does: mutate the very creds object, then saveCreds().
    state.creds.pgSeq = seq
    state.creds.pgTag = tag
    say({ ev: 'issued', seq, creds: true })
    return saveCreds().then(
      () => (say({ ev: 'ack', seq, creds: true }), true),
      (e) => (say({ ev: 'rej', seq, creds: true, ...errFields(e) }), false),
    )
  }

  let looping = false
  let loopDone = Promise.resolve()
  const loop = async ({ from, window = 1, credsEvery = 0 }) => {
    for (let seq = from; looping; ) {
      const batch = []
      for (let k = 0; k < window; k++, seq++) batch.push(credsEvery && seq % credsEvery === 0 ? writeCreds(seq) : write(seq))
      const oks = await Promise.all(batch)
      // After a rejection (server away, lease lost) go on, but not in a spin.
      await (oks.every(Boolean) ? new Promise((r) => setImmediate(r)) : sleep(20))
    }
  }

  const commands = {
    loop(c) {
      looping = true
      loopDone = loop(c).catch((e) => say({ ev: 'loop-error', ...errFields(e) }))
    },
    async 'stop-loop'() {
      looping = false
      await loopDone
      say({ ev: 'loop-stopped' })
    },
    async set(c) {
      await write(c.seq)
    },
    async burst(c) {
      const all = []
      for (let k = 0; k < c.count; k++) all.push(write(c.from + k))
      say({ ev: 'burst-issued', from: c.from, count: c.count })
      if (c.selfStop) process.kill(process.pid, 'SIGSTOP')
      await Promise.all(all)
      say({ ev: 'burst-done', from: c.from })
    },
    block(c) {
      say({ ev: 'blocking', ms: c.ms })
      const until = Date.now() + c.ms
      while (Date.now() < until) {}
      say({ ev: 'unblocked' })
    },
    async close() {
      const t = Date.now()
      try {
        await auth.close()
        say({ ev: 'closed', ms: Date.now() - t, at: Date.now() })
      } catch (e) {
        say({ ev: 'close-error', ...errFields(e) })
      }
    },
    report() {
      say({ ev: 'report', loggerErrors, counters: auth.counters(), rss: process.memoryUsage().rss })
    },
    exit() {
      process.exit(0)
    },
  }

  let buf = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.trim()) continue
      const c = JSON.parse(line)
      Promise.resolve(commands[c.cmd](c)).catch((e) => say({ ev: 'command-error', cmd: c.cmd, ...errFields(e) }))
    }
  })
}

if (require.main === module) {
  // The parent going away closes our stdin: never live on as an orphan.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  const config = JSON.parse(process.argv[2])
  main(config).catch((e) => {
    say({ ev: 'fatal', ...errFields(e), stack: String(e && e.stack) })
    process.exit(3)
  })
}
