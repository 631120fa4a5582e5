'use strict'
// A hostile environment for the SQLite backend (`useSqliteAuthState`), with
// real processes and real files. Every scenario runs in a child process
// (support/sqlite-hostile-child.js) under a watchdog, so a crash shows as an
// exit by signal and a hang as a killed child, never as a dead test runner.
//
// (a) one owner per file across processes: a second PROCESS gets
//     AuthFolderLockedError (code EBAILEYSLOCKED, the owner's pid); after the
//     holder exits, is SIGKILLed or calls close(), the file opens elsewhere;
//     reopening in the same process (same path, a symlink) shares the store.
// (b) bad files: not a database (random bytes, text, too short), truncated,
//     a damaged page in the middle (with and without a WAL left by a crash),
//     a damaged header, a creds row that is not an object: AuthFileCorruptError,
//     the file byte for byte as it was, no -wal/-shm appearing, never fresh
//     credentials. A zero-length file is SQLite's empty database: it is opened
//     as a new store (pinned and documented below). Another application's
//     SQLite file is refused (TypeError, EBAILEYSINVALID) and left untouched.
//     Two cases FAIL on the backend as written (kept failing on purpose, bugs
//     reported): a real database cut short by less than a page (1..~2,000
//     bytes: its size is no longer a multiple of the page size) OPENS, SQLite
//     reads the missing tail as zeros, integrity_check says ok, and the value
//     that ended there is silently quarantined on its first read; and a bad
//     creds row in a file in rollback-journal mode is found only after the
//     open switched the file to WAL (6 header bytes changed).
// (c) a full disk (a 2 MiB tmpfs in a private mount namespace of the child):
//     writes reject with code ENOSPC, every acknowledged write stays intact
//     and readable, nothing of a refused call is visible, and once space is
//     back the store works again; integrity_check ok.
// (d) read-only: a read-only file system (the tmpfs remounted ro) and, as an
//     unprivileged user, a 0444 file and a 0555 folder: a typed error AT OPEN
//     (this backend has no read-only mode), code EROFS in all three cases
//     (the lock file cannot be opened; with `lock: false`, "cannot be
//     written"), the files unchanged; the bytes are a sound database others
//     can read, and the file opens again once writable. A store that is open
//     cannot be caught by a read-only remount: Linux refuses to remount a file
//     system read-only while files on it are open for writing (EBUSY).
// (e) hostile input: the fuzzed types and ids of the folder store's suite
//     (NUL, .., /, lone surrogates, 100,000-char ids, SQL quotes: all stored
//     and read back, nothing but the database's own files), rows holding
//     undecodable text written behind the store's back (null + one warning +
//     kept aside byte for byte; invalid UTF-8 inside a string reads as U+FFFD),
//     and hostile JS values given to set/saveCreds (cycles, BigInt, throwing
//     getters/toJSON/proxies, 100,000 levels, 16 MiB strings, detached
//     buffers...): Baileys' writer's bytes or a rejection of the same class,
//     each call all or nothing, no crash.
//
// better-sqlite3 never opens a file while our store has it open in the same
// process: two copies of SQLite in one process do not see each other's POSIX
// locks, and the -shm is truncated under the other (a SIGBUS; SQLite's
// "multiple copies of SQLite in the same application"). Children read files
// after close(), the parent only files no process holds.

const { spawn, spawnSync, execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CHILD = path.join(__dirname, 'support', 'sqlite-hostile-child.js')
const { LINUX, WINDOWS, POSIX, onlyIf, holderPid, canSymlink, storePath } = require('./support/platform.js')

const PKG = path.join(__dirname, '..', 'index.js')
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
const NOBODY = 65534
const WATCHDOG_MS = Number(process.env.HOSTILE_WATCHDOG_MS || 90000)

let work
beforeAll(() => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-sqlite-hostile-')))
  fs.chmodSync(work, 0o755)
})
afterAll(() => {
  if (!work) return
  if (POSIX) spawnSync('chmod', ['-R', 'u+rwx', work])
  fs.rmSync(work, { recursive: true, force: true })
})

function dir(name) {
  const d = path.join(work, `${name}-${crypto.randomBytes(4).toString('hex')}`)
  fs.mkdirSync(d, { recursive: true })
  return d
}

const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
const listing = (d) => Object.fromEntries(fs.readdirSync(d).sort().map((n) => [n, sha(path.join(d, n))]))
/** A listing with our lock file present or not, but not its content (the owner's pid). */
function withoutLockContent(db, files) {
  const lock = path.basename(`${db}.lock`)
  const out = { ...files }
  delete out[lock]
  return out
}

/**
 * Starts a scenario in a child. `ready` resolves with the READY payload (or
 * `{ exitedEarly }`), `done` with `{ result, code, signal, hung, stderr, stdout }`.
 * `wrap`: a shell command the child runs under (`$DIR`-style setup, then exec).
 */
function start(scenario, args, { uid, wrap } = {}) {
  const argv = [CHILD, scenario, JSON.stringify(args)]
  const env = { ...process.env, PKG }
  const opts = { stdio: ['pipe', 'pipe', 'pipe'], env }
  if (uid !== undefined) Object.assign(opts, { uid, gid: uid })
  const child = wrap ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${wrap} && exec "$0" "$@"`, process.execPath, ...argv], opts) : spawn(process.execPath, argv, opts)
  let out = ''
  let stderr = ''
  let hung = false
  let onReady
  const ready = new Promise((r) => (onReady = r))
  const watchdog = setTimeout(() => {
    hung = true
    child.kill('SIGKILL')
  }, WATCHDOG_MS)
  child.stdout.setEncoding('utf8')
  let sawReady = false
  child.stdout.on('data', (c) => {
    out += c
    if (sawReady) return
    const m = /^READY (.*)$/m.exec(out)
    if (m) {
      sawReady = true
      onReady(JSON.parse(m[1]))
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c) => (stderr += c))
  child.stdin.on('error', () => {})
  const done = new Promise((resolve) => {
    let exit
    let closed = 0
    const finish = () => {
      if (!exit || closed < 2) return
      const m = /^RESULT (.*)$/m.exec(out)
      resolve({ result: m ? JSON.parse(m[1]) : undefined, ...exit, hung, stderr, stdout: out })
    }
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog)
      exit = { code, signal }
      onReady({ exitedEarly: true, code, signal, stderr })
      finish()
    })
    child.stdout.on('close', () => (closed++, finish()))
    child.stderr.on('close', () => (closed++, finish()))
  })
  return { child, ready, done }
}

async function run(scenario, args, opts) {
  const r = await start(scenario, args, opts).done
  if (r.hung) throw new Error(`child ${scenario} hung (killed after ${WATCHDOG_MS} ms)\n${r.stderr}\n${r.stdout.slice(0, 2000)}`)
  if (r.signal) throw new Error(`child ${scenario} CRASHED: killed by ${r.signal}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`)
  if (r.code !== 0 || r.result === undefined) throw new Error(`child ${scenario} ended with code ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`)
  return r.result
}

/** Waits for a line (e.g. CLOSED) on a started child's stdout. */
function waitLine(started, tag) {
  return new Promise((resolve) => {
    let buf = ''
    started.child.stdout.on('data', (c) => {
      buf += c
      const m = new RegExp(`^${tag} (.*)$`, 'm').exec(buf)
      if (m) resolve(JSON.parse(m[1]))
    })
  })
}

const BAD_CREDS = { credsNotJson: '{"noiseKey": torn', credsNull: 'null', credsArray: '[]', credsEmpty: '' }

/** Rewrites the creds row with better-sqlite3 (no store has the file open); `journalMode` to switch the file's mode. */
function setCredsRow(db, text, journalMode) {
  const Database = require('./support/sqlite-tools.js').betterSqlite()
  const w = new Database(db)
  w.prepare("UPDATE creds SET value = ? WHERE key = '__creds__'").run(text)
  if (journalMode) w.pragma(`journal_mode = ${journalMode}`)
  w.close()
}

/** A real database written by our store, closed cleanly (no -wal) unless `noClose`. */
async function realDb(name, { noClose = false, batches = 4 } = {}) {
  const d = dir(name)
  const db = path.join(d, 'auth.db')
  const r = await start('makeDb', { db, noClose, batches }).done
  // (Windows: a process that kills itself exits with code 1, no signal: TerminateProcess)
  if (noClose ? !(r.signal === 'SIGKILL' || (WINDOWS && r.code === 1)) : r.code !== 0) throw new Error(`makeDb failed: ${r.code} ${r.signal} ${r.stderr}`)
  return { dir: d, db }
}

// ---------------------------------------------------------------------------

describe('(a) one owner per database file across processes', () => {
  test('a second process gets AuthFolderLockedError (EBAILEYSLOCKED, the owner pid); after the holder exits it opens', async () => {
    const db = path.join(dir('lock'), 'auth.db')
    const holder = start('hold', { db, write: true })
    const h = await holder.ready
    expect(h).toMatchObject({ ok: true })
    let exited = false
    try {
      const r = await run('tryOpen', { db })
      expect(r.ok).toBe(false)
      expect(r.error).toMatchObject({ name: 'AuthFolderLockedError', isLockedClass: true, code: 'EBAILEYSLOCKED', pid: holderPid(h.pid) })
      // (Windows: the lock is mandatory, the holder's pid cannot be read)
      if (WINDOWS) expect(r.error.message).not.toContain('pid')
      else expect(r.error.message).toContain(String(h.pid))
      expect(r.error.message).toContain(storePath(db))
      // Measured, not asserted (shared machine): the refusal does not wait.
      console.log(`[sqlite-hostile] second process refused in ${r.ms.toFixed(1)} ms`)
      holder.child.stdin.end()
      expect((await holder.done).code).toBe(0)
      exited = true
      const after = await run('tryOpen', { db, read: h.wrote })
      expect(after).toMatchObject({ ok: true, heldBy: h.pid, read: `{"by":${h.pid}}` })
      expect(after.readBack).toBe(`{"by":${after.pid}}`)
    } finally {
      if (!exited) {
        holder.child.stdin.end()
        await holder.done
      }
    }
  })

  test('a SIGKILLed holder releases the file; what it had acknowledged is there', async () => {
    const db = path.join(dir('killed'), 'auth.db')
    const holder = start('hold', { db, write: true })
    const h = await holder.ready
    expect(h.ok).toBe(true)
    expect((await run('tryOpen', { db })).error).toMatchObject({ code: 'EBAILEYSLOCKED', pid: holderPid(h.pid) })
    holder.child.kill('SIGKILL')
    expect((await holder.done).signal).toBe('SIGKILL')
    const r = await run('tryOpen', { db, read: h.wrote })
    expect(r.error).toBeUndefined()
    expect(r).toMatchObject({ ok: true, heldBy: h.pid, read: `{"by":${h.pid}}` })
  })

  test('close() releases the file to another process while the holder lives on', async () => {
    const db = path.join(dir('closed'), 'auth.db')
    const holder = start('hold', { db, write: true })
    try {
      const h = await holder.ready
      expect(h.ok).toBe(true)
      expect((await run('tryOpen', { db })).ok).toBe(false)
      const closed = waitLine(holder, 'CLOSED')
      holder.child.stdin.write('close\n')
      expect(await closed).toMatchObject({ ok: true })
      expect((await run('tryOpen', { db })).ok).toBe(true)
    } finally {
      holder.child.stdin.end()
      await holder.done
    }
  })

  // (Windows: only where this process may create a symlink)
  onlyIf(canSymlink())('reopening in the same process (same path, a symlink, again) shares the store; other processes are still refused', async () => {
    const base = dir('reopen')
    const db = path.join(base, 'auth.db')
    const alias = path.join(base, 'alias.db')
    fs.writeFileSync(db, '') // a zero-length file: SQLite's empty database (see (b))
    fs.symlinkSync(db, alias)
    const holder = start('reopen', { db, alias })
    const h = await holder.ready
    expect(h.exitedEarly).toBeUndefined()
    expect(h.fromB).toBe('{"v":1}')
    expect(h.fromC).toEqual(['{"v":1}', '{"v":2}'])
    expect(h.afterClose).toBe(true)
    expect(h.closedHandle).toMatchObject({ ok: false, error: { code: 'EBAILEYSCLOSED' } })
    const other = await run('tryOpen', { db: alias })
    expect(other.error).toMatchObject({ name: 'AuthFolderLockedError', pid: holderPid(h.pid) })
    holder.child.stdin.end()
    expect((await holder.done).code).toBe(0)
    expect((await run('tryOpen', { db })).ok).toBe(true)
  })
})

// ---------------------------------------------------------------------------

describe('(b) bad files: AuthFileCorruptError, left byte for byte as they were, never fresh credentials', () => {
  test('not a database, truncated, damaged pages and header, a bad creds row', async () => {
    const real = await realDb('real', { batches: 6 })
    const good = fs.readFileSync(real.db)
    const pageSize = good.readUInt16BE(16)
    const pages = good.length / pageSize
    expect(Number.isInteger(pages) && pages > 20).toBe(true)
    const damaged = (fill) => {
      const b = Buffer.from(good)
      const at = Math.floor(pages / 2) * pageSize
      if (typeof fill === 'number') b.fill(fill, at, at + pageSize)
      else fill.copy(b, at)
      return b
    }
    const rng = (seed, n) => crypto.createHash('sha512').update(String(seed)).digest().subarray(0, 64).toString('hex').repeat(Math.ceil(n / 128)).slice(0, n * 2)
    const cases = {
      randomBytes: crypto.randomBytes(8192),
      randomShort: crypto.randomBytes(50),
      text: Buffer.from('this is not a database, just a text file somebody put here\n'.repeat(20)),
      sqliteMagicThenJunk: Buffer.concat([Buffer.from('SQLite format 3\0'), crypto.randomBytes(4000)]),
      truncatedToHeader: good.subarray(0, 100),
      truncatedToOnePage: good.subarray(0, pageSize),
      truncatedToHalf: good.subarray(0, Math.floor(pages / 2) * pageSize),
      truncatedUnaligned: good.subarray(0, Math.floor(pages / 2) * pageSize + 1234),
      lastPageMissing: good.subarray(0, good.length - pageSize),
      oneByteShort: good.subarray(0, good.length - 1),
      pageOfPatternInTheMiddle: damaged(0xa5),
      pageOfZerosInTheMiddle: damaged(0),
      pageOfNoiseInTheMiddle: damaged(Buffer.from(rng(1, pageSize), 'hex')),
      damagedPageSize: (() => {
        const b = Buffer.from(good)
        b.writeUInt16BE(1000, 16)
        return b
      })(),
    }
    const list = []
    for (const [name, bytes] of Object.entries(cases)) {
      const d = dir(`bad-${name}`)
      const db = path.join(d, 'auth.db')
      fs.writeFileSync(db, bytes)
      list.push({ name, db, dir: d })
    }
    // A damaged page in a file a crash left with its -wal (recovery needed).
    const crashed = await realDb('crashed', { noClose: true, batches: 6 })
    expect(fs.statSync(`${crashed.db}-wal`).size).toBeGreaterThan(0)
    {
      const b = fs.readFileSync(crashed.db)
      const n = b.length / pageSize
      const at = Math.floor(n / 2) * pageSize
      b.fill(0xa5, at, at + pageSize)
      fs.writeFileSync(crashed.db, b)
      list.push({ name: 'damagedPageWithWal', db: crashed.db, dir: crashed.dir })
    }
    // Sound files (in WAL mode, as Baileys' store and ours keep them) whose
    // creds row is not an object of credentials.
    for (const [name, text] of Object.entries(BAD_CREDS)) {
      const d = dir(`bad-${name}`)
      const db = path.join(d, 'auth.db')
      fs.copyFileSync(real.db, db)
      setCredsRow(db, text)
      list.push({ name, db, dir: d })
    }
    const before = Object.fromEntries(list.map((c) => [c.name, withoutLockContent(c.db, listing(c.dir))]))
    const r = await run('openEach', { cases: list.map(({ name, db }) => ({ name, db })) })
    // Every case is checked and reported before anything is asserted.
    const summary = {}
    const failures = []
    for (const c of list) {
      const x = r.find((y) => y.name === c.name)
      summary[c.name] = x.ok ? 'OPENED' : `${x.error.name} ${x.error.code}`
      const fail = (what) => failures.push(`${c.name}: ${what}`)
      if (x.ok) fail(`OPENED as an auth store (${x.creds.keys} creds fields; again: ${x.againOk ? 'opened' : x.againError.code}), expected AuthFileCorruptError`)
      else {
        if (!(x.error.name === 'AuthFileCorruptError' && x.error.isCorruptClass && x.error.code === 'EBAILEYSCORRUPT')) fail(`rejected with ${x.error.name} ${x.error.code}: ${x.error.message}`)
        if (x.againOk || x.againError.code !== 'EBAILEYSCORRUPT') fail(`a second open: ${x.againOk ? 'opened' : x.againError.code}`)
      }
      // Byte for byte, and no file appeared beside it (the lock file is ours:
      // its name is checked, not its content, which is the last owner's pid).
      const after = withoutLockContent(c.db, listing(c.dir))
      if (JSON.stringify(after) !== JSON.stringify(before[c.name])) fail(`files changed: before ${JSON.stringify(before[c.name])}, after ${JSON.stringify(after)}`)
    }
    console.log(`[sqlite-hostile] bad files: ${JSON.stringify(summary)}`)
    expect(failures).toEqual([])
  })

  // The same bad creds rows in a file in rollback-journal mode (made with the
  // sqlite3 shell, or any tool other than Baileys' store and ours). The file
  // must be left as it was too.
  test('a bad creds row in a rollback-journal (non-WAL) file: AuthFileCorruptError, the file byte for byte as it was', async () => {
    const real = await realDb('real-delete', { batches: 1 })
    const failures = []
    const list = []
    for (const [name, text] of Object.entries(BAD_CREDS)) {
      const d = dir(`bad-delete-${name}`)
      const db = path.join(d, 'auth.db')
      fs.copyFileSync(real.db, db)
      setCredsRow(db, text, 'DELETE')
      list.push({ name, db, dir: d, before: fs.readFileSync(db) })
    }
    const r = await run('openEach', { cases: list.map(({ name, db }) => ({ name, db })) })
    for (const c of list) {
      const x = r.find((y) => y.name === c.name)
      if (x.ok || x.error.code !== 'EBAILEYSCORRUPT') failures.push(`${c.name}: ${x.ok ? 'OPENED' : x.error.code}`)
      const after = fs.readFileSync(c.db)
      const changed = []
      for (let i = 0; i < Math.max(after.length, c.before.length); i++) if (after[i] !== c.before[i]) changed.push(i)
      if (changed.length) failures.push(`${c.name}: ${changed.length} bytes changed, at offsets ${changed.slice(0, 12).join(',')} (header bytes 18-19: ${c.before[18]},${c.before[19]} -> ${after[18]},${after[19]}, 2 = WAL)`)
      const { [path.basename(`${c.db}.lock`)]: _l, ...files } = listing(c.dir)
      if (Object.keys(files).join() !== 'auth.db') failures.push(`${c.name}: files ${Object.keys(files).join(', ')}`)
    }
    expect(failures).toEqual([])
  })

  test('another application’s SQLite file is refused and left untouched (not turned into an auth store)', async () => {
    const d = dir('foreign')
    const db = path.join(d, 'auth.db')
    const Database = require('./support/sqlite-tools.js').betterSqlite()
    const w = new Database(db)
    w.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine')")
    w.close()
    const before = listing(d)
    const [x] = await run('openEach', { cases: [{ name: 'foreign', db }] })
    expect(x.ok).toBe(false)
    expect(x.againOk).toBe(false)
    console.log(`[sqlite-hostile] another application's file: ${x.error.name} ${x.error.code}: ${x.error.message}`)
    const { [path.basename(`${db}.lock`)]: _l, ...after } = listing(d)
    expect(after).toEqual(before)
  })

  // SQLite treats a zero-length file as an empty database, and so do we: the
  // schema is created and fresh credentials are answered. Our own open makes
  // such a file (create, then the schema in one transaction), so a crash in
  // between must not make the next open fail; a zero-length file never held
  // credentials, so nothing is lost by treating it as new.
  test('a zero-length file is opened as a new, empty store (documented behaviour)', async () => {
    const d = dir('empty')
    const db = path.join(d, 'auth.db')
    fs.writeFileSync(db, '')
    const [x] = await run('openEach', { cases: [{ name: 'empty', db }] })
    expect(x.ok).toBe(true)
    expect(x.againOk).toBe(true)
    expect(x.creds.keys).toBeGreaterThan(10)
    expect(fs.statSync(db).size).toBeGreaterThan(0)
    const Database = require('./support/sqlite-tools.js').betterSqlite()
    const r = new Database(db, { readonly: true })
    expect(r.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((t) => t.name)).toEqual(['baileys_auth_native_quarantine', 'creds', 'signal_keys'])
    // Credentials are not written until saveCreds, as in Baileys.
    expect(r.prepare('SELECT count(*) AS n FROM creds').get().n).toBe(0)
    r.close()
  })
})

// ---------------------------------------------------------------------------

/** Whether this machine lets a child mount a tmpfs in a private mount namespace. */
function canMountTmpfs() {
  if (!LINUX) return 'mount namespaces and tmpfs are Linux only'
  if (!IS_ROOT) return 'not root'
  // (Runs as the file loads, before beforeAll: a directory of its own.)
  const m = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-sqlite-mount-probe-'))
  try {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs '${m}' && touch '${m}/x'`], { encoding: 'utf8' })
    if (r.error || r.status !== 0) return `cannot mount a tmpfs in a private mount namespace (${r.error || r.stderr.trim()})`
    // The mount was the child's alone: nothing is left in ours.
    if (fs.readdirSync(m).length) return 'the probe mount leaked into this namespace'
    return null
  } finally {
    fs.rmSync(m, { recursive: true, force: true })
  }
}
const MOUNT_PROBLEM = canMountTmpfs()
if (MOUNT_PROBLEM) console.warn(`[sqlite-hostile] full-disk and read-only file system tests skipped: ${MOUNT_PROBLEM}`)
// The tmpfs is mounted by the child itself, in its own mount namespace
// (unshare --mount): it disappears with the child, however the child ends, so
// there is nothing to unmount here and nothing can be left mounted.
const mountTest = MOUNT_PROBLEM ? test.skip : test

describe('(c) a full disk: a 2 MiB tmpfs', () => {
  mountTest('writes reject with ENOSPC, every acknowledged write stays intact, the store works again once space is back', async () => {
    const mnt = dir('tmpfs-full')
    const r = await run('fullDisk', { dir: mnt }, { wrap: `mount -t tmpfs -o size=2m,mode=0700 tmpfs '${mnt}'` })
    console.log(`[sqlite-hostile] full disk: ${JSON.stringify(r)}`)
    expect(fs.readdirSync(mnt)).toEqual([]) // it was the child's own mount
    expect(r.before).toBe(true)
    expect(r.failed).toBeTruthy()
    expect(r.failed).toMatchObject({ isError: true, code: 'ENOSPC' })
    expect(r.failed.message).toContain('auth.db')
    // The last committed state: intact and readable; nothing of the refused call.
    expect(r.readWhileFull).toBe(true)
    expect(r.ackedIntact).toBe(r.ackedCount)
    expect(r.failedCallVisible).toBe(0)
    if (!r.credsWhileFull.ok) expect(r.credsWhileFull.error.code).toBe('ENOSPC')
    // Space back.
    expect(r.setAfter).toBe('ok')
    expect(r.credsAfter).toBe(true)
    expect(r.allAckedAfter).toBe(true)
    expect(r.close).toBe(true)
    expect(r.integrity).toBe('ok')
    expect(r.quarantine).toBe(0)
    expect(r.credsPhase).toBe('after')
    expect(r.reopenAllAcked).toBe(true)
    expect(r.reopenPhase).toBe('after')
    // A new store on a full disk: a typed error, and it opens once space is back.
    expect(r.openWhileFull).toMatchObject({ ok: false, error: { isError: true, code: 'ENOSPC' } })
    expect(r.openFreshAfter).toBe('ok')
  })
})

describe('(d) read-only', () => {
  mountTest('a read-only file system: a typed error (EROFS) at open, files unchanged, readable by others, opens again once rw', async () => {
    const mnt = dir('tmpfs-ro')
    const r = await run('readOnlyFs', { dir: mnt }, { wrap: `mount -t tmpfs -o size=4m,mode=0700 tmpfs '${mnt}'` })
    console.log(`[sqlite-hostile] read-only file system: ${JSON.stringify(r)}`)
    expect(r.open).toMatchObject({ ok: false, error: { isError: true, code: 'EROFS' } })
    expect(r.openNoLock).toMatchObject({ ok: false, error: { isError: true, code: 'EROFS' } })
    expect(r.openNew).toMatchObject({ ok: false, error: { isError: true, code: 'EROFS' } })
    expect(r.unchanged).toBe(true)
    expect(r.readableByOthers).toBe(2)
    expect(r.afterRw).toEqual({ creds: 'kept', a: '{"v":1}' })
  })

  // Windows has no modes (a folder ignores the read-only attribute).
  onlyIf(POSIX)(`a read-only file (0444) and a read-only folder (0555)${IS_ROOT ? ', as uid 65534 (root ignores modes)' : ''}: a typed error at open, nothing changed`, async () => {
    const root = dir('ro-file')
    fs.chmodSync(root, 0o777)
    const fileDir = path.join(root, 'file')
    const folderDir = path.join(root, 'folder')
    for (const d of [fileDir, folderDir]) {
      fs.mkdirSync(d)
      const db = path.join(d, 'auth.db')
      const r = await start('makeDb', { db, batches: 1 }).done
      expect(r.code).toBe(0)
    }
    if (IS_ROOT) {
      execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, root])
      const probe = spawnSync(process.execPath, ['-e', 'require(process.env.PKG); require("fs").readdirSync(process.argv[1])', root], { uid: NOBODY, gid: NOBODY, env: { ...process.env, PKG } })
      if (probe.error || probe.status !== 0) {
        console.warn(`[sqlite-hostile] read-only file test skipped: uid ${NOBODY} cannot run the package here (${probe.error || probe.stderr})`)
        return
      }
    }
    fs.chmodSync(path.join(fileDir, 'auth.db'), 0o444)
    fs.chmodSync(folderDir, 0o555)
    const r = await run('readOnlyFile', { fileDir, folderDir }, IS_ROOT ? { uid: NOBODY } : {})
    console.log(`[sqlite-hostile] read-only file / folder: ${JSON.stringify(r)}`)
    expect(r.uid).not.toBe(0)
    expect(r.roFile).toMatchObject({ ok: false, error: { isError: true } })
    expect(['EROFS', 'EACCES']).toContain(r.roFile.error.code)
    expect(r.roFileUnchanged).toBe(true)
    expect(r.roFolder).toMatchObject({ ok: false, error: { isError: true } })
    expect(['EROFS', 'EACCES']).toContain(r.roFolder.error.code)
    expect(r.roFolderUnchanged).toBe(true)
  })
})

// ---------------------------------------------------------------------------

describe('(e) hostile ids and values: no crash, typed errors, all or nothing', () => {
  test('the fuzzed types and ids of the folder store: each set, get, listIds and delete settles; what is set reads back', async () => {
    const d = dir('fuzz')
    const db = path.join(d, 'auth.db')
    const evil = ['..', '../', '../..', '../../etc/passwd', '/', '//', '\\', '..\\..\\x', '\0', 'a\0b', '/tmp/evil', '/etc/passwd', '.', '', ' ', '\n', '%2e%2e%2f', 'C:\\Windows', '\ud800', 'é'.repeat(130), 'x'.repeat(240), 'x'.repeat(300), 'x'.repeat(100000), ':', '::', 'a/../../b', '.json', '~', '$HOME', '*', '-', "'; DROP TABLE signal_keys; --", '%', '_', '\u2028', '\ufeff']
    const cases = []
    for (const id of evil) cases.push(['session', id])
    for (const type of ['..', '../..', '/tmp', '\0', 'x'.repeat(250), 'a/b', '', "creds'--", '__creds__']) cases.push([type, 'id'])
    let seed = 12345
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    const parts = ['..', '/', '\\', '\0', ':', '.', 'a', 'é', '\ud83d', '\ud83d\ude00', '%', ' ', '\n', '*', "'", '"', '_']
    for (let i = 0; i < 300; i++) {
      const mk = (n) => Array.from({ length: n }, () => parts[Math.floor(rnd() * parts.length)]).join('')
      cases.push([rnd() < 0.2 ? mk(1 + Math.floor(rnd() * 4)) : 'session', mk(1 + Math.floor(rnd() * 12))])
    }
    const r = await run('fuzzIds', { db, cases })
    // Ids with lone surrogates are sent to SQLite as UTF-8, with U+FFFD in their
    // place (as better-sqlite3, hence Baileys' own SQLite store, does too).
    const lone = (s) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)
    const outcomes = {}
    cases.forEach(([type, id], i) => {
      const got = r.results[i]
      const label = JSON.stringify([type, id]).slice(0, 80)
      const key = `set:${typeof got.set === 'string' ? got.set : got.set.code} get:${typeof got.got === 'string' ? got.got.slice(0, 5) : got.got.code}`
      outcomes[key] = (outcomes[key] || 0) + 1
      if (got.set === 'ok') {
        expect({ label, got: got.got }).toEqual({ label, got: 'equal' })
        if (!lone(type) && !lone(id)) expect({ label, listed: got.listed }).toEqual({ label, listed: 1 })
      } else {
        // A refusal is a typed error with a code, never a crash.
        expect({ label, isError: got.set.isError, code: typeof got.set.code }).toEqual({ label, isError: true, code: 'string' })
      }
      expect({ label, del: got.del, after: got.after }).toEqual({ label, del: 'ok', after: 'null' })
    })
    console.log(`[sqlite-hostile] fuzzed ids: ${cases.length} cases: ${JSON.stringify(outcomes)}`)
    expect(r.integrity).toBe('ok')
    expect(r.rowsLeft).toBe(0)
    // Only the database and its own side files: no id became a file.
    for (const f of r.files) expect(['auth.db', 'auth.db.lock', 'auth.db-wal', 'auth.db-shm']).toContain(f)
  })

  test('undecodable rows written behind the store: null, one warning each, kept aside byte for byte; the rest reads', async () => {
    const real = await realDb('stored', { batches: 1 })
    const Database = require('./support/sqlite-tools.js').betterSqlite()
    const w = new Database(real.db)
    const secret = crypto.randomBytes(32)
    const goodText = JSON.stringify({ private: { type: 'Buffer', data: secret.toString('base64') }, public: { type: 'Buffer', data: crypto.randomBytes(32).toString('base64') } })
    const rows = {
      empty: '',
      torn: goodText.slice(0, goodText.length - 9),
      garbage: '\u0001\u0002 not json at all }{',
      bomThenValid: `\ufeff${goodText}`,
      deep: '{"a":'.repeat(100000) + '1' + '}'.repeat(100000),
      deepUnclosed: '['.repeat(100000),
      huge: JSON.stringify({ s: 'y'.repeat(30 << 20) }),
      ok: goodText,
      number: '5',
    }
    const insert = w.prepare("INSERT OR REPLACE INTO signal_keys (type, id, value) VALUES ('pre-key', ?, ?)")
    for (const [id, text] of Object.entries(rows)) insert.run(id, text)
    // Bytes that are not UTF-8, stored as TEXT and as a BLOB.
    const badUtf8 = Buffer.concat([Buffer.from(goodText.slice(0, 20)), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(goodText.slice(24))])
    w.prepare("INSERT INTO signal_keys (type, id, value) VALUES ('pre-key', 'invalidUtf8Text', CAST(? AS TEXT))").run(badUtf8)
    w.prepare("INSERT INTO signal_keys (type, id, value) VALUES ('pre-key', 'blob', ?)").run(crypto.randomBytes(64))
    w.close()
    const ids = [...Object.keys(rows), 'invalidUtf8Text', 'blob', 'missing']
    const r = await run('storedValues', { db: real.db, type: 'pre-key', ids })
    console.log(`[sqlite-hostile] stored rows: first ${JSON.stringify(Object.fromEntries(Object.entries(r.first).map(([k, v]) => [k, v && v.enc ? v.enc.slice(0, 40) : v])))}; warnings ${r.warnsFirst.length}; quarantined ${JSON.stringify(r.quarantine.map((q) => q.id))}`)
    expect(r.firstOk).toBe(true)
    expect(JSON.parse(r.first.ok.enc).private.data).toBe(secret.toString('base64'))
    expect(r.first.number.enc).toBe('5')
    expect(r.first.missing).toBeNull()
    // Invalid UTF-8 is not by itself undecodable: it reads as U+FFFD, as
    // Node's decoding (and the folder store, and better-sqlite3) gives it.
    expect(r.first.invalidUtf8Text.enc).toContain('\ufffd')
    const undecodable = ['empty', 'torn', 'garbage', 'bomThenValid', 'deep', 'deepUnclosed', 'blob']
    for (const id of undecodable) expect({ id, v: r.first[id] }).toEqual({ id, v: null })
    // One warning per undecodable row, naming it, holding no key bytes.
    expect(r.warnsFirst).toHaveLength(undecodable.length)
    for (const id of undecodable) expect(r.warnsFirst.some((m) => m.includes(`"${id}"`))).toBe(true)
    for (const m of r.warnsFirst) expect(m).not.toContain(secret.toString('base64').slice(0, 16))
    // Kept aside with their bytes; answered null without a warning next time.
    expect(r.quarantine.map((q) => q.id).sort()).toEqual([...undecodable].sort())
    for (const q of r.quarantine) {
      const want = q.id === 'blob' ? null : Buffer.from(rows[q.id])
      if (want) expect({ id: q.id, sha: q.sha }).toEqual({ id: q.id, sha: crypto.createHash('sha256').update(want).digest('hex') })
    }
    expect(r.remaining.sort()).toEqual(['huge', 'invalidUtf8Text', 'number', 'ok', ...Array.from({ length: 200 }, (_, i) => String(i))].sort())
    for (const id of undecodable) expect(r.second[id]).toBeNull()
    expect(r.warnsSecond).toEqual([])
    expect(r.integrity).toBe('ok')
    // huge (30 MB of valid JSON) reads back.
    expect(r.first.huge).not.toBeNull()
  })

  test('hostile JS values in set and saveCreds: Baileys’ writer’s answer (the same bytes, or a rejection), the call all or nothing', async () => {
    const db = path.join(dir('values'), 'auth.db')
    const r = await run('hostileValues', { db })
    const table = {}
    for (const [name, x] of Object.entries(r)) {
      if (!x || typeof x !== 'object' || !('reference' in x)) continue
      table[name] = x.ok ? 'stored' : `rejected ${x.error.name}${x.error.code ? ` ${x.error.code}` : ''}`
      if (x.reference.ok && x.reference.text !== null) {
        // Baileys' writer gives bytes: we store exactly them, with the good key.
        expect({ name, ok: x.ok }).toEqual({ name, ok: true })
        expect({ name, stored: x.stored, sha: x.storedSha }).toEqual({ name, stored: x.reference.text, sha: x.reference.sha })
        expect({ name, good: x.good, hostileRead: x.hostileRead }).toEqual({ name, good: true, hostileRead: true })
      } else if (x.reference.ok) {
        // JSON.stringify gives undefined (a truthy value whose toJSON returns
        // undefined): there are no bytes to write; Baileys' helper fails in
        // writeFile. The call rejects, all of it.
        expect({ name, ok: x.ok, isError: x.error && x.error.isError, unchanged: x.unchangedOnError, good: x.good }).toEqual({ name, ok: false, isError: true, unchanged: true, good: false })
      } else {
        // Baileys' writer throws: the call rejects with the same class, and
        // nothing of it is written (the good key of the same call neither).
        expect({ name, ok: x.ok, errorName: x.error && x.error.name }).toEqual({ name, ok: false, errorName: x.reference.error.name })
        expect({ name, unchanged: x.unchangedOnError, good: x.good, stored: x.stored }).toEqual({ name, unchanged: true, good: false, stored: null })
      }
    }
    console.log(`[sqlite-hostile] hostile values: ${JSON.stringify(table)}; saveCreds with a cycle: ${r.credsCycle.ok ? 'stored' : r.credsCycle.error.name}, with a BigInt: ${r.credsBigInt.ok ? 'stored' : r.credsBigInt.error.name}`)
    expect(r.credsCycle).toMatchObject({ ok: false, error: { isTypeError: true } })
    expect(r.credsBigInt).toMatchObject({ ok: false, error: { isTypeError: true } })
    expect(r.credsUnchanged).toBe(true)
    expect(r.credsAfter).toBe(true)
    expect(r.keep).toBe('{"v":"kept"}')
    expect(r.integrity).toBe('ok')
  })
})
