'use strict'
// One owner per account on the PostgreSQL backend, with real processes and
// real signals: SIGKILL of the owner (takeover within the lease, every
// acknowledged write kept, none half-applied), SIGSTOP past the lease
// (fencing of the old owner after SIGCONT, also in the middle of a group
// commit), a clean close (the next open is immediate), a held account
// (refused at once, naming the owner) and an owner whose event loop is
// blocked past the lease.
//
// The owners are `support/pg-owner-child.js`; the takers are children too,
// or this jest process (another process all the same). The tables are read
// with psql. Takeover times are printed and written to
// /tmp/baileys-pg-measurements.json (PG_MEASURE_FILE).

const os = require('node:os')

const { startPostgres } = require('./support/pg-server.js')
const h = require('./support/pg-harness.js')
const { POSIX, onlyIf, leaseHost } = require('./support/platform.js')

const pkg = require(h.PKG_PATH)
const { writeData, latestId } = h.model

const TTL = 2000 // leaseTtlMs of the owners
const SLACK = 3000 // on top of TTL: the polling, a process start, a loaded CI machine
let pg

beforeAll(async () => {
  pg = await startPostgres()
}, 120000)

afterEach(async () => {
  await h.killAll()
})

afterAll(async () => {
  await h.killAll()
  await pg?.stop()
})

const owner = (account, tag, extra = {}) =>
  h.spawnOwner({ url: pg.url, account, tag, opts: { leaseTtlMs: TTL, ...extra.opts }, openRetryMs: extra.openRetryMs || 0, loopPauseMs: extra.loopPauseMs })

const acks = (child) => child.events.filter((e) => e.ev === 'ack' && !e.creds).map((e) => e.seq)
const count = (child, ev) => child.events.filter((e) => e.ev === ev).length

/** Every acknowledged write of `child` (tag) is in `rows`, whole; no write is partial or wrong. */
function expectAcknowledgedWhole(rows, tag, acked) {
  const a = h.analyze(pkg, rows, tag)
  expect({ partial: a.partial, wrongBytes: a.wrongBytes, foreign: a.foreign }).toEqual({ partial: [], wrongBytes: [], foreign: [] })
  const missing = acked.filter((s) => !a.complete.has(s))
  expect(missing).toEqual([])
  return a
}

describe('PostgreSQL lease: SIGKILL of the owner', () => {
  test('a waiting process takes over within the lease; every acknowledged write is in the tables, none half-applied (3 kills in a chain)', async () => {
    const account = 'kill-chain'
    const takeovers = []
    let current = owner(account, 'K0')
    let opened = await current.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    let token = opened.token
    const killed = []
    for (let round = 0; round < 3; round++) {
      current.send({ cmd: 'loop', from: 1, window: 3 })
      await current.waitFor((e) => e.ev === 'ack' && e.seq >= 40, 30000, '40 acknowledged writes')
      // The next owner is already waiting (refused while the lease is live).
      const next = owner(account, `K${round + 1}`, { openRetryMs: 60000 })
      await h.sleep(300 + Math.floor(Math.random() * 200))
      const tKill = Date.now()
      current.kill('SIGKILL')
      const exit = await current.exited
      expect(exit.signal).toBe('SIGKILL')
      killed.push(current)
      const got = await next.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', TTL + SLACK + 30000, 'the takeover')
      expect(got.ev).toBe('open')
      takeovers.push(got.at - tKill)
      // It waited for the lease: refused until the lease ran out.
      expect(got.attempts).toBeGreaterThan(1)
      expect(got.token).toBe(token + 1)
      token = got.token
      // Every write the killed owner acknowledged is there, whole.
      const rows = await h.keyRows(pg, account)
      const a = expectAcknowledgedWhole(rows, `K${round}`, acks(current))
      expect(acks(current).length).toBeGreaterThanOrEqual(40)
      // The shared key came in the same statement as its write's own keys.
      expect(a.complete.has(a.latest)).toBe(true)
      expect(a.latest).toBeGreaterThanOrEqual(Math.max(...acks(current)))
      const lease = await h.leaseRow(pg, account)
      expect(lease).toMatchObject({ token, owner_pid: next.pid, owner_host: leaseHost(), released: false })
      current = next
    }
    // The last owner writes and closes; then every tag is checked once more.
    current.send({ cmd: 'loop', from: 1, window: 2 })
    await current.waitFor((e) => e.ev === 'ack' && e.seq >= 10, 30000, 'writes of the last owner')
    current.send({ cmd: 'stop-loop' })
    await current.waitFor((e) => e.ev === 'loop-stopped')
    current.send({ cmd: 'close' })
    await current.waitFor((e) => e.ev === 'closed', 30000, 'the close')
    const rows = await h.keyRows(pg, account)
    for (let i = 0; i < killed.length; i++) expectAcknowledgedWhole(rows, `K${i}`, acks(killed[i]))
    expectAcknowledgedWhole(rows, 'K3', acks(current))
    expect(count(current, 'rej')).toBe(0)

    h.record('sigkill_to_takeover_ms', { leaseTtlMs: TTL, takeovers, max: Math.max(...takeovers) })
    for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(TTL + SLACK)
  }, 90000)
})

describe('PostgreSQL lease: SIGSTOP of the owner past its lease', () => {
  // Windows has no SIGSTOP/SIGCONT.
  const test = onlyIf(POSIX)
  test('the new owner takes over; after SIGCONT every write of the old owner is refused with EBAILEYSFENCED, logger.error once, the new values stand', async () => {
    const account = 'stop-loop'
    const a = owner(account, 'S')
    const opened = await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    a.send({ cmd: 'loop', from: 1, window: 2 })
    await a.waitFor((e) => e.ev === 'ack' && e.seq >= 20, 30000, '20 acknowledged writes')

    const tStop = Date.now()
    a.kill('SIGSTOP')
    await h.waitUntil(() => h.procState(a.pid) === 'T', 5000, 'the owner is stopped')
    await h.sleep(200) // every line it wrote before the stop is read by now
    const lastIssued = Math.max(...a.events.filter((e) => e.ev === 'issued').map((e) => e.seq))

    // This process takes the account over once the lease has run out.
    const b = await h.openWhenFree(pkg, pg.url, account, { leaseTtlMs: 30000 }, TTL + SLACK + 30000)
    const stopToTakeover = b.openedAt - tStop
    expect(b.lockErrors.length).toBeGreaterThan(0)
    const lockErr = b.lockErrors[0]
    expect(lockErr).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: a.pid, host: leaseHost() })
    expect(b.auth.counters().token).toBe(opened.token + 1)

    // The new owner writes its own values, and over the old owner's shared key.
    for (let s = 1; s <= 5; s++) await b.auth.state.keys.set(writeData('T', s))
    const bLatest = { tag: 'T-over-S', seq: 424242 }
    await b.auth.state.keys.set({ tctoken: { [latestId('S')]: bLatest } })
    b.auth.state.creds.pgTag = 'T'
    await b.auth.saveCreds()
    const before = await h.keyRows(pg, account)
    const credsBefore = await h.credsRow(pg, account)

    a.kill('SIGCONT')
    // It keeps trying: wait for several refusals of writes issued after the resume.
    await a.waitFor(
      (e) => e.ev === 'rej' && e.seq > lastIssued + 6,
      30000,
      'refusals of writes issued after SIGCONT',
    )
    a.send({ cmd: 'stop-loop' })
    await a.waitFor((e) => e.ev === 'loop-stopped', 30000, 'the end of the loop')
    a.send({ cmd: 'report' })
    const report = await a.waitFor((e) => e.ev === 'report', 30000, 'the report')

    const outs = h.outcomes(a.events)
    const after = [...outs].filter(([seq]) => seq > lastIssued)
    expect(after.length).toBeGreaterThan(6)
    for (const [seq, o] of after) {
      expect({ seq, ack: Boolean(o.ack), name: o.rej?.name, code: o.rej?.code }).toEqual({ seq, ack: false, name: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
    }
    expect(report.loggerErrors).toBe(1)
    const logged = a.events.filter((e) => e.ev === 'logger.error')
    expect(logged).toHaveLength(1)
    expect(logged[0].obj).toEqual({ account, code: 'EBAILEYSFENCED' })

    // Nothing of the old owner landed after the takeover; the new values stand.
    const rows = await h.keyRows(pg, account)
    expect(rows).toEqual(before)
    expect(await h.credsRow(pg, account)).toEqual(credsBefore)
    expect(rows.get(`tctoken\0${latestId('S')}`)).toBe(pkg.encodeAuthValue(bLatest).toString('hex'))
    const sa = expectAcknowledgedWhole(rows, 'S', acks(a))
    expect([...sa.complete].filter((s) => s > lastIssued)).toEqual([])
    const ta = expectAcknowledgedWhole(rows, 'T', [1, 2, 3, 4, 5])
    expect(ta.latest).toBe(5)
    expect(await h.leaseRow(pg, account)).toMatchObject({ token: opened.token + 1, owner_pid: process.pid, released: false })

    // In flight at the stop: those answered after SIGCONT (acknowledged or not).
    const inFlight = [...outs].filter(([seq, o]) => seq <= lastIssued && (o.ack?.at ?? o.rej?.at) > tStop).map(([seq, o]) => [seq, o.ack ? 'ack' : o.rej.code])
    h.record('sigstop_to_takeover_ms', { leaseTtlMs: TTL, ms: stopToTakeover, lockRefusals: b.lockErrors.length, inFlightAtStop: inFlight })
    expect(stopToTakeover).toBeLessThanOrEqual(TTL + SLACK)

    await b.auth.close()
    expect(await h.leaseRow(pg, account)).toMatchObject({ released: true })
  }, 60000)

  test('stopped in the middle of a burst of concurrent sets (group commit): after SIGCONT nothing of it lands once the takeover happened', async () => {
    const account = 'stop-burst'
    const a = owner(account, 'G')
    const opened = await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    for (let s = 1; s <= 3; s++) a.send({ cmd: 'set', seq: s })
    await a.waitFor((e) => e.ev === 'ack' && e.seq === 3, 30000, 'the first writes')

    const BURST = 300
    // The child SIGSTOPs itself right after issuing the burst: its group
    // commits are under way, the rest queued.
    a.send({ cmd: 'burst', from: 1000, count: BURST, selfStop: true })
    await a.waitFor((e) => e.ev === 'burst-issued', 30000, 'the burst')
    await h.waitUntil(() => h.procState(a.pid) === 'T', 5000, 'the owner stopped itself')
    const tStop = Date.now()
    const ackedBeforeStop = acks(a).filter((s) => s >= 1000)

    const b = await h.openWhenFree(pkg, pg.url, account, { leaseTtlMs: 30000 }, TTL + SLACK + 30000)
    const stopToTakeover = b.openedAt - tStop
    const bLatest = { tag: 'H-over-G', seq: 777 }
    await b.auth.state.keys.set({ tctoken: { [latestId('G')]: bLatest } })
    for (let s = 1; s <= 3; s++) await b.auth.state.keys.set(writeData('H', s))
    const before = await h.keyRows(pg, account)

    a.kill('SIGCONT')
    await a.waitFor((e) => e.ev === 'burst-done', 60000, 'the end of the burst')
    // A second burst after the resume: all of it must be refused.
    a.send({ cmd: 'burst', from: 5000, count: 50 })
    await a.waitFor((e) => e.ev === 'burst-done' && e.from === 5000, 60000, 'the second burst')
    a.send({ cmd: 'report' })
    const report = await a.waitFor((e) => e.ev === 'report', 30000, 'the report')

    const rows = await h.keyRows(pg, account)
    expect(rows).toEqual(before)
    expect(rows.get(`tctoken\0${latestId('G')}`)).toBe(pkg.encodeAuthValue(bLatest).toString('hex'))
    const ga = expectAcknowledgedWhole(rows, 'G', acks(a))

    const outs = h.outcomes(a.events)
    const burst = [...outs].filter(([seq]) => seq >= 1000 && seq < 1000 + BURST)
    const second = [...outs].filter(([seq]) => seq >= 5000)
    expect(burst).toHaveLength(BURST)
    expect(second).toHaveLength(50)
    const tally = {}
    for (const [seq, o] of burst) {
      expect(Boolean(o.ack) !== Boolean(o.rej)).toBe(true)
      const k = o.ack ? 'ack' : o.rej.code
      tally[k] = (tally[k] || 0) + 1
      if (o.ack) expect(ga.complete.has(seq)).toBe(true)
      // A refused write left nothing (fenced: certainly; any other error: it
      // was rolled back, or it is whole).
      if (o.rej?.code === 'EBAILEYSFENCED') expect(ga.complete.has(seq)).toBe(false)
      if (o.rej) expect(o.rej.name === 'AuthLeaseLostError' || o.rej.code !== 'EBAILEYSFENCED').toBe(true)
    }
    for (const [seq, o] of second) {
      expect({ seq, ack: Boolean(o.ack), code: o.rej?.code, name: o.rej?.name }).toEqual({ seq, ack: false, code: 'EBAILEYSFENCED', name: 'AuthLeaseLostError' })
      expect(ga.complete.has(seq)).toBe(false)
    }
    expect(report.loggerErrors).toBe(1)
    h.record('burst_sigstop', {
      leaseTtlMs: TTL,
      stopToTakeoverMs: stopToTakeover,
      burst: BURST,
      ackedBeforeStop: ackedBeforeStop.length,
      outcomes: tally,
      counters: report.counters,
    })
    expect(stopToTakeover).toBeLessThanOrEqual(TTL + SLACK)
    await b.auth.close()
  }, 60000)
})

describe('PostgreSQL lease: a clean close', () => {
  test('close() waits for the pending writes and releases the lease: an open in another process succeeds at once (a 60 s lease)', async () => {
    const account = 'close-open'
    const LONG = 60000
    const latencies = []
    let a = h.spawnOwner({ url: pg.url, account, tag: 'C0', opts: { leaseTtlMs: LONG } })
    expect((await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')).ev).toBe('open')
    for (let round = 0; round < 3; round++) {
      // Writes left pending, then close at once.
      a.send({ cmd: 'burst', from: 1, count: 40 })
      a.send({ cmd: 'close' })
      const closed = await a.waitFor((e) => e.ev === 'closed' || e.ev === 'close-error', 30000, 'the close')
      expect(closed.ev).toBe('closed')
      // Every write issued before close() was done when it resolved.
      const outs = h.outcomes(a.events)
      for (let s = 1; s <= 40; s++) expect(outs.get(s)?.ack?.at).toBeLessThanOrEqual(closed.at)
      expect((await h.leaseRow(pg, account)).released).toBe(true)

      // This process: one attempt, no waiting.
      const t0 = Date.now()
      const mine = await pkg.usePostgresAuthState(pg.url, account, { leaseTtlMs: LONG })
      const fromClosed = Date.now() - closed.at
      latencies.push({ thisProcessOpenMs: Date.now() - t0, closedToOpenMs: fromClosed })
      const rows = await h.keyRows(pg, account)
      expectAcknowledgedWhole(rows, `C${round}`, acks(a))
      expect(h.analyze(pkg, rows, `C${round}`).complete.size).toBe(40)
      a.send({ cmd: 'exit' })
      await a.exited

      // ...and back: this process closes, a new child opens with no retry.
      const tClose = Date.now()
      await mine.close()
      a = h.spawnOwner({ url: pg.url, account, tag: `C${round + 1}`, opts: { leaseTtlMs: LONG }, openRetryMs: 0 })
      const o = await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open after close')
      expect(o).toMatchObject({ ev: 'open', attempts: 1 })
      latencies[round].childOpenMs = o.ms
      latencies[round].closeToChildOpenMs = o.at - tClose
    }
    a.send({ cmd: 'close' })
    await a.waitFor((e) => e.ev === 'closed', 30000, 'the last close')
    h.record('close_to_open_ms', { leaseTtlMs: LONG, rounds: latencies })
  }, 60000)
})

describe('PostgreSQL lease: a held account', () => {
  test('a second process is refused at once with AuthFolderLockedError naming the owner (pid, host, until in the future); the lease is untouched', async () => {
    const account = 'held'
    const a = h.spawnOwner({ url: pg.url, account, tag: 'O', opts: { leaseTtlMs: 60000 } })
    const opened = await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    const leaseBefore = await h.leaseRow(pg, account)

    // This process.
    const times = []
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now()
      const err = await pkg.usePostgresAuthState(pg.url, account, { leaseTtlMs: 60000 }).then(
        () => null,
        (e) => e,
      )
      times.push(Date.now() - t0)
      expect(err).toBeInstanceOf(pkg.AuthFolderLockedError)
      expect(err).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: a.pid, host: leaseHost() })
      // (a Date of the addon's realm, not of jest's sandbox)
      expect(Object.prototype.toString.call(err.until)).toBe('[object Date]')
      expect(err.until.getTime()).toBeGreaterThan(Date.now() + 30000)
      expect(err.message).toContain(String(a.pid))
    }
    // Another child.
    const b = h.spawnOwner({ url: pg.url, account, tag: 'P', opts: { leaseTtlMs: 60000 } })
    const refused = await b.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the refusal')
    expect(refused).toMatchObject({ ev: 'open-error', name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: a.pid, host: leaseHost(), attempts: 1 })
    expect(refused.until).toBeGreaterThan(refused.at + 30000)

    const leaseAfter = await h.leaseRow(pg, account)
    expect({ ...leaseAfter, expires_in_ms: 0 }).toEqual({ ...leaseBefore, expires_in_ms: 0 })
    // The owner still writes.
    a.send({ cmd: 'set', seq: 1 })
    expect((await a.waitFor((e) => (e.ev === 'ack' || e.ev === 'rej') && e.seq === 1)).ev).toBe('ack')
    h.record('lock_refusal_ms', { thisProcess: times, child: refused.ms })
    a.send({ cmd: 'close' })
    await a.waitFor((e) => e.ev === 'closed', 30000, 'the close')
  }, 60000)
})

describe('PostgreSQL lease: an owner whose event loop is blocked', () => {
  test('blocked (busy loop) longer than the lease: another process takes over, and its writes after unblocking are refused', async () => {
    const account = 'blocked'
    const BLOCK = TTL + SLACK + 1000 // the takeover is tried for BLOCK - 1000 ms
    const a = owner(account, 'B')
    const opened = await a.waitFor((e) => e.ev === 'open' || e.ev === 'open-error', 30000, 'the open')
    expect(opened.ev).toBe('open')
    a.send({ cmd: 'loop', from: 1, window: 1 })
    await a.waitFor((e) => e.ev === 'ack' && e.seq >= 10, 30000, 'writes')
    a.send({ cmd: 'block', ms: BLOCK })
    const blocking = await a.waitFor((e) => e.ev === 'blocking', 30000, 'the block')
    await h.sleep(100)
    const lastIssued = Math.max(...a.events.filter((e) => e.ev === 'issued').map((e) => e.seq))

    // While the owner's JavaScript is blocked, try to take over (until shortly before it unblocks).
    let taken = null
    let lastErr = null
    try {
      taken = await h.openWhenFree(pkg, pg.url, account, { leaseTtlMs: 30000 }, BLOCK - 1000)
    } catch (e) {
      lastErr = e
    }
    const waited = Date.now() - blocking.at
    const leaseNow = await h.leaseRow(pg, account)
    h.record('blocked_event_loop', {
      leaseTtlMs: TTL,
      blockMs: BLOCK,
      takenOver: Boolean(taken),
      blockToTakeoverMs: taken ? taken.openedAt - blocking.at : null,
      waitedMs: waited,
      refusal: lastErr && { code: lastErr.code, message: lastErr.message },
      leaseWhileBlocked: leaseNow,
    })
    // The heartbeat must not outlive the JavaScript it stands for.
    expect(taken ? 'taken over' : `still held after ${waited} ms of a ${BLOCK} ms block: ${lastErr?.message}`).toBe('taken over')
    await taken.auth.state.keys.set({ tctoken: { [latestId('B')]: { tag: 'new-owner', seq: 1 } } })
    const before = await h.keyRows(pg, account)

    await a.waitFor((e) => e.ev === 'unblocked', BLOCK + 30000, 'the end of the block')
    await a.waitFor((e) => e.ev === 'rej' && e.seq > lastIssued + 3, 30000, 'refusals after unblocking')
    a.send({ cmd: 'stop-loop' })
    await a.waitFor((e) => e.ev === 'loop-stopped')
    const after = [...h.outcomes(a.events)].filter(([seq]) => seq > lastIssued)
    for (const [seq, o] of after) expect({ seq, ack: Boolean(o.ack), code: o.rej?.code }).toEqual({ seq, ack: false, code: 'EBAILEYSFENCED' })
    expect(await h.keyRows(pg, account)).toEqual(before)
    a.send({ cmd: 'report' })
    expect((await a.waitFor((e) => e.ev === 'report', 30000, 'the report')).loggerErrors).toBe(1)
    await taken.auth.close()
  }, 60000)
})

describe('the checks of this suite can fail', () => {
  test('a missing key, a changed byte, an unacknowledged-looking loss and a foreign row are all seen', () => {
    const rows = new Map()
    for (const seq of [1, 2, 3]) for (const [k, hex] of h.model.expectedHex(pkg, 'X', seq)) rows.set(k, hex)
    expect(h.analyze(pkg, rows, 'X')).toMatchObject({ partial: [], wrongBytes: [], foreign: [], latest: 3 })
    expect([...h.analyze(pkg, rows, 'X').complete]).toEqual([1, 2, 3])

    const dropped = new Map(rows)
    dropped.delete(`session\0${h.model.keyId('X', 2, 1)}`)
    expect(h.analyze(pkg, dropped, 'X').partial).toEqual([2])

    const changed = new Map(rows)
    const k = `sender-key\0${h.model.keyId('X', 1, 4)}`
    changed.set(k, changed.get(k).replace(/.$/, (c) => (c === '0' ? '1' : '0')))
    expect(h.analyze(pkg, changed, 'X').wrongBytes).toEqual([`sender-key/${h.model.keyId('X', 1, 4)}`])

    const lost = new Map([...rows].filter(([key]) => !key.includes('.3.')))
    expect(() => expectAcknowledgedWhole(lost, 'X', [1, 2, 3])).toThrow()

    const foreign = new Map(rows)
    foreign.set(`session\0${h.model.keyId('X', 1, 99)}`, '00')
    expect(h.analyze(pkg, foreign, 'X').foreign).toEqual([`session/${h.model.keyId('X', 1, 99)}`])
  })
})
