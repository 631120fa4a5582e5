'use strict'
// The PostgreSQL backend when the server goes away, and when the client is
// killed: real server stops and restarts (pg_ctl), real SIGKILLs.
//
// - Server down: every call rejects with a typed error (code
//   EBAILEYSUNAVAILABLE, ETIMEDOUT or an errno like ECONNREFUSED) within
//   timeoutMs (2000) + 5 s, nothing hangs, the process lives on; once the
//   server is back the pool reconnects, calls work again and the lease is
//   still ours: also after an outage longer than the lease (expired, but
//   nobody took it), and for an owner writing in a loop through pg.restart().
// - SIGKILL of the client at random moments during concurrent writes (sets
//   and saveCreds, group commits): every acknowledged call is in the tables,
//   none is half-applied; the next process takes the account over after the
//   lease. PG_KILL_RUNS=n kills (default 20), PG_KILL_SEED=n the schedule.

const fs = require('node:fs')
const path = require('node:path')

const { startPostgres } = require('./support/pg-server.js')
const h = require('./support/pg-harness.js')
const { LINUX, POSIX, onlyIf, psTable } = require('./support/platform.js')

const pkg = require(h.PKG_PATH)
const { writeData, keyId } = h.model

const TIMEOUT = 2000
const BOUND = TIMEOUT + 5000
const RUNS = Number(process.env.PG_KILL_RUNS || 20)
const SEED = Number(process.env.PG_KILL_SEED || Math.floor(Math.random() * 2 ** 31))
const TYPED = /^(EBAILEYSUNAVAILABLE|ETIMEDOUT|E[A-Z]+)$/
const NOT_TYPED = ['EBAILEYSINTERNAL', 'EBAILEYSFENCED', 'EBAILEYSLOCKED', 'EBAILEYSCLOSED']

let pg
let url // its own pool in this process: the first open of a pool sets its timeout

beforeAll(async () => {
  pg = await startPostgres()
  url = `${pg.url}?application_name=ban-outage`
}, 120000)

/** Every process of the server (the postmaster and its children), by /proc (by `ps` on macOS). */
function serverPids() {
  const postmaster = Number(fs.readFileSync(path.join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const pids = [postmaster]
  if (!LINUX) return pids.concat(psTable().filter((p) => p.ppid === postmaster).map((p) => p.pid))
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === postmaster) pids.push(Number(entry))
    } catch {} // gone meanwhile
  }
  return pids
}

let frozen = []
function signalServer(signal) {
  for (const pid of signal === 'SIGSTOP' ? (frozen = serverPids()) : frozen) {
    try {
      process.kill(pid, signal)
    } catch {} // a backend that ended
  }
  if (signal === 'SIGCONT') frozen = []
}

afterEach(async () => {
  signalServer('SIGCONT')
  await h.killAll()
  // A test that failed mid-outage must not leave the server down for the next.
  await pg.startServerOnly()
})

afterAll(async () => {
  await h.killAll()
  await pg?.stop()
})

/** Runs `call()`, returning { ok, ms, code, name, message } – or `hung` past 30 s. */
async function timed(call) {
  const t0 = Date.now()
  let timer
  const hang = new Promise((r) => (timer = setTimeout(() => r({ hung: true }), 30000)))
  const out = await Promise.race([
    call().then(
      () => ({ ok: true }),
      (e) => ({ ok: false, code: e?.code, name: e?.name, message: String(e?.message) }),
    ),
    hang,
  ])
  clearTimeout(timer)
  return { ...out, ms: Date.now() - t0 }
}

/** A rejection, neither a success nor a hang, within timeoutMs + 5 s. */
function expectBoundedRejection(r, what) {
  expect({ what, hung: Boolean(r.hung), ok: r.ok }).toEqual({ what, hung: false, ok: false })
  expect({ what, ms: r.ms, withinBound: r.ms <= BOUND }).toEqual({ what, ms: r.ms, withinBound: true })
}

/**
 * Every rejection carries a typed code: EBAILEYSUNAVAILABLE, ETIMEDOUT or an
 * errno name. Checked last in each test, so that a wrong code does not hide
 * the other findings.
 */
function expectTypedCodes(list) {
  const untyped = list.filter((r) => !(TYPED.test(r.code ?? '') && !NOT_TYPED.includes(r.code)))
  expect(untyped.slice(0, 3).map((r) => ({ what: r.what, code: r.code, message: r.message }))).toEqual([])
}

const outageCalls = (auth, tag, seq) => ({
  set: () => auth.state.keys.set(writeData(tag, seq)),
  get: () => auth.state.keys.get('session', [keyId(tag, 1, 0)]),
  saveCreds: () => auth.saveCreds(),
  list: async () => {
    for await (const _ of auth.state.keys.list('session')) void _
  },
})

describe('PostgreSQL server outage', () => {
  test('server stopped: every kind of call rejects typed within timeoutMs + 5 s, in waves; once it is back the same state works again and the lease is still ours', async () => {
    const account = 'outage-short'
    const auth = await pkg.usePostgresAuthState(url, account, { timeoutMs: TIMEOUT, leaseTtlMs: 15000 })
    const token = auth.counters().token
    for (let s = 1; s <= 5; s++) await auth.state.keys.set(writeData('O', s))

    await pg.stopServerOnly()
    const results = []
    let seq = 100
    for (let wave = 0; wave < 3; wave++) {
      // Concurrent calls of each kind, then a few on their own.
      const calls = outageCalls(auth, 'O', seq++)
      const burst = Array.from({ length: 10 }, () => seq++).map((s) => timed(() => auth.state.keys.set(writeData('O', s))).then((r) => ({ ...r, kind: 'set', s })))
      const each = Object.entries(calls).map(([kind, f]) => timed(f).then((r) => ({ ...r, kind })))
      results.push(...(await Promise.all([...burst, ...each])).map((r) => ({ ...r, wave })))
      await h.sleep(300)
    }
    for (const r of results) expectBoundedRejection(r, (r.what = `${r.kind} in wave ${r.wave}`))
    const codes = [...new Set(results.map((r) => r.code))]

    await pg.startServerOnly()
    // The very next calls work: the pool replaced the dead connections.
    const back = {}
    for (const [kind, f] of Object.entries(outageCalls(auth, 'O', 200))) back[kind] = await timed(f)
    expect(Object.fromEntries(Object.entries(back).map(([k, r]) => [k, r.ok ? 'ok' : `${r.code}: ${r.message}`]))).toEqual({ set: 'ok', get: 'ok', saveCreds: 'ok', list: 'ok' })

    // Nothing written during the outage landed; everything acknowledged did.
    const rows = await h.keyRows(pg, account)
    const a = h.analyze(pkg, rows, 'O')
    expect({ partial: a.partial, wrongBytes: a.wrongBytes }).toEqual({ partial: [], wrongBytes: [] })
    expect([...a.complete].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 200])
    expect(await h.leaseRow(pg, account)).toMatchObject({ token, owner_pid: process.pid, released: false })
    expect(auth.counters().token).toBe(token)
    // ...and another process is still refused.
    const other = h.spawnOwner({ url: pg.url, account, tag: 'X', opts: {} })
    expect(await other.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the refusal')).toMatchObject({ ev: 'open-error', code: 'EBAILEYSLOCKED', pid: process.pid })

    const byKind = {}
    for (const r of results) (byKind[r.kind] ||= []).push(r.ms)
    h.record('outage_rejection_ms', {
      timeoutMs: TIMEOUT,
      codes,
      maxMs: Math.max(...results.map((r) => r.ms)),
      byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, { min: Math.min(...v), max: Math.max(...v), n: v.length }])),
      firstCallsAfterRestartMs: Object.fromEntries(Object.entries(back).map(([k, r]) => [k, r.ms])),
      sampleMessage: results[0].message,
    })
    await auth.close()
    expectTypedCodes(results)
  }, 60000)

  test('an outage longer than the lease: the lease expired but nobody took it, so it is still ours once the server is back', async () => {
    const account = 'outage-long'
    const TTL = 1500
    const auth = await pkg.usePostgresAuthState(url, account, { timeoutMs: TIMEOUT, leaseTtlMs: TTL })
    const token = auth.counters().token
    await auth.state.keys.set(writeData('L', 1))
    await pg.stopServerOnly()
    // No renewal can land from here on: the lease ends at most TTL from now.
    const t0 = Date.now()
    const during = await timed(() => auth.state.keys.set(writeData('L', 2)))
    expectBoundedRejection(during, (during.what = 'set during the outage'))
    await h.sleep(Math.max(0, TTL + 1500 - (Date.now() - t0)))
    const downMs = Date.now() - t0
    await pg.startServerOnly()
    // Expired by the server's clock (the same machine's), and not taken. (The
    // heartbeat may have renewed it again by the time this reads it.)
    const expired = await h.leaseRow(pg, account)
    const after = await timed(() => auth.state.keys.set(writeData('L', 3)))
    expect(after.ok ? 'ok' : `${after.code}: ${after.message}`).toBe('ok')
    const lease = await h.leaseRow(pg, account)
    expect(lease).toMatchObject({ token, owner_pid: process.pid, released: false })
    expect(lease.expires_in_ms).toBeGreaterThan(0)
    // The heartbeat keeps it, too.
    await h.sleep(TTL * 2)
    expect((await h.leaseRow(pg, account)).expires_in_ms).toBeGreaterThan(0)
    const other = h.spawnOwner({ url: pg.url, account, tag: 'X', opts: {} })
    expect(await other.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the refusal')).toMatchObject({ ev: 'open-error', code: 'EBAILEYSLOCKED' })
    const a = h.analyze(pkg, await h.keyRows(pg, account), 'L')
    expect([...a.complete].sort()).toEqual([1, 3])
    h.record('outage_longer_than_lease', { leaseTtlMs: TTL, downMs, leaseLeftWhenBackMs: expired.expires_in_ms, rejectionMs: during.ms, rejectionCode: during.code, firstWriteAfterMs: after.ms })
    expect(downMs).toBeGreaterThan(TTL + 1000) // the case this test is about
    await auth.close()
    expectTypedCodes([during])
  }, 60000)

  test('pg.restart() under an owner writing in a loop: rejections are typed and bounded, the loop recovers, every acknowledged write is whole', async () => {
    const account = 'outage-restart'
    const child = h.spawnOwner({ url: pg.url, account, tag: 'R', opts: { timeoutMs: TIMEOUT, leaseTtlMs: 15000 } })
    const opened = await child.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    child.send({ cmd: 'loop', from: 1, window: 3 })
    await child.waitFor((e) => e.ev === 'ack' && e.seq >= 30, 30000, 'writes')
    const tRestart = Date.now()
    await pg.restart()
    const tBack = Date.now()
    const n0 = child.events.length
    await child.waitFor((e) => e.ev === 'ack' && child.events.indexOf(e) >= n0 && e.at > tBack + 200, 30000, 'writes after the restart')
    child.send({ cmd: 'stop-loop' })
    await child.waitFor((e) => e.ev === 'loop-stopped', 30000, 'the end of the loop')
    child.send({ cmd: 'report' })
    const report = await child.waitFor((e) => e.ev === 'report', 30000, 'the report')

    const outs = h.outcomes(child.events)
    const rejected = [...outs.values()].filter((o) => o.rej)
    for (const o of rejected) {
      const r = { ok: false, code: o.rej.code, ms: o.rej.at - o.issued.at }
      expectBoundedRejection(r, `write ${o.rej.seq}`)
    }
    const acked = [...outs.values()].filter((o) => o.ack).map((o) => o.ack.seq)
    const a = h.analyze(pkg, await h.keyRows(pg, account), 'R')
    expect({ partial: a.partial, wrongBytes: a.wrongBytes, foreign: a.foreign }).toEqual({ partial: [], wrongBytes: [], foreign: [] })
    expect(acked.filter((s) => !a.complete.has(s))).toEqual([])
    expect(await h.leaseRow(pg, account)).toMatchObject({ token: opened.token, owner_pid: child.pid })
    expect(report.loggerErrors).toBe(0)
    h.record('restart_under_load', {
      restartMs: tBack - tRestart,
      rejected: rejected.length,
      codes: [...new Set(rejected.map((o) => o.rej.code))],
      maxRejectionMs: rejected.length ? Math.max(...rejected.map((o) => o.rej.at - o.issued.at)) : null,
      acked: acked.length,
    })
    child.send({ cmd: 'close' })
    await child.waitFor((e) => e.ev === 'closed', 30000, 'the close')
    expectTypedCodes(rejected.map((o) => ({ what: `write ${o.rej.seq}`, code: o.rej.code, message: o.rej.message })))
  }, 60000)
})

describe('PostgreSQL server frozen (SIGSTOP of every server process)', () => {
  // Windows has no SIGSTOP/SIGCONT.
  const test = onlyIf(POSIX)
  test('a server that accepts but never answers: every call rejects typed within timeoutMs + 5 s, even calls queued behind others; after SIGCONT the state works and nothing rejected lands late', async () => {
    const account = 'outage-frozen'
    const auth = await pkg.usePostgresAuthState(url, account, { timeoutMs: TIMEOUT, leaseTtlMs: 15000 })
    const token = auth.counters().token
    for (let s = 1; s <= 3; s++) await auth.state.keys.set(writeData('F', s))

    signalServer('SIGSTOP')
    let results
    try {
      // What a bot does at once: a burst of sets, a read, saveCreds, a listing, one more set.
      const calls = outageCalls(auth, 'F', 100)
      const burst = Array.from({ length: 10 }, (_, i) => 110 + i).map((s) => timed(() => auth.state.keys.set(writeData('F', s))).then((r) => ({ ...r, kind: `set ${s}` })))
      const each = ['set', 'get', 'saveCreds', 'list'].map((kind) => timed(calls[kind]).then((r) => ({ ...r, kind })))
      const late = timed(() => auth.state.keys.set(writeData('F', 130))).then((r) => ({ ...r, kind: 'set 130 (last in the queue)' }))
      results = await Promise.all([...burst, ...each, late])
    } finally {
      signalServer('SIGCONT')
    }
    h.record('frozen_server_rejection_ms', {
      timeoutMs: TIMEOUT,
      calls: results.map((r) => [r.kind, r.ok ? 'ok' : r.code, r.ms]),
      maxMs: Math.max(...results.map((r) => r.ms)),
    })

    // Back: a new write, then time for anything rejected to land late (it must not, or only whole and not over the new one).
    const back = await timed(() => auth.state.keys.set(writeData('F', 200)))
    expect(back.ok ? 'ok' : `${back.code}: ${back.message}`).toBe('ok')
    await h.sleep(1000)
    const a = h.analyze(pkg, await h.keyRows(pg, account), 'F')
    expect({ partial: a.partial, wrongBytes: a.wrongBytes }).toEqual({ partial: [], wrongBytes: [] })
    expect(a.latest).toBe(200)
    for (const s of [1, 2, 3, 200]) expect(a.complete.has(s)).toBe(true)
    expect(await h.leaseRow(pg, account)).toMatchObject({ token, owner_pid: process.pid, released: false })
    await auth.close()
    // Checked last, so that the recovery above is checked even when these fail.
    for (const r of results) expectBoundedRejection(r, (r.what = r.kind))
    expectTypedCodes(results)
  }, 60000)
})

function mulberry32(a) {
  return () => {
    a |= 0
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `runs` SIGKILLs of owners of `account` at random moments; after each, the
 * tables are checked against what the killed child acknowledged. Returns the
 * counts of every kind of finding (and samples), never throws on one.
 */
async function campaign({ runs, seed, account, mutant, until, onlyDuringWrites = false }) {
  const TTL = 500
  const rand = mulberry32(seed)
  const stats = {
    kills: 0,
    beforeOpen: 0,
    acknowledgedSets: 0,
    acknowledgedCreds: 0,
    unacknowledgedButCommitted: 0,
    partial: 0,
    wrongBytes: 0,
    foreign: 0,
    lost: 0,
    outOfOrder: 0,
    credsLost: 0,
    openFailures: 0,
    problems: [],
    takeoverWaitMs: [],
  }
  const problem = (run, what) => {
    if (stats.problems.length < 5) stats.problems.push({ run, ...what })
  }
  const history = []
  for (let run = 0; run < runs; run++) {
    const tag = `${mutant || 'K'}${run}`
    const child = h.spawnOwner({ url: pg.url, account, tag, mutant, opts: { leaseTtlMs: TTL, timeoutMs: TIMEOUT }, openRetryMs: 30000 })
    if (!onlyDuringWrites && rand() < 0.2) {
      // During the start-up or the open (the lease's own transaction).
      await h.sleep(Math.floor(rand() * 250))
    } else {
      const opened = await child.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
      if (opened.ev !== 'open') {
        stats.openFailures++
        problem(run, { openError: opened })
      } else stats.takeoverWaitMs.push(opened.ms)
      child.send({ cmd: 'loop', from: 1, window: 1 + Math.floor(rand() * 6), credsEvery: 2 + Math.floor(rand() * 4) })
      await (onlyDuringWrites ? child.waitFor((e) => e.ev === 'issued', 30000, 'a write').then(() => h.sleep(20 + Math.floor(rand() * 200))) : h.sleep(rand() < 0.3 ? Math.floor(rand() * 5) : Math.floor(rand() * 400)))
    }
    child.kill('SIGKILL')
    const exit = await child.exited
    if (exit.signal !== 'SIGKILL') problem(run, { exit })
    stats.kills++
    if (!child.events.some((e) => e.ev === 'open')) stats.beforeOpen++

    const a = h.analyze(pkg, await h.keyRows(pg, account), tag)
    const outs = h.outcomes(child.events)
    const acked = [...outs.values()].filter((o) => o.ack).map((o) => o.ack.seq)
    const lost = acked.filter((s) => !a.complete.has(s))
    // Calls are committed in the order issued: nothing before the newest
    // stored one is missing, nothing after it is there.
    const issued = [...outs.keys()]
    const newest = Math.max(0, ...a.complete)
    const gaps = issued.filter((s) => s < newest && !a.complete.has(s))
    stats.partial += a.partial.length
    stats.wrongBytes += a.wrongBytes.length
    stats.foreign += a.foreign.length
    stats.lost += lost.length
    stats.outOfOrder += gaps.length + (a.complete.size && a.latest !== newest ? 1 : 0)
    for (const [k, v] of Object.entries({ partial: a.partial, wrongBytes: a.wrongBytes, foreign: a.foreign, lost, gaps })) if (v.length) problem(run, { [k]: v.slice(0, 5) })
    stats.unacknowledgedButCommitted += [...a.complete].filter((s) => !outs.get(s)?.ack).length
    stats.acknowledgedSets += acked.length

    // saveCreds: the stored creds are this run's newest committed one.
    const credsOuts = h.outcomes(child.events, { creds: true })
    const ackedCreds = [...credsOuts.values()].filter((o) => o.ack).map((o) => o.ack.seq)
    stats.acknowledgedCreds += ackedCreds.length
    const creds = await h.credsRow(pg, account)
    if (ackedCreds.length && !(creds?.pgTag === tag && creds.pgSeq >= Math.max(...ackedCreds))) {
      stats.credsLost++
      problem(run, { creds: creds && { tag: creds.pgTag, seq: creds.pgSeq }, ackedCreds: ackedCreds.slice(-3) })
    }
    if (creds?.pgTag === tag && !credsOuts.has(creds.pgSeq)) problem(run, { credsNeverIssued: creds.pgSeq })
    history.push({ tag, acked })
    if (until?.(stats)) break
  }
  // Every run's acknowledged writes are still there, whole, at the end.
  const rows = await h.keyRows(pg, account)
  stats.lostLater = 0
  for (const { tag, acked } of history) {
    const a = h.analyze(pkg, rows, tag)
    stats.lostLater += acked.filter((s) => !a.complete.has(s)).length + a.partial.length
  }
  return stats
}

describe('PostgreSQL: SIGKILL of the client during writes', () => {
  test(`${RUNS} kills at random moments during concurrent sets and saveCreds: every acknowledged call is in the tables, none half-applied (seed ${SEED})`, async () => {
    const account = 'kill-campaign'
    const stats = await campaign({ runs: RUNS, seed: SEED, account })
    // ...and the account opens after the last kill (once the lease runs out).
    const last = await h.openWhenFree(pkg, url, account, { timeoutMs: TIMEOUT, leaseTtlMs: 500 }, 30000)
    expect(last.auth.counters().token).toBeGreaterThan(1)
    await last.auth.close()

    h.record('client_sigkill_campaign', { seed: SEED, ...stats, takeoverWaitMs: { max: Math.max(...stats.takeoverWaitMs), all: stats.takeoverWaitMs } })
    expect(stats.problems).toEqual([])
    expect(stats).toMatchObject({ kills: RUNS, partial: 0, wrongBytes: 0, foreign: 0, lost: 0, outOfOrder: 0, credsLost: 0, openFailures: 0, lostLater: 0 })
    // It exercised something: acknowledged calls of both kinds, most kills after the open.
    expect(stats.acknowledgedSets).toBeGreaterThan(RUNS)
    expect(stats.acknowledgedCreds).toBeGreaterThan(0)
    expect(stats.beforeOpen).toBeLessThan(RUNS / 2)
  }, 90000)

  // The same checks against deliberately wrong clients must fail.
  for (const [mutant, finding] of [
    ['split', 'partial'],
    ['early-ack', 'lost'],
  ]) {
    test(`the checks can fail: a client that ${mutant === 'split' ? 'splits each set by type' : 'acknowledges before the call resolves'} is caught (${finding})`, async () => {
      // At most 20 kills, all while it writes, stopping at the first finding.
      const stats = await campaign({ runs: 20, seed: SEED ^ 0x5a5a, account: `kill-mutant-${mutant}`, mutant, onlyDuringWrites: true, until: (s) => s[finding] > 0 })
      console.log(`[pg-outage] mutant ${mutant}: ${finding} ${stats[finding]} after ${stats.kills} kills`)
      expect(stats[finding]).toBeGreaterThan(0)
    }, 60000)
  }
})
