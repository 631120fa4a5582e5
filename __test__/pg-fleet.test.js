'use strict'
// A fleet of 200 accounts on the PostgreSQL backend in one process
// (`support/pg-fleet-child.js`), with a pool of 8: the process never holds
// more than 8 connections (the heartbeats of 200 leases included: counted in
// pg_stat_activity by application_name), its memory grows by at most
// 200 MiB, a second process is refused every account with the lock error
// naming the owner, and once the first closes them all the second takes all
// 200 over at once and reads back what the first wrote.
//
// FLEET_ACCOUNTS=n changes the fleet's size (default 200).

const os = require('node:os')
const path = require('node:path')

const { startPostgres } = require('./support/pg-server.js')
const h = require('./support/pg-harness.js')
const { leaseHost } = require('./support/platform.js')

const N = Number(process.env.FLEET_ACCOUNTS || 200)
const POOL = 8
const TTL = 3000 // a heartbeat a second per account: 200 renewals a second
const MiB = 1024 * 1024
const FLEET = path.join(__dirname, 'support', 'pg-fleet-child.js')
const APP_A = 'baileys-auth-native' // the default application_name
const APP_B = 'baileys-fleet-b'

let pg
let first
let second
const names = Array.from({ length: N }, (_, i) => `fleet-${String(i).padStart(3, '0')}`)
const measured = {}

beforeAll(async () => {
  pg = await startPostgres()
}, 120000)

afterAll(async () => {
  await h.killAll()
  await pg?.stop()
  h.record('fleet', measured)
})

/** Samples both processes' connection counts every ~50 ms until stopped. */
function sampler() {
  const seen = { [APP_A]: 0, [APP_B]: 0, samples: 0 }
  let running = true
  const done = (async () => {
    while (running) {
      const out = await pg.psql(
        `select coalesce(sum((application_name = '${APP_A}')::int), 0) || ',' || coalesce(sum((application_name = '${APP_B}')::int), 0) from pg_stat_activity`,
      )
      const [a, b] = out.split(',').map(Number)
      seen[APP_A] = Math.max(seen[APP_A], a)
      seen[APP_B] = Math.max(seen[APP_B], b)
      seen.samples++
      await h.sleep(50)
    }
  })()
  return {
    async stop() {
      running = false
      await done
      return seen
    },
  }
}

describe(`PostgreSQL fleet: ${N} accounts in one process, poolSize ${POOL}`, () => {
  test(`opening ${N} accounts at once, writing each and renewing ${N} leases: at most ${POOL} connections, memory growth at most 200 MiB`, async () => {
    first = h.spawnChild(FLEET, { url: pg.url, names, opts: { poolSize: POOL, leaseTtlMs: TTL } })
    const ready = await first.waitFor((e) => e.ev === 'ready', 30000, 'the child')
    const s = sampler()
    first.send({ cmd: 'open-all' })
    const opened = await first.waitFor((e) => e.ev === 'opened', 60000, 'the opens')
    expect({ ok: opened.ok, refused: opened.refused, other: opened.other }).toEqual({ ok: N, refused: [], other: [] })
    first.send({ cmd: 'write-all' })
    const written = await first.waitFor((e) => e.ev === 'written', 60000, 'the writes')
    expect(written.failed).toBe(0)
    // Three heartbeat rounds of every lease.
    first.send({ cmd: 'report' })
    const r1 = await first.waitFor((e) => e.ev === 'report', 30000, 'a report')
    await h.sleep(TTL + 500)
    first.send({ cmd: 'report' })
    const r2 = await first.waitFor((e) => e.ev === 'report' && e !== r1, 30000, 'a later report')
    const seen = await s.stop()
    expect(r2.renewals - r1.renewals).toBeGreaterThanOrEqual(2 * N)
    const now = await h.connectionCount(pg, APP_A)

    const growth = r2.rss - ready.rss
    Object.assign(measured, {
      accounts: N,
      poolSize: POOL,
      leaseTtlMs: TTL,
      openAllMs: opened.ms,
      writeAllMs: written.ms,
      maxConnections: seen[APP_A],
      connectionsAtEnd: now,
      samples: seen.samples,
      rssBeforeMiB: +(ready.rss / MiB).toFixed(1),
      rssAfterOpenMiB: +(opened.rss / MiB).toFixed(1),
      rssAfterWritesAndHeartbeatsMiB: +(r2.rss / MiB).toFixed(1),
      rssGrowthMiB: +(growth / MiB).toFixed(1),
      renewalsInWindow: r2.renewals - r1.renewals,
    })
    console.log(`[pg-fleet] ${JSON.stringify(measured)}`)
    expect(seen.samples).toBeGreaterThan(10)
    expect(seen[APP_A]).toBeGreaterThan(0)
    expect(seen[APP_A]).toBeLessThanOrEqual(POOL)
    expect(now).toBeLessThanOrEqual(POOL)
    expect(growth).toBeLessThanOrEqual(200 * MiB)

    const leases = await h.query(pg, 'select owner_pid, token, expires_at > now() as live from baileys_leases where account like $1', ['fleet-%'])
    expect(leases).toHaveLength(N)
    expect(leases.every((l) => l.owner_pid === first.pid && Number(l.token) === 1 && l.live)).toBe(true)
  }, 90000)

  test(`a second process is refused all ${N} with AuthFolderLockedError naming the owner`, async () => {
    expect(first).toBeDefined()
    second = h.spawnChild(FLEET, { url: `${pg.url}?application_name=${APP_B}`, names, opts: { poolSize: POOL, leaseTtlMs: TTL } })
    await second.waitFor((e) => e.ev === 'ready', 30000, 'the second child')
    const s = sampler()
    second.send({ cmd: 'open-all' })
    const refusedAll = await second.waitFor((e) => e.ev === 'opened', 60000, 'the refusals')
    const seen = await s.stop()
    expect({ ok: refusedAll.ok, other: refusedAll.other, refused: refusedAll.refused.length }).toEqual({ ok: 0, other: [], refused: N })
    const t = refusedAll.at
    for (const r of refusedAll.refused) {
      expect(r).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: first.pid, host: leaseHost() })
      expect(r.until).toBeGreaterThan(t - 5000) // a live lease (renewed every second, for 3 s)
    }
    expect(new Set(refusedAll.refused.map((r) => r.account)).size).toBe(N)
    expect(seen[APP_B]).toBeLessThanOrEqual(POOL)
    measured.refuseAllMs = refusedAll.ms
    measured.secondMaxConnections = seen[APP_B]
  }, 90000)

  test(`after the first process closes all ${N}, the second takes them all over at once and reads back the first one's data`, async () => {
    expect(second).toBeDefined()
    first.send({ cmd: 'close-all' })
    const closed = await first.waitFor((e) => e.ev === 'closed', 60000, 'the closes')
    expect(closed.failed).toBe(0)
    const released = await h.query(pg, "select count(*)::int as n from baileys_leases where account like 'fleet-%' and expires_at = '-infinity'")
    expect(released[0].n).toBe(N)

    const k = second.events.length
    second.send({ cmd: 'open-all' })
    const taken = await second.waitFor((e) => e.ev === 'opened' && second.events.indexOf(e) >= k, 60000, 'the takeover')
    expect({ ok: taken.ok, refused: taken.refused, other: taken.other }).toEqual({ ok: N, refused: [], other: [] })
    second.send({ cmd: 'verify-all' })
    const verified = await second.waitFor((e) => e.ev === 'verified', 60000, 'the read-back')
    expect({ mismatches: verified.mismatches, samples: verified.samples }).toEqual({ mismatches: 0, samples: [] })
    // every key of each account's write (its own and the shared one) and its creds
    expect(verified.checked).toBe(N * (h.model.KEYS_PER_WRITE + 2))

    const leases = await h.query(pg, 'select owner_pid, token from baileys_leases where account like $1', ['fleet-%'])
    expect(leases.every((l) => l.owner_pid === second.pid && Number(l.token) === 2)).toBe(true)
    Object.assign(measured, { closeAllMs: closed.ms, takeAllMs: taken.ms, closedToTakenMs: taken.at - closed.at, verifiedValues: verified.checked })

    second.send({ cmd: 'close-all' })
    expect((await second.waitFor((e) => e.ev === 'closed', 60000, 'the last closes')).failed).toBe(0)
  }, 90000)
})
