'use strict'
// The write protocol, seen from the kernel: `strace -f` of a child process
// that opens a folder with `fsync: true`, then does a `saveCreds`, a
// multi-key `set`, and a `set` mixing writes and deletes. For every file:
// temp dot-file created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600 -> written ->
// fsync(temp fd) -> rename over the target -> and once per call, after every
// rename and unlink of the call, fsync(folder fd). Workers do the I/O, hence
// `-f`; `-y` prints the path behind every descriptor, so an fsync is known to
// be the temp file's (before its rename the descriptor's path is the temp name).
// A second run with `fsync: false` shows the same protocol without any fsync.

const { spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const PKG = path.join(__dirname, '..', 'index.js')
const TEMP_RE = /^\.baileys-auth-tmp-(\d+)-(\d+)$/

function findStrace() {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/bin', '/bin', '/usr/sbin'])) {
    const p = path.join(dir, 'strace')
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  return null
}
// strace is Linux's (macOS and Windows have no such tracer): skipped elsewhere.
const STRACE = process.platform === 'linux' ? findStrace() : null

// The traced child. Serialized with Function#toString and run as its own file.
function straceChild() {
  const fs = require('node:fs')
  const path = require('node:path')
  const { useMultiFileAuthState } = require(process.env.PKG)
  const folder = process.argv[2]
  const fsync = process.argv[3] === '1'
  // A recognisable syscall between phases: openat of a marker file beside the folder.
  const mark = (name) => fs.closeSync(fs.openSync(path.join(path.dirname(folder), `MARK-${name}`), 'w'))
  const size = (name) => fs.statSync(path.join(folder, name)).size
  ;(async () => {
    const { state, saveCreds } = await useMultiFileAuthState(folder, { fsync })
    mark('opened')
    state.creds.me = { id: '123456789:1@s.whatsapp.net', name: 'strace' }
    await saveCreds()
    mark('creds')
    const sizes = { creds: size('creds.json') }
    const batch = {
      'pre-key': { 1: { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) }, 2: { public: Buffer.alloc(32, 3), private: Buffer.alloc(32, 4) } },
      session: { '4917000001:2@s.whatsapp.net': { _sessions: { a: { chain: Buffer.alloc(3000, 5) } }, version: 'v1' } },
      'sender-key': { '120363000@g.us::4917000001:0': [{ senderKeyId: 7, seed: Buffer.alloc(32, 6) }] },
      'app-state-sync-version': { 'critical_block': { version: 3, hash: Buffer.alloc(128, 7), indexValueMap: {} } },
    }
    await state.keys.set(batch)
    mark('batch')
    sizes.batch = {}
    for (const type in batch) for (const id in batch[type]) {
      const name = `${type}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')
      sizes.batch[name] = size(name)
    }
    // Writes and deletes in one call.
    await state.keys.set({ 'pre-key': { 1: null, 3: { public: Buffer.alloc(32, 8), private: Buffer.alloc(32, 9) } }, session: { '4917000001:2@s.whatsapp.net': null } })
    mark('mixed')
    process.stdout.write(JSON.stringify(sizes))
  })().catch((e) => {
    process.stderr.write(String(e && e.stack))
    process.exit(3)
  })
}

/**
 * Parses `strace -f -y -o` output into calls with the index of their entry
 * and of their exit line (an interrupted call is split in `<unfinished ...>`
 * and `<... name resumed>` lines of the same pid).
 */
function parseStrace(text) {
  const calls = []
  const open = new Map() // pid -> call waiting for its resumed line
  const lines = text.split('\n')
  lines.forEach((line, index) => {
    const m = /^(\d+)\s+(.*)$/.exec(line)
    if (!m) return
    const pid = Number(m[1])
    let rest = m[2]
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest)
    if (resumed) {
      const call = open.get(pid)
      if (!call) return
      open.delete(pid)
      call.raw += resumed[2]
      call.exit = index
      finish(call)
      return
    }
    const start = /^(\w+)\((.*)$/.exec(rest)
    if (!start) return // signals, exits
    const call = { pid, name: start[1], raw: start[2], entry: index, exit: index }
    if (rest.endsWith('<unfinished ...>')) {
      call.raw = call.raw.slice(0, -'<unfinished ...>'.length)
      open.set(pid, call)
    } else {
      finish(call)
    }
    calls.push(call)
  })
  function finish(call) {
    const r = /\)\s+=\s+(-?\d+)(?:<([^>]*)>)?(?:\s+(\w+))?/.exec(call.raw)
    call.ret = r ? Number(r[1]) : NaN
    call.retPath = r && r[2]
    call.errno = r && r[3]
    call.args = call.raw.replace(/\)\s+=\s+.*$/, '')
  }
  return calls.sort((a, b) => a.entry - b.entry)
}

/** `fd<path>` at the start of an argument list. */
function fdPath(args) {
  const m = /^(-?\d+)<([^>]*)>/.exec(args)
  return m ? m[2] : null
}

/** The calls of the auth folder in one phase, in a readable form. */
function folderEvents(calls, folder, from, to) {
  const events = []
  for (const c of calls) {
    if (c.entry <= from || c.entry >= to) continue
    if (c.name === 'openat') {
      const m = /^(-?\d+|AT_FDCWD)<([^>]*)>, "([^"]*)", ([A-Z_|]+)(?:, (0\d+))?/.exec(c.args)
      if (!m) continue
      const full = m[3].startsWith('/') ? m[3] : path.join(m[2], m[3])
      if (path.dirname(full) !== folder && full !== folder) continue
      events.push({ kind: 'open', name: path.basename(full), dir: m[2], flags: m[4].split('|'), mode: m[5], ret: c.ret, retPath: c.retPath, entry: c.entry, exit: c.exit, raw: c.raw })
    } else if (c.name === 'write') {
      const p = fdPath(c.args)
      if (!p || path.dirname(p) !== folder) continue
      events.push({ kind: 'write', name: path.basename(p), ret: c.ret, entry: c.entry, exit: c.exit, raw: c.raw.slice(0, 120) })
    } else if (c.name === 'fsync' || c.name === 'fdatasync') {
      const p = fdPath(c.args)
      if (!p) continue
      if (p === folder) events.push({ kind: 'fsync-folder', ret: c.ret, entry: c.entry, exit: c.exit, raw: c.raw })
      else if (path.dirname(p) === folder) events.push({ kind: 'fsync', name: path.basename(p), ret: c.ret, entry: c.entry, exit: c.exit, raw: c.raw })
    } else if (c.name === 'rename' || c.name === 'renameat' || c.name === 'renameat2') {
      const m =
        c.name === 'rename'
          ? /^"([^"]*)", "([^"]*)"/.exec(c.args)
          : /^(?:-?\d+|AT_FDCWD)<([^>]*)>, "([^"]*)", (?:-?\d+|AT_FDCWD)<([^>]*)>, "([^"]*)"/.exec(c.args)
      if (!m) continue
      const from = c.name === 'rename' ? m[1] : path.join(m[1], m[2])
      const to = c.name === 'rename' ? m[2] : path.join(m[3], m[4])
      if (path.dirname(to) !== folder && path.dirname(from) !== folder) continue
      events.push({ kind: 'rename', from: path.basename(from), name: path.basename(to), fromDir: path.dirname(from), toDir: path.dirname(to), ret: c.ret, entry: c.entry, exit: c.exit, raw: c.raw })
    } else if (c.name === 'unlink' || c.name === 'unlinkat') {
      const m = c.name === 'unlink' ? /^"([^"]*)"/.exec(c.args) : /^(?:-?\d+|AT_FDCWD)<([^>]*)>, "([^"]*)"/.exec(c.args)
      if (!m) continue
      const full = c.name === 'unlink' ? m[1] : path.join(m[1], m[2])
      if (path.dirname(full) !== folder) continue
      events.push({ kind: 'unlink', name: path.basename(full), ret: c.ret, entry: c.entry, exit: c.exit, raw: c.raw })
    }
  }
  return events
}

/**
 * Checks that `target` was written by the protocol in `events`; returns the
 * temp name and the entry/exit of its rename.
 */
function checkOneFile(events, folder, target, size, fsync) {
  const renames = events.filter((e) => e.kind === 'rename' && e.name === target)
  expect(renames).toHaveLength(1)
  const rename = renames[0]
  expect(rename.ret).toBe(0)
  expect(rename.fromDir).toBe(folder)
  expect(rename.toDir).toBe(folder)
  const tmp = rename.from
  expect(tmp).toMatch(TEMP_RE)
  // Created exclusively, relative to the folder's descriptor, mode 0600.
  const creates = events.filter((e) => e.kind === 'open' && e.name === tmp)
  expect(creates).toHaveLength(1)
  const create = creates[0]
  expect(create.dir).toBe(folder)
  expect(create.flags).toEqual(expect.arrayContaining(['O_WRONLY', 'O_CREAT', 'O_EXCL', 'O_NOFOLLOW']))
  expect(create.mode).toBe('0600')
  expect(create.ret).toBeGreaterThanOrEqual(0)
  // Written in full through that descriptor (never the target's).
  const writes = events.filter((e) => e.kind === 'write' && e.name === tmp)
  expect(writes.length).toBeGreaterThan(0)
  expect(writes.reduce((n, w) => n + w.ret, 0)).toBe(size)
  for (const w of writes) expect(w.entry).toBeGreaterThan(create.exit)
  const lastWrite = Math.max(...writes.map((w) => w.exit))
  // fsync of the temp file's own descriptor, after the writes, before the rename.
  const fsyncs = events.filter((e) => e.kind === 'fsync' && e.name === tmp)
  if (fsync) {
    expect(fsyncs).toHaveLength(1)
    expect(fsyncs[0].ret).toBe(0)
    expect(fsyncs[0].entry).toBeGreaterThan(lastWrite)
    expect(rename.entry).toBeGreaterThan(fsyncs[0].exit)
  } else {
    expect(fsyncs).toHaveLength(0)
  }
  expect(rename.entry).toBeGreaterThan(lastWrite)
  // Nothing ever opens or writes the target itself for writing.
  for (const e of events) {
    if (e.kind === 'open' && e.name === target) {
      expect(e.flags).not.toEqual(expect.arrayContaining(['O_WRONLY']))
      expect(e.flags).not.toEqual(expect.arrayContaining(['O_RDWR']))
      expect(e.flags).not.toEqual(expect.arrayContaining(['O_TRUNC']))
    }
    if (e.kind === 'write') expect(e.name).not.toBe(target)
  }
  return { tmp, rename, create, fsync: fsyncs[0] }
}

function runTraced(fsync) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-strace-'))
  const folder = path.join(fs.realpathSync(root), 'auth')
  const childFile = path.join(root, 'child.js')
  fs.writeFileSync(childFile, `(${straceChild.toString()})()\n`)
  const log = path.join(root, 'strace.log')
  const r = spawnSync(
    STRACE,
    ['-f', '-qq', '-y', '-s', '48', '-o', log, '-e', 'trace=openat,write,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat', process.execPath, childFile, folder, fsync ? '1' : '0'],
    { env: { ...process.env, PKG }, encoding: 'utf8', timeout: 120000 },
  )
  if (r.status !== 0) throw new Error(`strace run failed (${r.status} ${r.signal}): ${r.stderr}`)
  const text = fs.readFileSync(log, 'utf8')
  const calls = parseStrace(text)
  const markAt = (name) => {
    const c = calls.find((c) => c.name === 'openat' && c.args.includes(`MARK-${name}"`))
    if (!c) throw new Error(`marker ${name} not in the trace`)
    return c.entry
  }
  const marks = { opened: markAt('opened'), creds: markAt('creds'), batch: markAt('batch'), mixed: markAt('mixed') }
  return { root, folder, text, calls, marks, sizes: JSON.parse(r.stdout) }
}

const describeStrace = STRACE ? describe : describe.skip
if (!STRACE) {
  // eslint-disable-next-line no-console
  console.warn(`[crash-strace] skipped: ${process.platform === 'linux' ? 'strace is not installed (apt-get install strace)' : 'strace is Linux only'}`)
}

describeStrace(`syscall order under strace -f (${STRACE || 'strace missing: skipped'})`, () => {
  let traced
  let untraced
  beforeAll(() => {
    execFileSync(STRACE, ['-V'])
    traced = runTraced(true)
    untraced = runTraced(false)
  })
  afterAll(() => {
    for (const t of [traced, untraced]) if (t) fs.rmSync(t.root, { recursive: true, force: true })
  })

  test('saveCreds with fsync: temp O_EXCL 0600 -> write -> fsync(temp) -> rename over creds.json -> fsync(folder)', () => {
    const { folder, calls, marks, sizes } = traced
    const events = folderEvents(calls, folder, marks.opened, marks.creds)
    const { rename } = checkOneFile(events, folder, 'creds.json', sizes.creds, true)
    const folderSyncs = events.filter((e) => e.kind === 'fsync-folder')
    expect(folderSyncs).toHaveLength(1)
    expect(folderSyncs[0].ret).toBe(0)
    expect(folderSyncs[0].entry).toBeGreaterThan(rename.exit)
    // Evidence for the report.
    const excerpt = events.map((e) => `${e.kind.padEnd(12)} ${e.raw}`).join('\n')
    console.log(`[crash-strace] saveCreds, fsync: true:\n${excerpt}`)
  })

  test('multi-key set with fsync: each file its own temp + fsync + rename, then one folder fsync after every rename', () => {
    const { folder, calls, marks, sizes } = traced
    const events = folderEvents(calls, folder, marks.creds, marks.batch)
    const names = Object.keys(sizes.batch)
    expect(names.length).toBe(5)
    const seen = names.map((name) => checkOneFile(events, folder, name, sizes.batch[name], true))
    // Each file its own temp file (and its own descriptor's fsync).
    expect(new Set(seen.map((s) => s.tmp)).size).toBe(names.length)
    expect(events.filter((e) => e.kind === 'open' && TEMP_RE.test(e.name))).toHaveLength(names.length)
    expect(events.filter((e) => e.kind === 'rename')).toHaveLength(names.length)
    const folderSyncs = events.filter((e) => e.kind === 'fsync-folder')
    expect(folderSyncs).toHaveLength(1)
    const lastRename = Math.max(...seen.map((s) => s.rename.exit))
    expect(folderSyncs[0].entry).toBeGreaterThan(lastRename)
    expect(folderSyncs[0].ret).toBe(0)
    console.log(`[crash-strace] set of ${names.length} keys, fsync: true:\n${events.map((e) => `${e.kind.padEnd(12)} ${e.raw}`).join('\n')}`)
  })

  test('set mixing writes and deletes: one folder fsync after the renames and the unlinks', () => {
    const { folder, calls, marks } = traced
    const events = folderEvents(calls, folder, marks.batch, marks.mixed)
    const deleted = ['pre-key-1.json', 'session-4917000001-2@s.whatsapp.net.json']
    const unlinks = events.filter((e) => e.kind === 'unlink' && deleted.includes(e.name))
    expect(unlinks.map((u) => u.name).sort()).toEqual(deleted)
    for (const u of unlinks) expect(u.ret).toBe(0)
    // Each delete also unlinks the .json.tmp and .json.bak Baileys' hardened
    // helper keeps (none here: ENOENT), in that order and before the .json,
    // so that no crash point leaves a .bak the helper would read back.
    for (const name of deleted) {
      const of = (n) => events.filter((e) => e.kind === 'unlink' && e.name === n)
      const [tmp, bak, json] = [of(`${name}.tmp`), of(`${name}.bak`), of(name)]
      expect([name, tmp.length, bak.length, json.length]).toEqual([name, 1, 1, 1])
      expect(tmp[0].ret).toBe(-1)
      expect(tmp[0].raw).toContain('ENOENT')
      expect(bak[0].ret).toBe(-1)
      expect(tmp[0].exit).toBeLessThan(bak[0].entry)
      expect(bak[0].exit).toBeLessThan(json[0].entry)
    }
    const others = events.filter((e) => e.kind === 'unlink' && !TEMP_RE.test(e.name) && !deleted.some((d) => e.name === d || e.name === `${d}.tmp` || e.name === `${d}.bak`))
    expect(others).toEqual([])
    const written = checkOneFile(events, folder, 'pre-key-3.json', fs.statSync(path.join(folder, 'pre-key-3.json')).size, true)
    const folderSyncs = events.filter((e) => e.kind === 'fsync-folder')
    expect(folderSyncs).toHaveLength(1)
    expect(folderSyncs[0].entry).toBeGreaterThan(Math.max(written.rename.exit, ...unlinks.map((u) => u.exit)))
  })

  test('no temp file is unlinked, and none is left, after successful calls', () => {
    const { folder, calls, marks } = traced
    const events = folderEvents(calls, folder, marks.opened, marks.mixed)
    expect(events.filter((e) => e.kind === 'unlink' && TEMP_RE.test(e.name))).toEqual([])
    expect(fs.readdirSync(folder).filter((n) => TEMP_RE.test(n))).toEqual([])
  })

  test('fsync: false: the same temp + rename protocol, and no fsync at all', () => {
    const { folder, calls, marks, sizes } = untraced
    const credsEvents = folderEvents(calls, folder, marks.opened, marks.creds)
    checkOneFile(credsEvents, folder, 'creds.json', sizes.creds, false)
    const batchEvents = folderEvents(calls, folder, marks.creds, marks.batch)
    for (const name of Object.keys(sizes.batch)) checkOneFile(batchEvents, folder, name, sizes.batch[name], false)
    const all = folderEvents(calls, folder, marks.opened, marks.mixed)
    expect(all.filter((e) => e.kind === 'fsync' || e.kind === 'fsync-folder')).toEqual([])
  })
})
