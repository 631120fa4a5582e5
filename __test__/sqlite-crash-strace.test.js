'use strict'
// Durability of the SQLite backend, seen from the kernel: `strace -f` of a
// child (support/sqlite-strace-child.js) that opens a database with
// `useSqliteAuthState` and acknowledges each call by a write(2) of
// `ACK <n>` to its stdout right after the call resolves. Every value call n
// writes carries the text `ACKMARK-<n>-`, so the WAL writes holding its data
// are found in the trace (`-s 65536` prints whole buffers, `-y` the path
// behind each descriptor). A saveCreds superseded within its group commit by
// a later saveCreds (one creds row) counts that later one's WAL writes.
//
// With `fsync: true` (synchronous = FULL), for EVERY acknowledged call: its
// data reaches `<db>-wal` before its ACK, and the first fsync/fdatasync of
// the WAL file after that commit's writes (the sync that closes the commit
// holding the call's first WAL write) succeeded and returned before the ACK
// was written. This holds for
// calls committed alone, for 24 un-awaited calls issued together (group
// commit: one fsync may serve several, none is acknowledged before it), and
// for a 400-key set beside small calls. Why the order in the log is the real
// order: the ACK write can only start after the writer thread returned from
// its fsync and went on to complete the call, and strace logs that return
// before it lets the thread go on.
//
// With `fsync: false` (synchronous = NORMAL) the same run shows no WAL fsync
// per acknowledgement (the WAL is synced at checkpoints only): informational,
// with a loose check.

const { spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CHILD = path.join(__dirname, 'support', 'sqlite-strace-child.js')
const PKG = path.join(__dirname, '..', 'index.js')
const SYNCS = new Set(['fsync', 'fdatasync'])

function findStrace() {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/bin', '/bin', '/usr/sbin'])) {
    const p = path.join(dir, 'strace')
    try {
      fs.accessSync(p, fs.constants.X_OK)
      execFileSync(p, ['-V'], { stdio: 'ignore' })
      return p
    } catch {}
  }
  return null
}
// strace is Linux's (macOS and Windows have no such tracer): skipped elsewhere.
const STRACE = process.platform === 'linux' ? findStrace() : null

/**
 * `strace -f -o` lines -> calls `{ pid, name, text, entry, exit, ret }`, in
 * the order of their entry lines; a call cut by another thread's
 * (`<unfinished ...>` ... `<... name resumed>`) is joined, its exit being the
 * index of the resumed line.
 */
function parseStrace(log) {
  const calls = []
  const open = new Map()
  log.split('\n').forEach((line, index) => {
    const m = /^(\d+)\s+(.*)$/.exec(line)
    if (!m) return
    const pid = Number(m[1])
    const rest = m[2]
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest)
    if (resumed) {
      const call = open.get(pid)
      if (!call) return
      open.delete(pid)
      call.text += resumed[2]
      call.exit = index
      finish(call)
      return
    }
    const start = /^(\w+)\((.*)$/.exec(rest)
    if (!start) return // signals, exits
    const call = { pid, name: start[1], text: start[2], entry: index, exit: index }
    if (rest.endsWith('<unfinished ...>')) {
      call.text = call.text.slice(0, -'<unfinished ...>'.length)
      open.set(pid, call)
    } else {
      finish(call)
    }
    calls.push(call)
  })
  function finish(call) {
    const r = /\)\s+=\s+(-?\d+)(?:<[^>]*>)?(?:\s+(\w+))?[^)]*$/.exec(call.text)
    call.ret = r ? Number(r[1]) : NaN
    call.errno = r ? r[2] : undefined
    const fd = /^(-?\d+)<([^>]*)>/.exec(call.text)
    call.fd = fd ? Number(fd[1]) : null
    call.path = fd ? fd[2] : null
  }
  return calls
}

function runTraced(fsync, extraEnv = {}) {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-sqlite-strace-')))
  const dbPath = path.join(root, 'auth.db')
  const log = path.join(root, 'strace.log')
  const trace = 'openat,close,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,sync_file_range,msync'
  const args = ['-f', '-qq', '-y', '-s', '65536', '-o', log, '-e', `trace=${trace}`, process.execPath, CHILD, dbPath, fsync ? '1' : '0']
  // --seccomp-bpf (strace >= 5.3) stops the child only at the traced calls.
  let r = spawnSync(STRACE, ['--seccomp-bpf', ...args], { env: { ...process.env, PKG, ...extraEnv }, encoding: 'utf8', timeout: 120000 })
  if (r.status !== 0 && /seccomp/i.test(r.stderr || '')) r = spawnSync(STRACE, args, { env: { ...process.env, PKG, ...extraEnv }, encoding: 'utf8', timeout: 120000 })
  if (r.status !== 0) throw new Error(`strace run failed (${r.status} ${r.signal} ${r.error}): ${r.stderr}\n${r.stdout}`)
  const done = /^DONE (.*)$/m.exec(r.stdout)
  if (!done) throw new Error(`the traced child did not finish:\n${r.stdout}\n${r.stderr}`)
  const calls = parseStrace(fs.readFileSync(log, 'utf8'))
  fs.rmSync(root, { recursive: true, force: true })
  return analyse(calls, dbPath, JSON.parse(done[1]))
}

/** The acks, WAL writes and WAL syncs of a trace, and per ack the evidence. */
function analyse(calls, dbPath, counts) {
  const wal = `${dbPath}-wal`
  const acks = []
  const phases = {}
  const walWrites = []
  const walSyncs = []
  for (const c of calls) {
    if (c.name === 'write' && c.fd === 1) {
      const a = /^1<[^>]*>, "ACK (\d+) (set|creds)\\n"/.exec(c.text)
      if (a) acks.push({ n: Number(a[1]), kind: a[2], entry: c.entry })
      const p = /^1<[^>]*>, "PHASE (\w+)\\n"/.exec(c.text)
      if (p) phases[p[1]] = c.entry
    } else if (c.path === wal && /^(write|pwrite64|writev|pwritev2?)$/.test(c.name)) {
      c.marks = new Set([...c.text.matchAll(/ACKMARK-(\d{6})-/g)].map((x) => Number(x[1])))
      walWrites.push(c)
    } else if (c.path === wal && SYNCS.has(c.name)) {
      walSyncs.push(c)
    }
  }
  const kinds = new Map(acks.map((a) => [a.n, a.kind]))
  const perAck = acks.map((ack) => {
    // The WAL writes of this call's data: those holding its mark, and for a
    // saveCreds those holding the mark of a later saveCreds too (the one
    // creds row: a later saveCreds of the same group commit supersedes it).
    // Later commits may write the same pages again (with the mark still in
    // them), so the call's commit is the one of the FIRST such write: the
    // WAL writes up to the first WAL sync after it. That sync must have
    // returned before the ACK.
    const holds = (w) => w.marks.has(ack.n) || (ack.kind === 'creds' && [...w.marks].some((m) => m > ack.n && kinds.get(m) === 'creds'))
    const first = walWrites.find(holds)
    const sync = first ? walSyncs.find((s) => s.entry > first.exit) : undefined
    const ok = Boolean(first && first.entry < ack.entry && sync && sync.ret === 0 && sync.exit < ack.entry)
    return { ...ack, firstWrite: first ? first.entry : null, sync: sync ? sync.entry : null, syncExit: sync ? sync.exit : null, syncName: sync && sync.name, ok }
  })
  return { acks, perAck, phases, walWrites, walSyncs, counts }
}

const describeStrace = STRACE ? describe : describe.skip
if (!STRACE) console.warn(`[sqlite-crash-strace] skipped: ${process.platform === 'linux' ? 'strace is not installed (apt-get install strace; .ci/run installs it)' : 'strace is Linux only'}`)

describeStrace(`SQLite WAL fsync before every acknowledgement, under strace -f (${STRACE || 'strace missing: skipped'})`, () => {
  let durable
  let fast
  let mutant
  beforeAll(() => {
    durable = runTraced(true)
    fast = runTraced(false)
    mutant = runTraced(true, { SQLITE_STRACE_MUTANT: 'early-ack' })
  }, 180000)

  test('fsync: true: every call is acknowledged after a WAL fsync that follows its WAL writes (sequential, grouped, large)', () => {
    const { acks, perAck, phases, walSyncs, counts } = durable
    expect(acks).toHaveLength(counts.calls)
    expect(new Set(acks.map((a) => a.n)).size).toBe(counts.calls)
    const bad = perAck.filter((a) => !a.ok)
    expect(bad).toEqual([])
    for (const s of walSyncs) expect(s.ret).toBe(0)
    const inPhase = (name, next) => perAck.filter((a) => a.entry > phases[name] && a.entry < phases[next])
    const phaseFigures = {}
    for (const [name, next] of [
      ['sequential', 'grouped'],
      ['grouped', 'large'],
      ['large', 'end'],
    ]) {
      const list = inPhase(name, next)
      const served = new Map()
      for (const a of list) served.set(a.sync, (served.get(a.sync) || 0) + 1)
      phaseFigures[name] = { acks: list.length, walSyncsServing: served.size, mostAcksPerSync: Math.max(...served.values()) }
    }
    console.log(`[sqlite-crash-strace] fsync: true: ${counts.calls} calls (${counts.set} sets, ${counts.creds} saveCreds), ${durable.walWrites.length} WAL writes, ${walSyncs.length} WAL syncs (${[...new Set(walSyncs.map((s) => s.name))].join('/')}); per phase ${JSON.stringify(phaseFigures)}`)
    // Sequential calls: each its own commit and fsync.
    expect(phaseFigures.sequential.walSyncsServing).toBe(phaseFigures.sequential.acks)
    // Grouped calls really were grouped (one fsync served several), so the
    // per-ack check above covered acks of grouped commits.
    expect(phaseFigures.grouped.acks).toBe(24)
    expect(phaseFigures.grouped.walSyncsServing).toBeLessThan(24)
    expect(phaseFigures.grouped.mostAcksPerSync).toBeGreaterThan(1)
    expect(phaseFigures.large.acks).toBe(8)
  })

  test('the check can fail: a child that writes each ACK as it issues the call is caught', () => {
    const bad = mutant.perAck.filter((a) => !a.ok)
    console.log(`[sqlite-crash-strace] early-ack mutant: ${bad.length} of ${mutant.acks.length} acks before their WAL fsync`)
    expect(bad.length).toBeGreaterThan(0)
  })

  test('fsync: false: no WAL fsync per acknowledgement (informational)', () => {
    const { acks, perAck, walSyncs, counts, phases } = fast
    expect(acks).toHaveLength(counts.calls)
    const syncsWhileWorking = walSyncs.filter((s) => s.entry > phases.sequential && s.entry < phases.end)
    const unsynced = perAck.filter((a) => !a.ok).length
    console.log(`[sqlite-crash-strace] fsync: false: ${counts.calls} acknowledged calls, ${syncsWhileWorking.length} WAL syncs while working (${walSyncs.length} in all, checkpoints included); ${unsynced} acks without a WAL sync after their writes`)
    expect(syncsWhileWorking.length).toBeLessThan(counts.calls)
    expect(unsynced).toBeGreaterThan(0)
  })
})
