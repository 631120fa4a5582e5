'use strict'
// A hostile environment: umasks, a second process, killed holders, stale
// temp files, corrupt and strange files, permissions, huge and deep files,
// fuzzed key names, prototype keys and a low descriptor limit. Everything
// that could crash, hang or write outside the folder runs in a child
// process (the scenarios of `hostileChild` below, serialized to a file), so
// a crash shows as an exit code or signal, never as a dead test runner.
//
// Documented behaviours this file pins down (where we differ from Baileys'
// helper, which answers `null` for every read error):
// - a directory where a key file should be: `get` REJECTS with code EISDIR
//   (and a `set` of that key rejects with EISDIR, the directory untouched);
// - a FIFO where a key file or creds.json should be: rejects with EINVAL at once (never hangs);
// - EACCES on a key file or creds.json: rejects with code EACCES, file untouched;
// - in a read-only folder: saveCreds / set / delete reject with EACCES, nothing changes;
// - a key name that no file can have (NUL, > 255 bytes): `set` rejects with a
//   TypeError with code ERR_INVALID_ARG_VALUE (NUL) or an Error with code
//   ENAMETOOLONG, as Node's own errors for such paths; `get` answers null;
// - `lock: false` skips the owner lock entirely (it neither takes nor checks it).
//
// (Three bugs this file found are fixed: modes under a umask changed after
// the open, temp files of an earlier process with our own pid, and warnings
// of a `get` that then rejects.)

const { spawn, spawnSync, execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { LINUX, WINDOWS, POSIX, onlyIf, holderPid, keyNameError, canSymlink, ERRNO, storePath } = require('./support/platform.js')

const PKG = path.join(__dirname, '..', 'index.js')
const TEMP_RE = /^\.baileys-auth-tmp-(\d+)-(\d+)$/
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
const NOBODY = 65534
// A directory where a file should be: EISDIR; on Windows the open, rename or
// unlink of a directory may be refused as ACCESS_DENIED first (EPERM, as Node
// names it there).
const DIR_CODE = WINDOWS ? expect.stringMatching(/^(EISDIR|EPERM)$/) : 'EISDIR'
// Hang guard for each child (generous: the default test timeout is 120 s).
const WATCHDOG_MS = Number(process.env.HOSTILE_WATCHDOG_MS || 90000)

// ---------------------------------------------------------------------------
// The child. Serialized with Function#toString: it must not use anything of
// this file's scope.
function hostileChild() {
  const fs = require('node:fs')
  const path = require('node:path')
  const crypto = require('node:crypto')
  const { spawn } = require('node:child_process')
  const pkg = require(process.env.PKG)
  const [scenario, argJson] = process.argv.slice(2)
  const args = JSON.parse(argJson || '{}')
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
  const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
  const mode = (p) => (fs.lstatSync(p).mode & 0o7777).toString(8).padStart(4, '0')
  const replacer = (_k, value) =>
    Buffer.isBuffer(value) || value instanceof Uint8Array || value?.type === 'Buffer'
      ? { type: 'Buffer', data: Buffer.from(value?.data || value).toString('base64') }
      : value
  const enc = (v) => (v === undefined ? 'undefined' : JSON.stringify(v, replacer))
  const errInfo = (e) =>
    e && {
      name: e.name,
      message: String(e.message),
      code: e.code,
      errno: e.errno,
      syscall: e.syscall,
      path: e.path,
      pid: e.pid,
      folder: e.folder,
      hasCause: e.cause !== undefined,
      causeName: e.cause && e.cause.name,
      causeMessage: e.cause && String(e.cause.message),
      isCorruptClass: e instanceof pkg.AuthFileCorruptError,
      isLockedClass: e instanceof pkg.AuthFolderLockedError,
      isTypeError: e instanceof TypeError,
    }
  const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, error: errInfo(e) }))
  const within = (p, ms) => Promise.race([p, sleep(ms).then(() => ({ ok: false, hung: true }))])
  const result = (r) => process.stdout.write(`RESULT ${JSON.stringify(r)}\n`)
  const ready = (r) => process.stdout.write(`READY ${JSON.stringify(r)}\n`)
  const untilStdinEnds = () =>
    new Promise((r) => {
      process.stdin.on('end', r)
      process.stdin.on('error', r)
      process.stdin.resume()
    })
  async function pollGone(folder, names, ms) {
    const t = Date.now()
    while (Date.now() - t < ms) {
      const left = fs.readdirSync(folder).filter((n) => names.includes(n))
      if (!left.length) return true
      await sleep(10)
    }
    return false
  }
  const listing = (folder) => {
    const out = {}
    for (const n of fs.readdirSync(folder).sort()) {
      const p = path.join(folder, n)
      const st = fs.lstatSync(p)
      out[n] = st.isFile() ? sha(p) : st.isDirectory() ? 'dir' : 'other'
    }
    return out
  }

  const scenarios = {
    async modes() {
      process.umask(args.umask)
      const folder = path.join(args.root, 'a', 'b', 'c', 'auth')
      const { state, saveCreds } = await pkg.useMultiFileAuthState(folder)
      await saveCreds()
      await state.keys.set({ 'pre-key': { 1: { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } }, session: { '49:1@s.whatsapp.net': { a: 1 } } })
      if (args.laterUmask !== undefined) {
        process.umask(args.laterUmask)
        await saveCreds()
        await state.keys.set({ 'pre-key': { 2: { public: Buffer.alloc(32, 3) } } })
      }
      const dirs = {}
      for (const rel of ['a', 'a/b', 'a/b/c', 'a/b/c/auth']) dirs[rel] = mode(path.join(args.root, rel))
      const files = {}
      for (const n of fs.readdirSync(folder)) files[n] = mode(path.join(folder, n))
      return { dirs, files, umaskNow: process.umask() }
    },

    async hold() {
      const opened = await settle(pkg.useMultiFileAuthState(args.folder, { lock: args.lock }))
      let sleepPid
      if (args.spawnSleep) {
        // (no `sleep` on Windows: a node that waits as long)
        const s = process.platform === 'win32' ? spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' }) : spawn('sleep', ['120'], { stdio: 'ignore' })
        sleepPid = s.pid
      }
      ready({ pid: process.pid, ok: opened.ok, error: opened.error, sleepPid })
      await untilStdinEnds()
      return { done: true }
    },

    async tryOpen() {
      const t0 = process.hrtime.bigint()
      const r = await settle(pkg.useMultiFileAuthState(args.folder, { lock: args.lock }))
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.ok) {
        // Really usable: write something.
        await r.value.saveCreds()
        await r.value.state.keys.set({ session: { [`p${process.pid}`]: { by: process.pid } } })
      }
      return { ok: r.ok, error: r.error, ms, pid: process.pid }
    },

    async reopen() {
      // Three opens in one process: the same path, a symlink to it, and the
      // same path again (Baileys' reconnect logic calls it again).
      const a = await pkg.useMultiFileAuthState(args.folder)
      const b = await pkg.useMultiFileAuthState(args.alias)
      const c = await pkg.useMultiFileAuthState(args.folder)
      await a.state.keys.set({ session: { one: { v: 1 } } })
      const fromB = await b.state.keys.get('session', ['one'])
      await b.state.keys.set({ session: { two: { v: 2 } } })
      const fromC = await c.state.keys.get('session', ['one', 'two'])
      ready({ pid: process.pid, fromB: enc(fromB.one), fromC: [enc(fromC.one), enc(fromC.two)] })
      await untilStdinEnds()
      // Still writable after the parent's probe.
      await c.saveCreds()
      return { done: true }
    },

    async relock() {
      // A bot that deletes its folder on logout (or just the lock file) and
      // opens it again in the same process.
      await pkg.useMultiFileAuthState(args.folder)
      if (args.only === 'lockfile') fs.rmSync(path.join(args.folder, '.baileys-auth.lock'))
      else fs.rmSync(args.folder, { recursive: true })
      const again = await pkg.useMultiFileAuthState(args.folder)
      await again.saveCreds()
      const third = await settle(pkg.useMultiFileAuthState(args.folder))
      ready({ pid: process.pid, lockFile: fs.existsSync(path.join(args.folder, '.baileys-auth.lock')), thirdOk: third.ok })
      await untilStdinEnds()
      return { done: true }
    },

    async stale() {
      if (args.ownPidTemps) {
        // What a dead process that had our pid left behind (pid reuse, e.g.
        // pid 1 in a restarted container).
        for (const n of args.ownPidTemps) fs.writeFileSync(path.join(args.folder, n.replace('PID', process.pid)), '{"torn')
      }
      const own = (args.ownPidTemps || []).map((n) => n.replace('PID', process.pid))
      const { state, saveCreds } = await pkg.useMultiFileAuthState(args.folder, { lock: args.lock })
      const removed = await pollGone(args.folder, args.expectRemoved.concat(args.checkOwnRemoved ? own : []), args.pollMs || 10000)
      const writes = []
      for (let i = 0; i < (args.writes || 0); i++) {
        writes.push(await settle(saveCreds()))
        writes.push(await settle(state.keys.set({ session: { [`k${i}`]: { i } } })))
      }
      return { removed, listing: listing(args.folder), own, writes }
    },

    async corruptCreds() {
      const out = []
      for (const c of args.cases) {
        const r = await within(settle(pkg.useMultiFileAuthState(c.folder)), 20000)
        // A second attempt answers the same.
        const again = await within(settle(pkg.useMultiFileAuthState(c.folder)), 20000)
        out.push({
          name: c.name,
          ok: r.ok,
          hung: r.hung,
          error: r.error,
          againOk: again.ok,
          againCode: again.error && again.error.code,
          creds: r.ok ? enc(r.value.state.creds) : undefined,
        })
      }
      return out
    },

    async corruptKeys() {
      const warns = []
      const logger = { warn: (...a) => warns.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')) }
      const { state } = await pkg.useMultiFileAuthState(args.folder, { logger })
      const first = await settle(state.keys.get(args.type, args.ids))
      const warnsFirst = warns.splice(0)
      const second = await settle(state.keys.get(args.type, args.ids))
      return {
        first: first.ok ? Object.fromEntries(args.ids.map((id) => [id, enc(first.value[id])])) : first,
        firstOk: first.ok,
        warnsFirst,
        second: second.ok ? Object.fromEntries(args.ids.map((id) => [id, enc(second.value[id])])) : second,
        warnsSecond: warns,
        listing: listing(args.folder),
      }
    },

    async lostWarning() {
      // A stand-in for Baileys' proto: fromObject throws for one value, as
      // protobufjs does ("fingerprint: object expected").
      const proto = {
        Message: {
          AppStateSyncKeyData: {
            fromObject(v) {
              if (typeof v.fingerprint !== 'object') throw new TypeError('.proto.Message.AppStateSyncKeyData.fingerprint: object expected')
              return v
            },
          },
        },
      }
      const warns = []
      const logger = { warn: (m) => warns.push(String(m)) }
      const { state } = await pkg.useMultiFileAuthState(args.folder, { logger, proto: args.withProto ? proto : undefined })
      const r = await settle(state.keys.get('app-state-sync-key', ['B', 'A']))
      return { r, warns, listing: Object.keys(listing(args.folder)) }
    },

    async fchmodRefused() {
      // Run with LD_PRELOAD making fchmod fail (as on file systems without
      // modes), and a umask that makes the store fchmod each new file.
      process.umask(0o277)
      const { state, saveCreds } = await pkg.useMultiFileAuthState(args.folder)
      const save = await settle(saveCreds())
      const set = await settle(state.keys.set({ session: { a: { v: 1 }, b: { v: 2 } } }))
      return { save, set, names: fs.readdirSync(args.folder) }
    },

    async special() {
      const { state, saveCreds } = await pkg.useMultiFileAuthState(args.folder)
      const out = {}
      out.getDir = await within(settle(state.keys.get('session', ['dir'])), 20000)
      out.setDir = await within(settle(state.keys.set({ session: { dir: { a: 1 } } })), 20000)
      out.delDir = await within(settle(state.keys.set({ session: { dir: null } })), 20000)
      out.getFifo = await within(settle(state.keys.get('session', ['fifo'])), 20000)
      out.getMixed = await within(settle(state.keys.get('session', ['fine', 'missing'])), 20000)
      out.credsFifo = await within(settle(pkg.useMultiFileAuthState(args.fifoCredsFolder)), 20000)
      out.saveAfter = await settle(saveCreds())
      out.listing = listing(args.folder)
      return out
    },

    async eacces() {
      const folder = path.join(args.root, 'auth')
      const { state, saveCreds } = await pkg.useMultiFileAuthState(folder)
      await saveCreds()
      await state.keys.set({ session: { locked: { secret: 1 }, other: { v: 2 } } })
      const keyFile = path.join(folder, 'session-locked.json')
      const credsFile = path.join(folder, 'creds.json')
      const out = { uid: process.getuid() }
      const before = { key: sha(keyFile), creds: sha(credsFile) }
      fs.chmodSync(keyFile, 0o000)
      out.getLocked = await settle(state.keys.get('session', ['locked', 'other']))
      out.setLocked = await settle(state.keys.set({ session: { locked: { secret: 2 } } }))
      // The write replaced the file (rename needs the folder's permission, not the file's).
      out.afterSet = fs.readFileSync(keyFile, 'utf8')
      fs.chmodSync(credsFile, 0o000)
      out.openLockedCreds = await settle(pkg.useMultiFileAuthState(folder))
      fs.chmodSync(credsFile, 0o600)
      out.credsUntouched = sha(credsFile) === before.creds
      // A read-only folder.
      const snapshot = listing(folder)
      fs.chmodSync(folder, 0o500)
      out.roSave = await settle(saveCreds())
      out.roSet = await settle(state.keys.set({ session: { other: { v: 3 }, fresh: { v: 4 } } }))
      out.roDelete = await settle(state.keys.set({ session: { other: null } }))
      out.roGet = await settle(state.keys.get('session', ['other']))
      out.roGetValue = out.roGet.ok ? enc(out.roGet.value.other) : undefined
      out.roUnchanged = JSON.stringify(listing(folder)) === JSON.stringify(snapshot)
      fs.chmodSync(folder, 0o700)
      // A read-only folder opened for the first time (no lock file in it yet).
      const fresh = path.join(args.root, 'ro-fresh')
      fs.mkdirSync(fresh, { mode: 0o500 })
      out.openReadOnlyFresh = await settle(pkg.useMultiFileAuthState(fresh))
      fs.chmodSync(fresh, 0o700)
      out.listingAfter = Object.keys(listing(folder))
      return out
    },

    async big() {
      const rss = () => process.memoryUsage().rss
      const gc = () => global.gc && global.gc()
      const out = { rss: {}, values: {} }
      const warns = []
      const logger = { warn: (m) => warns.push(m) }
      const { state } = await pkg.useMultiFileAuthState(args.folder, { logger })
      gc()
      out.rss.start = rss()
      const write = (id, data) => fs.writeFileSync(path.join(args.folder, `session-${id}.json`), data)
      const N = 200000
      write('deeparray', '['.repeat(N) + ']'.repeat(N))
      write('deepobject', '{"a":'.repeat(N) + '1' + '}'.repeat(N))
      write('deepunclosed', '[{"a":'.repeat(N))
      const payload = crypto.randomBytes(22 * 1024 * 1024)
      write('bigvalid', JSON.stringify({ type: 'Buffer', data: payload.toString('base64') }))
      write('biggarbage', crypto.randomBytes(30 * 1024 * 1024))
      write('binary', crypto.randomBytes(4096))
      // Over the 64 MiB cap: sparse, never read.
      fs.closeSync(fs.openSync(path.join(args.folder, 'session-huge.json'), 'w'))
      fs.truncateSync(path.join(args.folder, 'session-huge.json'), 70 * 1024 * 1024)
      let peak = 0
      for (const id of ['deeparray', 'deepobject', 'deepunclosed', 'bigvalid', 'biggarbage', 'binary', 'huge']) {
        const r = await settle(state.keys.get('session', [id]))
        const v = r.ok ? r.value[id] : undefined
        out.values[id] = r.ok ? (Buffer.isBuffer(v) ? { buffer: v.length, equal: v.equals(payload) } : v === null ? null : typeof v) : { error: r.error }
        out.rss[id] = rss()
        peak = Math.max(peak, out.rss[id])
      }
      // Again and again: memory does not keep growing.
      for (let i = 0; i < 4; i++) {
        write('biggarbage', crypto.randomBytes(30 * 1024 * 1024))
        await state.keys.get('session', ['biggarbage', 'bigvalid'])
      }
      gc()
      out.rss.afterRepeats = rss()
      peak = Math.max(peak, out.rss.afterRepeats)
      out.rss.peakGrowthMiB = Math.round((peak - out.rss.start) / 1048576)
      out.warns = warns
      out.names = fs.readdirSync(args.folder).sort()
      // Creds: deep and huge.
      const deepCreds = path.join(args.credsRoot, 'deep')
      fs.mkdirSync(deepCreds, { recursive: true })
      fs.writeFileSync(path.join(deepCreds, 'creds.json'), '{"a":'.repeat(N) + '1' + '}'.repeat(N))
      out.deepCreds = await settle(pkg.useMultiFileAuthState(deepCreds))
      const hugeCreds = path.join(args.credsRoot, 'huge')
      fs.mkdirSync(hugeCreds, { recursive: true })
      fs.closeSync(fs.openSync(path.join(hugeCreds, 'creds.json'), 'w'))
      fs.truncateSync(path.join(hugeCreds, 'creds.json'), 70 * 1024 * 1024)
      out.hugeCreds = await settle(pkg.useMultiFileAuthState(hugeCreds))
      out.hugeCredsSize = fs.statSync(path.join(hugeCreds, 'creds.json')).size
      return out
    },

    async fuzz() {
      const { state } = await pkg.useMultiFileAuthState(args.folder)
      const out = []
      for (const [type, id] of args.cases) {
        const value = { t: type, i: id, b: Buffer.from(`${type}|${id}`) }
        const set = await settle(state.keys.set({ [type]: { [id]: value } }))
        const got = await settle(state.keys.get(type, [id]))
        const del = await settle(state.keys.set({ [type]: { [id]: null } }))
        const after = await settle(state.keys.get(type, [id]))
        out.push({
          set: set.ok ? 'ok' : set.error,
          got: got.ok ? enc(got.value[id]) === enc(value) ? 'equal' : got.value[id] === null ? 'null' : 'other' : got.error,
          del: del.ok ? 'ok' : del.error,
          after: after.ok ? (after.value[id] === null ? 'null' : 'other') : after.error,
        })
      }
      // Symlinks planted where key files and creds.json are.
      const link = await settle(state.keys.get('session', ['link']))
      const linkSet = await settle(state.keys.set({ session: { link2: { replaced: true } } }))
      return { results: out, link: link.ok ? enc(link.value.link) : link.error, linkSet: linkSet.ok }
    },

    async proto() {
      const { state, saveCreds } = await pkg.useMultiFileAuthState(args.folder)
      const got = await state.keys.get('session', ['proto', 'nested', 'ctor'])
      const probe = {}
      const out = {
        polluted: probe.polluted !== undefined || Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') || probe.x !== undefined,
        protoOwn: Object.prototype.hasOwnProperty.call(got.proto, '__proto__'),
        protoIsObjectPrototype: Object.getPrototypeOf(got.proto) === Object.prototype,
        protoValue: JSON.stringify(Object.getOwnPropertyDescriptor(got.proto, '__proto__')?.value),
        nestedOwn: Object.prototype.hasOwnProperty.call(got.nested.a, '__proto__'),
        ctorPolluted: typeof Object.prototype.polluted !== 'undefined',
        credsOwnProto: Object.prototype.hasOwnProperty.call(state.creds, '__proto__'),
        credsProtoIsObjectPrototype: Object.getPrototypeOf(state.creds) === Object.prototype,
        credsNoiseKey: Buffer.isBuffer(state.creds.noiseKey?.private),
      }
      // Writing a value with an own "__proto__" key: the file holds it as JSON.stringify writes it.
      const v = JSON.parse('{"__proto__":{"polluted":true},"y":2}')
      await state.keys.set({ session: { written: v } })
      out.writtenText = fs.readFileSync(path.join(args.folder, 'session-written.json'), 'utf8')
      out.expectedText = JSON.stringify(v)
      await saveCreds()
      const again = await pkg.useMultiFileAuthState(args.folder)
      out.credsReloadOwnProto = Object.prototype.hasOwnProperty.call(again.state.creds, '__proto__')
      out.pollutedAfter = {}.polluted !== undefined || {}.x !== undefined
      return out
    },

    async fdLimit() {
      // Linux: the kernel's word; elsewhere (no /proc) what the shell's `ulimit -n` said.
      const nofile = fs.existsSync('/proc/self/limits') ? /Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1] : process.env.BAN_NOFILE
      const { state } = await pkg.useMultiFileAuthState(args.folder)
      const N = 10000
      const data = { 'pre-key': {} }
      for (let i = 0; i < N; i++) data['pre-key'][i] = { public: Buffer.from([i & 255, i >> 8]), private: Buffer.alloc(32, i & 255) }
      const set = await settle(state.keys.set(data))
      const ids = []
      for (let i = 0; i < N; i++) ids.push(String(i))
      for (let i = 0; i < 100; i++) ids.push(`missing-${i}`)
      const got = await settle(state.keys.get('pre-key', ids))
      let good = 0
      let nulls = 0
      if (got.ok) {
        for (let i = 0; i < N; i++) {
          const v = got.value[i]
          if (v && Buffer.isBuffer(v.public) && v.public[0] === (i & 255) && v.public[1] === i >> 8 && v.private.length === 32) good++
        }
        for (let i = 0; i < 100; i++) if (got.value[`missing-${i}`] === null) nulls++
      }
      // Many concurrent gets on top.
      const many = await settle(Promise.all(Array.from({ length: 20 }, (_, k) => state.keys.get('pre-key', ids.slice(k * 500, k * 500 + 500)))))
      const manyGood = many.ok ? many.value.reduce((n, r) => n + Object.values(r).filter((v) => v && Buffer.isBuffer(v.public)).length, 0) : 0
      return { nofile: Number(nofile), set: set.ok ? 'ok' : set.error, got: got.ok ? 'ok' : got.error, good, nulls, many: many.ok ? 'ok' : many.error, manyGood }
    },
  }

  ;(async () => {
    const r = await scenarios[scenario]()
    result(r)
    process.exit(0)
  })().catch((e) => {
    process.stderr.write(`hostile child ${scenario} failed: ${e && e.stack}\n`)
    process.exit(3)
  })
}

// ---------------------------------------------------------------------------
// Harness.

let work // a temp dir for this file
let CHILD

beforeAll(() => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-hostile-')))
  fs.chmodSync(work, 0o755)
  CHILD = path.join(work, 'hostile-child.js')
  fs.writeFileSync(CHILD, `(${hostileChild.toString()})()\n`)
  fs.chmodSync(CHILD, 0o644)
})

afterAll(() => {
  if (work) {
    // Undo modes a scenario may have left, then remove (Windows has no modes, nor chmod).
    if (POSIX) execFileSync('chmod', ['-R', 'u+rwx', work])
    fs.rmSync(work, { recursive: true, force: true })
  }
})

function dir(name) {
  const d = path.join(work, `${name}-${crypto.randomBytes(4).toString('hex')}`)
  fs.mkdirSync(d, { recursive: true })
  return d
}

/**
 * Starts a scenario in a child. `ready` resolves with the READY payload (for
 * holders), `done` with { result, code, signal, stderr }.
 */
function start(scenario, args, { spawnOptions = {}, command, nodeArgs = [] } = {}) {
  const argv = [...nodeArgs, CHILD, scenario, JSON.stringify(args)]
  const child = command
    ? spawn('bash', ['-c', `${command} && exec "$0" "$@"`, process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PKG }, ...spawnOptions })
    : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PKG }, ...spawnOptions })
  let out = ''
  let stderr = ''
  let onReady
  let hang = null
  const ready = new Promise((r) => (onReady = r))
  // A hang guard, not a timing assertion: a child that is still running after
  // this long is stuck. Say where each of its threads is, then kill it.
  const watchdog = setTimeout(() => {
    hang = threadsOf(child.pid)
    child.kill('SIGKILL')
  }, WATCHDOG_MS)
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (c) => {
    out += c
    const m = /^READY (.*)$/m.exec(out)
    if (m) onReady(JSON.parse(m[1]))
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c) => (stderr += c))
  const done = new Promise((resolve) => {
    let exit
    let closed = 0
    const finish = () => {
      if (!exit || closed < 2) return
      const m = /^RESULT (.*)$/m.exec(out)
      resolve({ result: m ? JSON.parse(m[1]) : undefined, ...exit, stderr, stdout: out })
    }
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog)
      exit = { code, signal, hang }
      onReady({ exitedEarly: true, code, signal, stderr })
      finish()
    })
    child.stdout.on('close', () => (closed++, finish()))
    child.stderr.on('close', () => (closed++, finish()))
  })
  return { child, ready, done }
}

/** Where each thread of a process is (for a hung child). */
function threadsOf(pid) {
  const out = []
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const read = (f) => {
        try {
          return fs.readFileSync(`/proc/${pid}/task/${t}/${f}`, 'utf8').trim()
        } catch {
          return '?'
        }
      }
      const stat = read('stat').split(') ').pop().split(' ')
      out.push(`${t} ${read('comm')} state=${stat[0]} utime=${stat[11]} stime=${stat[12]} wchan=${read('wchan')} syscall=${read('syscall').split(' ')[0]}`)
    }
  } catch (e) {
    out.push(String(e))
  }
  return out.join('\n')
}

async function run(scenario, args, opts) {
  const r = await start(scenario, args, opts).done
  if (r.hang) throw new Error(`child ${scenario} hung (killed after ${WATCHDOG_MS} ms); its threads:\n${r.hang}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`)
  if (r.code !== 0 || r.result === undefined) {
    throw new Error(`child ${scenario} ended with code ${r.code} signal ${r.signal}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`)
  }
  return r.result
}

const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')

/** A real folder written by our package: creds.json and a few key files. */
async function realFolder() {
  const d = path.join(dir('real'), 'auth')
  await run('tryOpen', { folder: d })
  return d
}

// ---------------------------------------------------------------------------

// Windows has no POSIX modes nor umask (files take their folder's ACL).
describe('modes whatever the umask', () => {
  const test = onlyIf(POSIX)
  for (const umask of [0o000, 0o022, 0o077, 0o277]) {
    test(`umask ${umask.toString(8).padStart(3, '0')}: folders we create (with missing parents) 0700, files 0600`, async () => {
      const root = dir('modes')
      const r = await run('modes', { root, umask })
      expect(r.dirs).toEqual({ a: '0700', 'a/b': '0700', 'a/b/c': '0700', 'a/b/c/auth': '0700' })
      expect(Object.keys(r.files).sort()).toEqual(['.baileys-auth.lock', 'creds.json', 'pre-key-1.json', 'session-49-1@s.whatsapp.net.json'])
      for (const m of Object.values(r.files)) expect(m).toBe('0600')
    })
  }

  // The umask is sampled when a folder is opened (to skip an fchmod per file);
  // a umask that changes afterwards must still give 0600 files.
  test('umask changed to 0277 after the open: new files still 0600', async () => {
    const root = dir('modes-later')
    const r = await run('modes', { root, umask: 0o022, laterUmask: 0o277 })
    expect(r.files['pre-key-2.json']).toBe('0600')
    expect(r.files['creds.json']).toBe('0600')
  })
})

describe('the owner lock across real processes', () => {
  test('a second process is refused with AuthFolderLockedError (pid of the holder, folder), quickly', async () => {
    const folder = path.join(dir('lock'), 'auth')
    const holder = start('hold', { folder })
    const h = await holder.ready
    expect(h.ok).toBe(true)
    try {
      const r = await run('tryOpen', { folder })
      expect(r.ok).toBe(false)
      expect(r.error).toMatchObject({
        name: 'AuthFolderLockedError',
        isLockedClass: true,
        pid: holderPid(h.pid),
        folder: storePath(folder),
        code: 'EBAILEYSLOCKED',
      })
      // (Windows: the lock is mandatory, the holder's pid cannot be read)
      if (WINDOWS) expect(r.error.message).not.toContain('pid')
      else expect(r.error.message).toContain(String(h.pid))
      // Measured, not asserted (shared machine): the refusal does not wait for the lock.
      console.log(`[crash-hostile] second process refused in ${r.ms.toFixed(2)} ms`)
    } finally {
      holder.child.stdin.end()
      await holder.done
    }
  })

  test('same-process reopen (same path, a symlink, again) works, shares the lock, and it stays held', async () => {
    const base = dir('reopen')
    const folder = path.join(base, 'auth')
    fs.mkdirSync(folder)
    const alias = path.join(base, 'alias')
    // ('junction' on Windows, where a directory symlink needs a privilege; ignored elsewhere)
    fs.symlinkSync(folder, alias, 'junction')
    const holder = start('reopen', { folder, alias })
    const h = await holder.ready
    expect(h.exitedEarly).toBeUndefined()
    expect(h.fromB).toBe('{"v":1}')
    expect(h.fromC).toEqual(['{"v":1}', '{"v":2}'])
    const other = await run('tryOpen', { folder: alias })
    expect(other.ok).toBe(false)
    expect(other.error).toMatchObject({ name: 'AuthFolderLockedError', pid: holderPid(h.pid) })
    holder.child.stdin.end()
    const end = await holder.done
    expect(end.code).toBe(0)
    // Exited normally: the lock went with it.
    expect((await run('tryOpen', { folder })).ok).toBe(true)
  })

  for (const only of ['folder', 'lockfile']) {
    test(`${only === 'folder' ? 'the folder' : 'the lock file'} deleted and made again in the same process: the lock is taken again`, async () => {
      const folder = path.join(dir('relock'), 'auth')
      const holder = start('relock', { folder, only })
      const h = await holder.ready
      try {
        expect(h).toMatchObject({ lockFile: true, thirdOk: true })
        const other = await run('tryOpen', { folder })
        expect(other.ok).toBe(false)
        expect(other.error).toMatchObject({ name: 'AuthFolderLockedError', pid: holderPid(h.pid) })
      } finally {
        holder.child.stdin.end()
        await holder.done
      }
    })
  }

  test('a SIGKILLed holder releases the lock (the kernel does), even with a child process of it still running', async () => {
    const folder = path.join(dir('killed'), 'auth')
    const holder = start('hold', { folder, spawnSleep: true })
    const h = await holder.ready
    expect(h.ok).toBe(true)
    expect((await run('tryOpen', { folder })).ok).toBe(false)
    holder.child.kill('SIGKILL')
    const end = await holder.done
    expect(end.signal).toBe('SIGKILL')
    try {
      // The `sleep` it spawned is alive and did not inherit the lock (close-on-exec).
      expect(() => process.kill(h.sleepPid, 0)).not.toThrow()
      const r = await run('tryOpen', { folder })
      expect(r.error).toBeUndefined()
      expect(r.ok).toBe(true)
    } finally {
      try {
        process.kill(h.sleepPid, 'SIGKILL')
      } catch {}
    }
  })

  test('lock: false lets two processes open the folder (and skips the check against a holder)', async () => {
    const folder = path.join(dir('nolock'), 'auth')
    const holder = start('hold', { folder, lock: false })
    expect((await holder.ready).ok).toBe(true)
    try {
      const second = await run('tryOpen', { folder, lock: false })
      expect(second.ok).toBe(true)
    } finally {
      holder.child.stdin.end()
      await holder.done
    }
    const locked = start('hold', { folder })
    expect((await locked.ready).ok).toBe(true)
    try {
      expect((await run('tryOpen', { folder, lock: false })).ok).toBe(true)
      expect((await run('tryOpen', { folder })).ok).toBe(false)
    } finally {
      locked.child.stdin.end()
      await locked.done
    }
  })
})

describe('stale temporary files', () => {
  const others = {
    '.hidden': 'keep me',
    '.baileys-auth-tmp-99999-x': 'not a name of ours (counter not digits)',
    '.baileys-auth-tmp-abc-1': 'not a name of ours (pid not digits)',
    '.baileys-auth-tmp-1-2-3': 'not a name of ours',
    '.baileys-auth-tmp-': 'not a name of ours',
    '.baileys-auth-tmp-99999-3.json': 'not a name of ours',
    '.baileys-auth-tmpx-99999-3': 'not a name of ours',
    'notes.txt': 'keep me too',
  }

  function prepare(extra) {
    const folder = path.join(dir('stale'), 'auth')
    fs.mkdirSync(folder)
    const all = { ...others, ...extra }
    for (const [n, c] of Object.entries(all)) fs.writeFileSync(path.join(folder, n), c)
    const shas = Object.fromEntries(Object.keys(others).map((n) => [n, sha(path.join(folder, n))]))
    return { folder, shas }
  }

  test('with the lock: temps of other pids (dead or alive) are removed on open; other dot-files untouched', async () => {
    const alive = process.pid // this test runner: alive, not the child
    const stale = ['.baileys-auth-tmp-99999-3', '.baileys-auth-tmp-99998-0', `.baileys-auth-tmp-${alive}-7`]
    const { folder, shas } = prepare(Object.fromEntries(stale.map((n) => [n, '{"torn'])))
    const r = await run('stale', { folder, expectRemoved: stale, writes: 1 })
    expect(r.removed).toBe(true)
    for (const n of stale) expect(r.listing[n]).toBeUndefined()
    for (const [n, h] of Object.entries(shas)) expect(r.listing[n]).toBe(h)
    expect(r.writes.every((w) => w.ok)).toBe(true)
  })

  test('with lock: false: only temps of dead processes are removed', async () => {
    const alive = process.pid
    const { folder, shas } = prepare({ '.baileys-auth-tmp-99999-3': '{"torn', [`.baileys-auth-tmp-${alive}-7`]: '{"in flight' })
    const r = await run('stale', { folder, lock: false, expectRemoved: ['.baileys-auth-tmp-99999-3'] })
    expect(r.removed).toBe(true)
    expect(r.listing[`.baileys-auth-tmp-${alive}-7`]).toBeDefined()
    for (const [n, h] of Object.entries(shas)) expect(r.listing[n]).toBe(h)
  })

  test('a directory named like a temp file is left alone, and does not break the open', async () => {
    const folder = path.join(dir('stale-dir'), 'auth')
    fs.mkdirSync(path.join(folder, '.baileys-auth-tmp-99999-4'), { recursive: true })
    fs.writeFileSync(path.join(folder, '.baileys-auth-tmp-99999-5'), 'x')
    const r = await run('stale', { folder, expectRemoved: ['.baileys-auth-tmp-99999-5'], writes: 1 })
    expect(r.removed).toBe(true)
    expect(r.listing['.baileys-auth-tmp-99999-4']).toBe('dir')
    expect(r.writes.every((w) => w.ok)).toBe(true)
  })

  // A dead process that had our pid (pid reuse: pid 1 in a restarted
  // container, or a small pid_max) left temp files whose names our counter
  // will produce again.
  test('pid reuse: temps named with our own pid do not make writes fail (EEXIST)', async () => {
    const folder = path.join(dir('pidreuse'), 'auth')
    fs.mkdirSync(folder)
    const r = await run('stale', { folder, ownPidTemps: ['.baileys-auth-tmp-PID-0', '.baileys-auth-tmp-PID-1', '.baileys-auth-tmp-PID-2'], expectRemoved: [], pollMs: 0, writes: 3 })
    expect(r.writes.filter((w) => !w.ok)).toEqual([])
  })

  test('pid reuse: temps named with our own pid, left before this process opened the folder, are removed on open', async () => {
    const folder = path.join(dir('pidreuse-clean'), 'auth')
    fs.mkdirSync(folder)
    const r = await run('stale', { folder, ownPidTemps: ['.baileys-auth-tmp-PID-0', '.baileys-auth-tmp-PID-5'], expectRemoved: [], checkOwnRemoved: true, pollMs: 3000 })
    expect(Object.keys(r.listing).filter((n) => TEMP_RE.test(n))).toEqual([])
  })
})

describe('corrupt creds.json: AuthFileCorruptError (or an I/O error), the file left byte-identical', () => {
  // (no FIFOs on Windows: that case is left out there)
  test(`empty, torn, garbage, BOM, invalid UTF-8, null, non-objects, deep, a directory${POSIX ? ', a FIFO' : ''}`, async () => {
    const real = await realFolder()
    const good = fs.readFileSync(path.join(real, 'creds.json'))
    const cases = {
      empty: Buffer.alloc(0),
      tornHalf: good.subarray(0, good.length >> 1),
      tornOneByteShort: good.subarray(0, good.length - 1),
      garbage: crypto.randomBytes(700),
      zeros: Buffer.alloc(good.length),
      bomValid: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]),
      invalidUtf8BreaksJson: Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([0xff, 0x7d])]),
      null: Buffer.from('null'),
      array: Buffer.from('[]'),
      number: Buffer.from('5'),
      string: Buffer.from('"creds"'),
      deep: Buffer.from('['.repeat(200000) + ']'.repeat(200000)),
      whitespace: Buffer.from('  \n\t'),
    }
    const folders = {}
    for (const [name, bytes] of Object.entries(cases)) {
      const f = path.join(dir(`creds-${name}`), 'auth')
      fs.mkdirSync(f)
      fs.writeFileSync(path.join(f, 'creds.json'), bytes)
      folders[name] = f
    }
    const isDir = path.join(dir('creds-dir'), 'auth')
    fs.mkdirSync(path.join(isDir, 'creds.json'), { recursive: true })
    const fifo = POSIX ? path.join(dir('creds-fifo'), 'auth') : null
    if (POSIX) {
      fs.mkdirSync(fifo)
      execFileSync('mkfifo', [path.join(fifo, 'creds.json')])
    }
    // Invalid UTF-8 inside a string is not corruption: Node decodes it to U+FFFD and JSON.parse accepts it.
    const inString = path.join(dir('creds-utf8-in-string'), 'auth')
    fs.mkdirSync(inString)
    const text = good.toString('latin1')
    const at = text.indexOf('"advSecretKey":"') + '"advSecretKey":"'.length
    fs.writeFileSync(path.join(inString, 'creds.json'), Buffer.concat([good.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff]), good.subarray(at)]))

    const list = [...Object.entries(folders).map(([name, folder]) => ({ name, folder })), { name: 'directory', folder: isDir }, ...(POSIX ? [{ name: 'fifo', folder: fifo }] : []), { name: 'utf8InString', folder: inString }]
    const before = Object.fromEntries(Object.entries(folders).map(([n, f]) => [n, sha(path.join(f, 'creds.json'))]))
    const r = await run('corruptCreds', { cases: list })
    const by = Object.fromEntries(r.map((x) => [x.name, x]))
    for (const name of Object.keys(cases)) {
      const x = by[name]
      expect({ name, ok: x.ok, hung: x.hung }).toEqual({ name, ok: false, hung: undefined })
      expect(x.error).toMatchObject({
        name: 'AuthFileCorruptError',
        isCorruptClass: true,
        path: path.join(storePath(folders[name]), 'creds.json'),
        hasCause: true,
        code: 'EBAILEYSCORRUPT',
      })
      expect(x.error.causeName).toBe('SyntaxError')
      expect(typeof x.error.causeMessage).toBe('string')
      expect(x.againOk).toBe(false)
      expect(x.againCode).toBe('EBAILEYSCORRUPT')
      // Byte-identical, and nothing else appeared (no fresh creds, no .corrupt copy).
      expect(sha(path.join(folders[name], 'creds.json'))).toBe(before[name])
      expect(fs.readdirSync(folders[name]).sort()).toEqual(['.baileys-auth.lock', 'creds.json'])
    }
    expect(by.directory.ok).toBe(false)
    expect(by.directory.error).toMatchObject({ code: DIR_CODE, isCorruptClass: false })
    expect(fs.statSync(path.join(isDir, 'creds.json')).isDirectory()).toBe(true)
    if (POSIX) {
      expect(by.fifo.hung).toBeUndefined()
      expect(by.fifo.ok).toBe(false)
      expect(by.fifo.error).toMatchObject({ code: 'EINVAL', isCorruptClass: false })
    }
    expect(by.utf8InString.ok).toBe(true)
    expect(JSON.parse(by.utf8InString.creds).advSecretKey.startsWith('\ufffd(\ufffd')).toBe(true)
  })
})

describe('corrupt key files: null, moved aside with the bytes kept, a warning without key bytes', () => {
  test('empty, torn, garbage, BOM, zeros, deep, invalid UTF-8 breaking JSON', async () => {
    const folder = path.join(dir('keys'), 'auth')
    fs.mkdirSync(folder)
    const secret = crypto.randomBytes(32)
    const good = Buffer.from(JSON.stringify({ private: { type: 'Buffer', data: secret.toString('base64') }, public: { type: 'Buffer', data: crypto.randomBytes(32).toString('base64') } }))
    const cases = {
      empty: Buffer.alloc(0),
      torn: good.subarray(0, good.length - 20),
      garbage: crypto.randomBytes(300),
      bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]),
      zeros: Buffer.alloc(4096),
      deep: Buffer.from('{"a":'.repeat(200000)),
      badUtf8: Buffer.concat([good.subarray(0, 10), Buffer.from([0xff, 0xfe]), good.subarray(12)]),
      ok: good,
    }
    for (const [id, bytes] of Object.entries(cases)) fs.writeFileSync(path.join(folder, `pre-key-${id}.json`), bytes)
    const ids = Object.keys(cases).concat(['missing'])
    const r = await run('corruptKeys', { folder, type: 'pre-key', ids })
    expect(r.firstOk).toBe(true)
    const corrupt = Object.keys(cases).filter((id) => id !== 'ok')
    for (const id of corrupt) expect({ id, v: r.first[id] }).toEqual({ id, v: 'null' })
    expect(JSON.parse(r.first.ok).private.data).toBe(secret.toString('base64'))
    expect(r.first.missing).toBe('null')
    // Moved aside as <name>.corrupt-<unix ms>, bytes kept.
    for (const id of corrupt) {
      const name = `pre-key-${id}.json`
      expect(r.listing[name]).toBeUndefined()
      const aside = Object.keys(r.listing).filter((n) => n.startsWith(`${name}.corrupt-`))
      expect(aside).toHaveLength(1)
      expect(aside[0]).toMatch(/\.corrupt-\d{13}$/)
      expect(r.listing[aside[0]]).toBe(crypto.createHash('sha256').update(cases[id]).digest('hex'))
    }
    // One warning per corrupt file, naming it, holding no key bytes.
    expect(r.warnsFirst).toHaveLength(corrupt.length)
    for (const id of corrupt) expect(r.warnsFirst.some((w) => w.includes(`pre-key-${id}.json`))).toBe(true)
    const forbidden = [secret.toString('base64'), secret.toString('base64').slice(0, 16), secret.toString('hex').slice(0, 16)]
    for (const id of corrupt) {
      forbidden.push(cases[id].toString('base64'))
      if (cases[id].length >= 24) forbidden.push(cases[id].toString('base64').slice(4, 24))
    }
    for (const w of r.warnsFirst) for (const f of forbidden) if (f.length) expect(w).not.toContain(f)
    // Next read: the files are gone, answered null without a new warning.
    for (const id of corrupt) expect(r.second[id]).toBe('null')
    expect(r.warnsSecond).toEqual([])
  })

  // When one id of a `get` makes AppStateSyncKeyData.fromObject throw, the
  // call rejects (as Baileys' does); a corrupt file of the same call has then
  // already been moved aside — its warning must not be lost with the call.
  for (const withProto of [true, false]) {
    test(`a get that rejects (fromObject throws for one id, ${withProto ? 'with' : 'without'} proto) still warns about the corrupt file it moved aside`, async () => {
      const folder = path.join(dir('lostwarn'), 'auth')
      fs.mkdirSync(folder)
      fs.writeFileSync(path.join(folder, 'app-state-sync-key-A.json'), '{"keyData":"AAAA", torn')
      fs.writeFileSync(path.join(folder, 'app-state-sync-key-B.json'), '{"fingerprint":5}')
      const r = await run('lostWarning', { folder, withProto })
      expect(r.r.ok).toBe(false)
      const movedAside = r.listing.some((n) => n.startsWith('app-state-sync-key-A.json.corrupt-'))
      if (movedAside) expect(r.warns.filter((w) => w.includes('app-state-sync-key-A.json'))).toHaveLength(1)
    })
  }

  // (no FIFOs on Windows: there both FIFO paths are simply missing, answered null and fresh creds)
  test(`a directory where a key file should be: get rejects with EISDIR; a set of that key rejects, directory untouched${POSIX ? '; a FIFO rejects with EINVAL, never hangs' : ''}`, async () => {
    const folder = path.join(dir('special'), 'auth')
    fs.mkdirSync(path.join(folder, 'session-dir.json'), { recursive: true })
    fs.writeFileSync(path.join(folder, 'session-dir.json', 'inside'), 'x')
    if (POSIX) execFileSync('mkfifo', [path.join(folder, 'session-fifo.json')])
    fs.writeFileSync(path.join(folder, 'session-fine.json'), '{"fine":true}')
    const fifoCredsFolder = path.join(dir('special-creds'), 'auth')
    fs.mkdirSync(fifoCredsFolder)
    if (POSIX) execFileSync('mkfifo', [path.join(fifoCredsFolder, 'creds.json')])
    const r = await run('special', { folder, fifoCredsFolder })
    expect(r.getDir).toMatchObject({ ok: false, error: { code: DIR_CODE } })
    expect(r.setDir).toMatchObject({ ok: false, error: { code: DIR_CODE } })
    expect(r.delDir.ok).toBe(false) // unlink of a directory: EISDIR
    expect(r.delDir.error.code).toEqual(DIR_CODE)
    expect(r.getFifo.hung).toBeUndefined()
    if (POSIX) expect(r.getFifo).toMatchObject({ ok: false, error: { code: 'EINVAL' } })
    expect(r.getMixed.ok).toBe(true)
    if (POSIX) expect(r.credsFifo).toMatchObject({ ok: false, error: { code: 'EINVAL' } })
    expect(r.saveAfter.ok).toBe(true)
    expect(r.listing['session-dir.json']).toBe('dir')
    expect(fs.readFileSync(path.join(folder, 'session-dir.json', 'inside'), 'utf8')).toBe('x')
    expect(Object.keys(r.listing).filter((n) => TEMP_RE.test(n) || n.includes('.corrupt-'))).toEqual([])
  })
})

describe('permissions', () => {
  // Root ignores file modes: as root the child runs as `nobody`.
  const asUser = IS_ROOT ? { spawnOptions: { uid: NOBODY, gid: NOBODY } } : {}
  // Windows: no modes (chmod only toggles read-only, folders ignore it), so no EACCES to provoke this way.
  onlyIf(POSIX)(`EACCES on files and a read-only folder: typed errors with code, nothing changed${IS_ROOT ? ' (child as uid 65534)' : ''}`, async () => {
    const root = dir('eacces')
    fs.chmodSync(root, 0o777)
    if (IS_ROOT) {
      fs.chownSync(root, NOBODY, NOBODY)
      // Can uid 65534 run the package and reach this folder at all (a TMPDIR
      // under /root cannot be traversed, some containers forbid setuid)?
      const probe = spawnSync(process.execPath, ['-e', 'require(process.env.PKG); require("fs").readdirSync(process.argv[1])', root], { uid: NOBODY, gid: NOBODY, env: { ...process.env, PKG } })
      if (probe.error || probe.status !== 0) {
        console.warn(`[crash-hostile] EACCES test skipped: running as root and uid ${NOBODY} cannot run the package here (${probe.error || probe.stderr})`)
        return
      }
    }
    const r = await run('eacces', { root }, asUser)
    expect(r.uid).not.toBe(0)
    expect(r.getLocked).toMatchObject({ ok: false, error: { code: 'EACCES', errno: ERRNO('EACCES'), syscall: 'open' } })
    expect(r.getLocked.error.path).toContain('session-locked.json')
    expect(r.setLocked.ok).toBe(true) // a rename needs the folder's permission only
    expect(JSON.parse(r.afterSet)).toEqual({ secret: 2 })
    expect(r.openLockedCreds).toMatchObject({ ok: false, error: { code: 'EACCES', isCorruptClass: false } })
    expect(r.credsUntouched).toBe(true)
    expect(r.roSave).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(r.roSet).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(r.roDelete).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(r.roGet.ok).toBe(true)
    expect(r.roGetValue).toBe('{"v":2}')
    expect(r.roUnchanged).toBe(true)
    // A read-only folder without a lock file: the lock cannot be created.
    expect(r.openReadOnlyFresh).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(r.listingAfter.filter((n) => TEMP_RE.test(n))).toEqual([])
  })
})

describe('a file system that refuses fchmod', () => {
  // An LD_PRELOAD shim makes fchmod(2) fail with EPERM (vfat and some FUSE
  // mounts refuse mode changes). Needs a C compiler; skipped without one.
  // Linux only: LD_PRELOAD is glibc's and musl's (macOS has DYLD_INSERT_LIBRARIES, which SIP strips).
  let cc = null
  for (const c of LINUX ? ['cc', 'gcc', 'clang'] : []) {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' })
      cc = c
      break
    } catch {}
  }
  ;(cc ? test : test.skip)('writes reject with EPERM and leave no temporary file behind', async () => {
    const src = path.join(work, 'fchmod-eperm.c')
    const lib = path.join(work, 'fchmod-eperm.so')
    fs.writeFileSync(src, '#include <errno.h>\n#include <sys/types.h>\nint fchmod(int fd, mode_t mode) { (void)fd; (void)mode; errno = EPERM; return -1; }\n')
    execFileSync(cc, ['-shared', '-fPIC', '-o', lib, src])
    const folder = path.join(dir('fchmod'), 'auth')
    fs.mkdirSync(folder)
    const r = await run('fchmodRefused', { folder }, { spawnOptions: { env: { ...process.env, PKG, LD_PRELOAD: lib } } })
    expect(r.save).toMatchObject({ ok: false, error: { code: 'EPERM' } })
    expect(r.set).toMatchObject({ ok: false, error: { code: 'EPERM' } })
    expect(r.names.filter((n) => TEMP_RE.test(n))).toEqual([])
  })
})

describe('huge, deep and binary files: typed error or null, never a crash, bounded memory', () => {
  test('200,000 levels, 30 MB valid and garbage key files, binary, 70 MB sparse; deep and huge creds.json', async () => {
    const folder = path.join(dir('big'), 'auth')
    const credsRoot = dir('big-creds')
    const r = await run('big', { folder, credsRoot }, { nodeArgs: ['--expose-gc'] })
    expect(r.values).toEqual({
      deeparray: null,
      deepobject: null,
      deepunclosed: null,
      bigvalid: { buffer: 22 * 1024 * 1024, equal: true },
      biggarbage: null,
      binary: null,
      huge: null,
    })
    for (const id of ['deeparray', 'deepobject', 'deepunclosed', 'biggarbage', 'binary', 'huge']) {
      expect(r.names.some((n) => n.startsWith(`session-${id}.json.corrupt-`))).toBe(true)
    }
    expect(r.deepCreds).toMatchObject({ ok: false, error: { name: 'AuthFileCorruptError' } })
    expect(r.hugeCreds).toMatchObject({ ok: false, error: { name: 'AuthFileCorruptError' } })
    expect(r.hugeCredsSize).toBe(70 * 1024 * 1024)
    console.log(`[crash-hostile] memory (MiB): ${JSON.stringify(Object.fromEntries(Object.entries(r.rss).map(([k, v]) => [k, k === 'peakGrowthMiB' ? v : Math.round(v / 1048576)])))}`)
    // Loose: a 30 MB file may cost a few copies of itself, never unbounded growth.
    expect(r.rss.peakGrowthMiB).toBeLessThan(1024)
  })
})

describe('fuzzed types and ids: all file activity stays inside the folder', () => {
  function snapshot(root, skip) {
    const out = {}
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name)
        if (p === skip) continue
        const st = fs.lstatSync(p)
        out[path.relative(root, p)] = `${st.mode}:${st.size}:${st.mtimeMs}:${e.isFile() ? sha(p) : e.isSymbolicLink() ? fs.readlinkSync(p) : ''}`
        if (e.isDirectory()) walk(p)
      }
    }
    walk(root)
    return out
  }

  // Windows: ids holding what it cannot store (`\\ * ? " < > |`, control
  // characters, a drive's `C:\\`) are refused with EINVAL there; the symlinks
  // are planted only where this process may create them; no /etc/passwd.
  test(`.., /, \\, NUL, absolute paths, long ids${canSymlink() ? ', symlinks' : ''}`, async () => {
    const parent = dir('fuzz')
    const folder = path.join(parent, 'auth')
    fs.mkdirSync(folder)
    fs.mkdirSync(path.join(parent, 'sibling'))
    fs.writeFileSync(path.join(parent, 'sibling', 'passwd'), 'root:x:0:0\n')
    fs.writeFileSync(path.join(parent, 'outside.json'), 'outside, not JSON')
    fs.writeFileSync(path.join(parent, 'outside2.json'), '{"outside":true}')
    // Symlinks planted where key files are, pointing out of the folder.
    const links = canSymlink()
    if (links) {
      fs.symlinkSync(path.join(parent, 'outside.json'), path.join(folder, 'session-link.json'))
      fs.symlinkSync(path.join(parent, 'outside2.json'), path.join(folder, 'session-link2.json'))
    }
    const evil = ['..', '../', '../..', '../../etc/passwd', '/', '//', '\\', '..\\..\\x', '\0', 'a\0b', '/tmp/evil', path.join(parent, 'sibling', 'passwd'), '/etc/passwd', '.', '', ' ', '\n', '%2e%2e%2f', 'C:\\Windows', '\ud800', 'é'.repeat(130), 'x'.repeat(240), 'x'.repeat(300), ':', '::', 'a/../../b', '.json', '~', '$HOME', '*', '-']
    const cases = []
    for (const id of evil) cases.push(['session', id])
    for (const type of ['..', '../..', '/tmp', '\0', 'x'.repeat(250), 'a/b', '']) cases.push([type, 'id'])
    // Random combinations (seeded).
    let seed = 12345
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const parts = ['..', '/', '\\', '\0', ':', '.', 'a', 'é', '\ud83d', '\ud83d\ude00', '%', ' ', '\n', '*']
    for (let i = 0; i < 300; i++) {
      const mk = (n) => Array.from({ length: n }, () => parts[Math.floor(rnd() * parts.length)]).join('')
      cases.push([rnd() < 0.2 ? mk(1 + Math.floor(rnd() * 4)) : 'session', mk(1 + Math.floor(rnd() * 12))])
    }
    const before = snapshot(parent, folder)
    const absolute = ['/tmp/evil', '/etc/passwd.json', '/tmp/evil.json'].filter((p) => !fs.existsSync(p))
    const passwd = POSIX ? sha('/etc/passwd') : null
    const r = await run('fuzz', { folder, cases })
    expect(snapshot(parent, folder)).toEqual(before)
    for (const p of absolute) expect(fs.existsSync(p)).toBe(false)
    if (POSIX) expect(sha('/etc/passwd')).toBe(passwd)
    // Inside: files only, no sub-folders were created.
    for (const e of fs.readdirSync(folder, { withFileTypes: true })) expect(e.isDirectory()).toBe(false)
    cases.forEach(([type, id], i) => {
      const name = `${type}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')
      const bad = keyNameError(name)
      const got = r.results[i]
      const label = JSON.stringify([type, id])
      if (bad) {
        // Node's errors for such paths: a NUL is a TypeError with code
        // ERR_INVALID_ARG_VALUE, a name too long an Error with code ENAMETOOLONG
        // (and on Windows a name it cannot store an Error with code EINVAL).
        expect({ label, set: got.set.isTypeError, code: got.set.code }).toEqual({ label, set: bad.typeError, code: bad.code })
        expect(got.set.message).toMatch({ ERR_INVALID_ARG_VALUE: /NUL/, ENAMETOOLONG: /bytes, more than the 255/, EINVAL: /cannot be stored on this operating system/ }[bad.code])
        expect({ label, got: got.got }).toEqual({ label, got: 'null' })
      } else {
        expect({ label, set: got.set, got: got.got }).toEqual({ label, set: 'ok', got: 'equal' })
      }
      expect({ label, del: got.del, after: got.after }).toEqual({ label, del: 'ok', after: 'null' })
    })
    // The symlink to a non-JSON file outside: answered null, the link moved
    // aside (a rename of the link itself), the target untouched.
    expect(r.link).toBe('null')
    expect(fs.readFileSync(path.join(parent, 'outside.json'), 'utf8')).toBe('outside, not JSON')
    // A set over a symlink replaces the link; the target outside is untouched.
    expect(r.linkSet).toBe(true)
    if (links) expect(fs.lstatSync(path.join(folder, 'session-link2.json')).isSymbolicLink()).toBe(false)
    expect(fs.readFileSync(path.join(parent, 'outside2.json'), 'utf8')).toBe('{"outside":true}')
  })
})

describe('__proto__ keys never touch Object.prototype', () => {
  test('key files and creds.json holding "__proto__", "constructor.prototype"', async () => {
    const real = await realFolder()
    const folder = path.join(dir('proto'), 'auth')
    fs.mkdirSync(folder)
    const creds = JSON.parse(fs.readFileSync(path.join(real, 'creds.json'), 'utf8'))
    const credsText = JSON.stringify(creds).replace(/^\{/, '{"__proto__":{"polluted":true},')
    fs.writeFileSync(path.join(folder, 'creds.json'), credsText)
    fs.writeFileSync(path.join(folder, 'session-proto.json'), '{"__proto__": {"polluted": true}}')
    fs.writeFileSync(path.join(folder, 'session-nested.json'), '{"a":{"__proto__":{"x":1}}}')
    fs.writeFileSync(path.join(folder, 'session-ctor.json'), '{"constructor":{"prototype":{"polluted":true}}}')
    const r = await run('proto', { folder })
    expect(r).toMatchObject({
      polluted: false,
      protoOwn: true,
      protoIsObjectPrototype: true,
      protoValue: '{"polluted":true}',
      nestedOwn: true,
      ctorPolluted: false,
      credsOwnProto: true,
      credsProtoIsObjectPrototype: true,
      credsNoiseKey: true,
      credsReloadOwnProto: true,
      pollutedAfter: false,
    })
    expect(r.writtenText).toBe(r.expectedText)
    expect(r.writtenText).toBe('{"__proto__":{"polluted":true},"y":2}')
  })
})

describe('file descriptors', () => {
  // Windows has no descriptor limit to lower (nor bash's ulimit for it).
  onlyIf(POSIX)('set and get of 10,000 ids under ulimit -n 256', async () => {
    const folder = path.join(dir('fd'), 'auth')
    const r = await run('fdLimit', { folder }, { command: LINUX ? 'ulimit -n 256' : 'ulimit -n 256 && export BAN_NOFILE="$(ulimit -n)"' })
    expect(r.nofile).toBe(256)
    expect(r).toMatchObject({ set: 'ok', got: 'ok', good: 10000, nulls: 100, many: 'ok', manyGood: 10000 })
  })
})
