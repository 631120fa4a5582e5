'use strict'
// The child of __test__/sqlite-hostile.test.js: one scenario per process, so
// that a crash of the addon is an exit by signal the parent reports, never a
// dead test runner (the parent also runs a watchdog).
//
//   node sqlite-hostile-child.js <scenario> '<args json>'
//
// Prints `READY {json}` (holders, once they hold the file) and, at the end,
// `RESULT {json}`. Holders then wait for lines on stdin ("close": close the
// store and say `CLOSED`) and exit when stdin ends.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const pkg = require(process.env.PKG || path.join(__dirname, '..', '..', 'index.js'))

const [scenario, argJson] = process.argv.slice(2)
const args = JSON.parse(argJson || '{}')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const say = (tag, r) => fs.writeSync(1, `${tag} ${JSON.stringify(r)}\n`)
const enc = (v) => (v === undefined ? 'undefined' : v === null ? 'null' : pkg.encodeAuthValue(v).toString('utf8'))
const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')

function errInfo(e) {
  if (!e || typeof e !== 'object') return { thrown: String(e) }
  return {
    name: e.name,
    message: String(e.message),
    code: e.code,
    pid: e.pid,
    path: e.path,
    isError: e instanceof Error,
    isTypeError: e instanceof TypeError,
    isRangeError: e instanceof RangeError,
    isCorruptClass: e instanceof pkg.AuthFileCorruptError,
    isLockedClass: e instanceof pkg.AuthFolderLockedError,
  }
}
const settle = (p) => Promise.resolve(p).then((value) => ({ ok: true, value }), (e) => ({ ok: false, error: errInfo(e) }))
const settleSync = (f) => {
  try {
    return { ok: true, value: f() }
  } catch (e) {
    return { ok: false, error: errInfo(e) }
  }
}

function Database() {
  return require('better-sqlite3')
}

/** Rows of the file as better-sqlite3 reads them (read-only). */
function dump(dbPath) {
  const db = new (Database())(dbPath, { readonly: true, fileMustExist: true })
  try {
    const integrity = db.prepare('PRAGMA integrity_check').all().map((r) => r.integrity_check).join('; ')
    const keys = db.prepare('SELECT type, id, CAST(value AS BLOB) AS value FROM signal_keys ORDER BY type, id').all()
    const creds = db.prepare('SELECT key, value FROM creds').all()
    const quarantine = db.prepare('SELECT type, id, value, reason FROM baileys_auth_native_quarantine').all()
    return { integrity, keys, creds, quarantine }
  } finally {
    db.close()
  }
}

function untilStdinEnds(onLine) {
  return new Promise((resolve) => {
    let buf = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (c) => {
      buf += c
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        onLine(line)
      }
    })
    process.stdin.on('end', resolve)
    process.stdin.on('error', resolve)
  })
}

const scenarios = {
  // ---- (a) the owner lock
  async hold() {
    const t0 = process.hrtime.bigint()
    const opened = await settle(pkg.useSqliteAuthState({ dbPath: args.db }, { lock: args.lock }))
    let wrote = null
    if (opened.ok && args.write) {
      const { state, saveCreds } = opened.value
      state.creds.heldBy = process.pid
      await saveCreds()
      await state.keys.set({ session: { [`held-${process.pid}`]: { by: process.pid } } })
      wrote = `held-${process.pid}`
    }
    say('READY', { pid: process.pid, ok: opened.ok, error: opened.error, wrote, ms: Number(process.hrtime.bigint() - t0) / 1e6 })
    await untilStdinEnds(async (line) => {
      if (line === 'close' && opened.ok) {
        const r = await settle(opened.value.close())
        say('CLOSED', r)
      }
    })
    return { done: true }
  },

  async tryOpen() {
    const t0 = process.hrtime.bigint()
    const r = await settle(pkg.useSqliteAuthState({ dbPath: args.db }, { lock: args.lock }))
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    const out = { ok: r.ok, error: r.error, ms, pid: process.pid }
    if (r.ok) {
      const { state, saveCreds, close } = r.value
      out.heldBy = state.creds.heldBy ?? null
      if (args.read) out.read = enc((await state.keys.get('session', [args.read]))[args.read])
      // Really usable: write, read back, close.
      await saveCreds()
      await state.keys.set({ session: { [`p${process.pid}`]: { by: process.pid } } })
      out.readBack = enc((await state.keys.get('session', [`p${process.pid}`]))[`p${process.pid}`])
      await close()
    }
    return out
  },

  async reopen() {
    // The same path, a symlink to it, and the same path again, in one
    // process (a bot opens its store again on every reconnect).
    const a = await pkg.useSqliteAuthState({ dbPath: args.db })
    const b = await pkg.useSqliteAuthState(args.alias)
    const c = await pkg.useSqliteAuthState({ dbPath: args.db })
    await a.state.keys.set({ session: { one: { v: 1 } } })
    const fromB = await b.state.keys.get('session', ['one'])
    await b.state.keys.set({ session: { two: { v: 2 } } })
    const fromC = await c.state.keys.get('session', ['one', 'two'])
    // Closing one handle leaves the others working, and the lock held.
    await b.close()
    const afterClose = await settle(c.state.keys.set({ session: { three: { v: 3 } } }))
    const closedHandle = await settle(b.state.keys.get('session', ['one']))
    say('READY', { pid: process.pid, fromB: enc(fromB.one), fromC: [enc(fromC.one), enc(fromC.two)], afterClose: afterClose.ok, closedHandle })
    await untilStdinEnds(() => {})
    await a.close()
    await c.close()
    return { done: true }
  },

  // ---- (b) bad files
  async openEach() {
    const out = []
    for (const c of args.cases) {
      const first = await settle(pkg.useSqliteAuthState({ dbPath: c.db }))
      let creds
      if (first.ok) {
        creds = { keys: Object.keys(first.value.state.creds).length, registrationId: first.value.state.creds.registrationId }
        await first.value.close()
      }
      // A second attempt answers the same (nothing was "repaired" into fresh credentials).
      const again = await settle(pkg.useSqliteAuthState({ dbPath: c.db }))
      if (again.ok) await again.value.close()
      out.push({ name: c.name, ok: first.ok, error: first.error, creds, againOk: again.ok, againError: again.error })
    }
    return out
  },

  /** Writes a real database with our store; SIGKILL-style exit (no close) when asked. */
  async makeDb() {
    const { state, saveCreds, close } = await pkg.useSqliteAuthState({ dbPath: args.db })
    await saveCreds()
    for (let batch = 0; batch < (args.batches || 4); batch++) {
      const data = { 'pre-key': {}, session: {} }
      for (let i = 0; i < 200; i++) data['pre-key'][batch * 200 + i] = { public: crypto.randomBytes(33), private: crypto.randomBytes(32) }
      for (let i = 0; i < 20; i++) data.session[`4917${batch}${i}:1@s.whatsapp.net`] = { chain: crypto.randomBytes(1500) }
      await state.keys.set(data)
    }
    if (args.noClose) {
      say('RESULT', { unclosed: true })
      process.kill(process.pid, 'SIGKILL')
    }
    await close()
    return { closed: true }
  },

  // ---- (c) a full disk (run in a private mount namespace on a small tmpfs)
  async fullDisk() {
    const dir = args.dir
    const db = path.join(dir, 'auth.db')
    const out = { steps: [] }
    const { state, saveCreds, close } = await pkg.useSqliteAuthState({ dbPath: db })
    state.creds.phase = 'before'
    await saveCreds()
    const acked = new Map() // id -> encoded value
    const setOk = async (tag, n, size) => {
      const data = { session: {} }
      for (let i = 0; i < n; i++) data.session[`${tag}-${i}`] = { tag, i, blob: crypto.randomBytes(size) }
      const r = await settle(state.keys.set(data))
      if (r.ok) for (const [id, v] of Object.entries(data.session)) acked.set(id, enc(v))
      return { r, ids: Object.keys(data.session) }
    }
    out.before = (await setOk('before', 40, 256)).r.ok
    // Fill what is left of the file system.
    const filler = path.join(dir, 'filler')
    const fd = fs.openSync(filler, 'w')
    let filled = 0
    for (const chunk of [Buffer.alloc(64 << 10, 1), Buffer.alloc(4096, 1), Buffer.alloc(512, 1)]) {
      for (;;) {
        try {
          filled += fs.writeSync(fd, chunk)
        } catch (e) {
          if (e.code !== 'ENOSPC') throw e
          break
        }
      }
    }
    fs.closeSync(fd)
    out.filledBytes = filled
    // Writes until one is refused (a commit may still fit in WAL space the
    // file already has).
    let failed = null
    for (let k = 0; k < 40 && !failed; k++) {
      const { r, ids } = await setOk(`full${k}`, 16, 4096)
      out.steps.push(r.ok ? 'ok' : r.error.code)
      if (!r.ok) failed = { error: r.error, ids }
    }
    out.failed = failed && failed.error
    state.creds.phase = 'during'
    out.credsWhileFull = await settle(saveCreds())
    if (out.credsWhileFull.ok === false) state.creds.phase = 'before'
    // The last committed state: intact and readable, nothing of the failed call.
    const ids = [...acked.keys()]
    const got = await settle(state.keys.get('session', ids.concat(failed ? failed.ids : [])))
    out.readWhileFull = got.ok
    if (got.ok) {
      out.ackedIntact = ids.filter((id) => enc(got.value[id]) === acked.get(id)).length
      out.ackedCount = ids.length
      out.failedCallVisible = failed ? failed.ids.filter((id) => got.value[id] !== null).length : 0
    } else out.readError = got.error
    // Space back: the store works again.
    fs.unlinkSync(filler)
    const after = await setOk('after', 16, 4096)
    out.setAfter = after.r.ok ? 'ok' : after.r.error
    state.creds.phase = 'after'
    out.credsAfter = (await settle(saveCreds())).ok
    const got2 = await state.keys.get('session', [...acked.keys()])
    out.allAckedAfter = [...acked].every(([id, v]) => enc(got2[id]) === v)
    out.close = (await settle(close())).ok
    const d = dump(db)
    out.integrity = d.integrity
    out.rows = d.keys.length
    out.quarantine = d.quarantine.length
    out.credsPhase = JSON.parse(d.creds[0].value).phase
    // A new store on a full disk: a typed error; after space is back it opens.
    const fd2 = fs.openSync(filler, 'w')
    try {
      for (;;) fs.writeSync(fd2, Buffer.alloc(4096, 2))
    } catch (e) {
      if (e.code !== 'ENOSPC') throw e
    }
    fs.closeSync(fd2)
    const fresh = path.join(dir, 'fresh.db')
    out.openWhileFull = await settle(pkg.useSqliteAuthState({ dbPath: fresh }).then((s) => s.close()))
    out.freshLeft = fs.existsSync(fresh) ? fs.statSync(fresh).size : null
    fs.unlinkSync(filler)
    const reopened = await settle(pkg.useSqliteAuthState({ dbPath: fresh }).then((s) => s.close()))
    out.openFreshAfter = reopened.ok ? 'ok' : reopened.error
    // And the first file, through our store in the same process.
    const again = await pkg.useSqliteAuthState({ dbPath: db })
    const got3 = await again.state.keys.get('session', [...acked.keys(), ...after.ids])
    out.reopenAllAcked = [...acked].every(([id, v]) => enc(got3[id]) === v) && after.ids.every((id) => got3[id] !== null)
    out.reopenPhase = again.state.creds.phase
    await again.close()
    return out
  },

  // ---- (d) read-only
  async readOnlyFs() {
    const dir = args.dir
    const db = path.join(dir, 'auth.db')
    const out = {}
    {
      const { state, saveCreds, close } = await pkg.useSqliteAuthState({ dbPath: db })
      state.creds.ro = 'kept'
      await saveCreds()
      await state.keys.set({ session: { a: { v: 1 }, b: { v: 2 } } })
      // While the store is open, the file system cannot become read-only: the
      // remount is refused (files are open for writing).
      out.remountWhileOpen = settleSync(() => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' })).ok
      if (out.remountWhileOpen) execFileSync('mount', ['-o', 'remount,rw', dir])
      await close()
    }
    const listing = () => Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, sha(path.join(dir, n))]))
    execFileSync('mount', ['-o', 'remount,ro', dir])
    const before = listing()
    out.open = await settle(pkg.useSqliteAuthState({ dbPath: db }))
    out.openNoLock = await settle(pkg.useSqliteAuthState({ dbPath: db }, { lock: false }))
    out.openNew = await settle(pkg.useSqliteAuthState({ dbPath: path.join(dir, 'new.db') }))
    out.unchanged = JSON.stringify(listing()) === JSON.stringify(before)
    // The bytes are a sound database others can read (a copy off the
    // read-only mount: a reader of a WAL-mode file needs its -shm).
    const copy = path.join(require('node:os').tmpdir(), `ro-copy-${process.pid}.db`)
    fs.copyFileSync(db, copy)
    const r = new (Database())(copy, { readonly: true, fileMustExist: true })
    out.readableByOthers = r.prepare('SELECT count(*) AS n FROM signal_keys').get().n
    r.close()
    fs.rmSync(copy, { force: true })
    execFileSync('mount', ['-o', 'remount,rw', dir])
    const s = await pkg.useSqliteAuthState({ dbPath: db })
    out.afterRw = { creds: s.state.creds.ro, a: enc((await s.state.keys.get('session', ['a'])).a) }
    await s.state.keys.set({ session: { c: { v: 3 } } })
    await s.close()
    return out
  },

  /** As an unprivileged user: a 0444 file in a writable folder; a writable file in a 0555 folder. */
  async readOnlyFile() {
    const out = { uid: process.getuid() }
    // Names and contents, but not the content of our lock file (the owner's pid).
    const listing = (dir) => Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, n.endsWith('.lock') ? 'lock' : sha(path.join(dir, n))]))
    const before = listing(args.fileDir)
    out.roFile = await settle(pkg.useSqliteAuthState({ dbPath: path.join(args.fileDir, 'auth.db') }))
    if (out.roFile.ok) {
      const { state, saveCreds, close } = out.roFile.value
      out.roFileSave = await settle(saveCreds())
      out.roFileSet = await settle(state.keys.set({ session: { z: { v: 9 } } }))
      out.roFileGet = enc((await state.keys.get('session', ['a'])).a)
      await close()
      out.roFile = { ok: true }
    }
    out.roFileUnchanged = JSON.stringify(listing(args.fileDir)) === JSON.stringify(before)
    if (!out.roFileUnchanged) out.roFileListing = { before, after: listing(args.fileDir) }
    const beforeDir = listing(args.folderDir)
    out.roFolder = await settle(pkg.useSqliteAuthState({ dbPath: path.join(args.folderDir, 'auth.db') }))
    if (out.roFolder.ok) {
      await out.roFolder.value.close()
      out.roFolder = { ok: true }
    }
    out.roFolderUnchanged = JSON.stringify(listing(args.folderDir)) === JSON.stringify(beforeDir)
    if (!out.roFolderUnchanged) out.roFolderListing = { before: beforeDir, after: listing(args.folderDir) }
    return out
  },

  // ---- (e) hostile ids and values
  async fuzzIds() {
    const { state, close } = await pkg.useSqliteAuthState({ dbPath: args.db })
    const out = []
    for (const [type, id] of args.cases) {
      const value = { t: type, i: id, b: Buffer.from(`${type}|${id}`) }
      const set = await settle(state.keys.set({ [type]: { [id]: value } }))
      const got = await settle(state.keys.get(type, [id]))
      const listed = await settle((async () => {
        const ids = []
        for await (const x of state.keys.listIds(type)) ids.push(x)
        return ids
      })())
      const del = await settle(state.keys.set({ [type]: { [id]: null } }))
      const after = await settle(state.keys.get(type, [id]))
      out.push({
        set: set.ok ? 'ok' : set.error,
        got: got.ok ? (enc(got.value[id]) === enc(value) ? 'equal' : got.value[id] === null ? 'null' : `other:${enc(got.value[id])}`) : got.error,
        listed: listed.ok ? listed.value.length : listed.error,
        del: del.ok ? 'ok' : del.error,
        after: after.ok ? (after.value[id] === null ? 'null' : 'other') : after.error,
      })
    }
    await close()
    const d = dump(args.db)
    return { results: out, integrity: d.integrity, rowsLeft: d.keys.length, files: fs.readdirSync(path.dirname(args.db)).sort() }
  },

  /** Rows written behind the store's back (better-sqlite3), then read through it. */
  async storedValues() {
    const warns = []
    const logger = { warn: (...a) => warns.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')) }
    const { state, close } = await pkg.useSqliteAuthState({ dbPath: args.db }, { logger })
    const ids = args.ids
    const first = await settle(state.keys.get(args.type, ids))
    const warnsFirst = warns.splice(0)
    // The quarantine is fire-and-forget: give it a moment, then read again.
    await sleep(200)
    const second = await settle(state.keys.get(args.type, ids))
    const warnsSecond = warns.splice(0)
    const answer = (r) =>
      r.ok
        ? Object.fromEntries(
            ids.map((id) => {
              if (r.value[id] === null) return [id, null]
              const text = settleSync(() => enc(r.value[id])).value ?? '<unencodable>'
              return [id, { enc: text.length > 4096 ? `${text.slice(0, 200)}…` : text, length: text.length }]
            }),
          )
        : r.error
    const list = await settle((async () => {
      const n = []
      for await (const [id] of state.keys.list(args.type)) n.push(id)
      return n
    })())
    await close()
    const d = dump(args.db)
    return {
      firstOk: first.ok,
      first: answer(first),
      warnsFirst,
      second: answer(second),
      warnsSecond,
      listed: list.ok ? list.value.length : list.error,
      integrity: d.integrity,
      remaining: d.keys.filter((r) => r.type === args.type).map((r) => r.id),
      quarantine: d.quarantine.map((q) => ({ id: q.id, sha: crypto.createHash('sha256').update(q.value).digest('hex'), reason: q.reason })),
    }
  },

  /** Hostile JS values given to keys.set and saveCreds. */
  async hostileValues() {
    // Never better-sqlite3 on the file while our store has it open in this
    // process: two copies of SQLite in one process do not see each other's
    // POSIX locks, and the one closing last-but-not-really unmaps/truncates
    // the shared -shm under the other (SIGBUS) - SQLite's "multiple copies of
    // SQLite in the same application". The rows are read after close().
    const { state, saveCreds, close } = await pkg.useSqliteAuthState({ dbPath: args.db })
    await state.keys.set({ session: { keep: { v: 'kept' } } })
    await saveCreds()
    const allIds = async () => {
      const ids = []
      for await (const id of state.keys.listIds('session')) ids.push(id)
      return ids.sort()
    }
    const cases = makeHostileValues()
    const out = {}
    for (const [name, make] of Object.entries(cases)) {
      const before = await allIds()
      // What Baileys' writer (JSON.stringify with BufferJSON.replacer, as
      // encodeAuthValue gives it) says of this value.
      const reference = settleSync(() => {
        const b = pkg.encodeAuthValue(make())
        return b === undefined ? undefined : b.toString('utf8')
      })
      // The hostile value beside a good one, in one call: all or nothing.
      const r = await settle(state.keys.set({ session: { [`h-${name}`]: make(), [`good-${name}`]: { ok: 1 } } }))
      const after = await allIds()
      const got = await state.keys.get('session', [`h-${name}`, `good-${name}`])
      out[name] = {
        ok: r.ok,
        error: r.error,
        reference: reference.ok ? { ok: true, text: reference.value === undefined ? null : reference.value.slice(0, 200), length: reference.value?.length, sha: reference.value === undefined ? null : crypto.createHash('sha256').update(reference.value).digest('hex') } : { ok: false, error: reference.error },
        good: got[`good-${name}`] !== null,
        hostileRead: got[`h-${name}`] !== null,
        unchangedOnError: r.ok ? undefined : JSON.stringify(before) === JSON.stringify(after),
      }
    }
    // saveCreds with a hostile field: rejects, the stored creds stay.
    const credsBefore = enc(state.creds)
    state.creds.cycle = state.creds
    out.credsCycle = await settle(saveCreds())
    delete state.creds.cycle
    state.creds.big = 10n
    out.credsBigInt = await settle(saveCreds())
    delete state.creds.big
    out.keep = enc((await state.keys.get('session', ['keep'])).keep)
    await close()
    // Reopened: the creds are those of the last successful saveCreds.
    const again = await pkg.useSqliteAuthState({ dbPath: args.db })
    out.credsUnchanged = enc(again.state.creds) === credsBefore
    out.credsAfter = (await settle(again.saveCreds())).ok
    await again.close()
    // The exact bytes stored, read with better-sqlite3 now that no store has the file open.
    const d = dump(args.db)
    out.integrity = d.integrity
    for (const name of Object.keys(cases)) {
      const row = d.keys.find((k) => k.type === 'session' && k.id === `h-${name}`)
      out[name].stored = row ? Buffer.from(row.value).toString('utf8').slice(0, 200) : null
      out[name].storedLength = row ? Buffer.from(row.value).toString('utf8').length : null
      out[name].storedSha = row ? crypto.createHash('sha256').update(row.value).digest('hex') : null
    }
    return out
  },
}

function makeHostileValues() {
  const deep = (n) => {
    let v = {}
    for (let i = 0; i < n; i++) v = { a: v }
    return v
  }
  return {
    circular: () => {
      const o = { a: 1 }
      o.self = o
      return o
    },
    bigint: () => ({ n: 10n }),
    throwingGetter: () => ({
      get boom() {
        throw new Error('getter boom')
      },
    }),
    throwingToJSON: () => ({ toJSON() {
      throw new RangeError('toJSON boom')
    } }),
    toJSONUndefined: () => ({ toJSON: () => undefined }),
    proxyOwnKeysThrows: () => new Proxy({}, { ownKeys() {
      throw new TypeError('ownKeys boom')
    } }),
    symbolsAndFunctions: () => ({ s: Symbol('x'), f() {}, [Symbol('k')]: 1, u: undefined, ok: true }),
    deep100k: () => deep(100000),
    deep1k: () => deep(1000),
    sparseArray: () => {
      const a = []
      a[5] = 1
      return a
    },
    bufferForms: () => ({ a: Buffer.from([1, 2]), b: new Uint8Array([3]), c: { type: 'Buffer', data: [4, 5] }, d: { type: 'Buffer', data: 'bad base64 !' }, e: new Float64Array([1.5]) }),
    detachedBuffer: () => {
      const u = new Uint8Array(16)
      structuredClone(u.buffer, { transfer: [u.buffer] })
      return { u }
    },
    loneSurrogates: () => ({ s: '\ud800x\udfff', k: { '\udc00': 1 } }),
    nul: () => ({ s: 'a\u0000b', '\u0000': 'nul key' }),
    numbers: () => ({ n: [NaN, Infinity, -0, 1e308, 5e-324] }),
    string: () => 'just a string',
    number: () => 42,
    arrayValue: () => [1, 'two', { three: 3 }],
    huge16MiB: () => ({ s: 'x'.repeat(16 << 20) }),
    protoKey: () => JSON.parse('{"__proto__":{"polluted":true},"y":2}'),
  }
}

if (!scenarios[scenario]) {
  process.stderr.write(`usage: node sqlite-hostile-child.js <${Object.keys(scenarios).join('|')}> '<args json>'\n`)
  process.exit(2)
}
scenarios[scenario]().then(
  (r) => {
    say('RESULT', r)
    process.exit(0)
  },
  (e) => {
    process.stderr.write(`sqlite hostile child ${scenario} failed: ${e && e.stack}\n`)
    process.exit(3)
  },
)
