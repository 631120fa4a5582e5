// npm run bench:postgres — our PostgreSQL backend (usePostgresAuthState)
// beside postgres-baileys@1.5.0 (usePostgreSQLAuthState over a pg.Pool), on a
// throw-away local PostgreSQL 15 with fsync on. One process, interleaved
// rounds (ours, reference, then the reverse), medians; then a fleet figure
// (200 accounts in one process), each side in a child process of its own.
//
//   node bench/postgres.mjs [--rounds N] [--only 1,2,6] [--pool 16] [--ref-pool 16]
//                           [--fleet-rounds M] [--fleet-accounts 200] [--fleet-keys 50]
//                           [--no-fleet] [--json out.json]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { fmtMiB, fmtMs, fmtRange, fmtRatio, here, log, machineWatch, median, ratio, root, stats, table } from './harness.mjs'
import { adminClient, contestants, resetTables, startBenchServer, statDelta, statSnapshot } from './postgres-common.mjs'
import { check, makeData, pair, PRE_KEYS, SAVES, SESSION_BYTES, SESSIONS, timed } from './workloads.mjs'

const BURST = 64

/** The workloads and their targets: reference / ours ≥ `target`. `calls`: API calls timed. */
const WORKLOADS = [
  { id: 1, name: `set ${PRE_KEYS} pre-keys`, target: 20, calls: 1 },
  { id: 2, name: `get ${PRE_KEYS} pre-keys`, target: 20, calls: 1 },
  { id: 3, name: `overwrite ${SESSIONS} sessions (2 KiB)`, target: 10, calls: 1 },
  { id: 4, name: `get ${SESSIONS} sessions`, target: 10, calls: 1 },
  { id: 5, name: `${SAVES} sequential saveCreds`, target: 2, calls: SAVES },
  { id: 6, name: `${BURST} concurrent small sets`, target: 5, calls: BURST },
]
const W = (id) => WORKLOADS.find((w) => w.id === id)
const NAMES = ['ours', 'ref']

// ---------------------------------------------------------------- options
function usage(code) {
  console.log(`usage: npm run bench:postgres -- [options]
  --rounds N           rounds of workloads 1-6 (default 7)
  --only LIST          workloads to run, e.g. 1,2,6 (default all)
  --pool N             ours: poolSize (default 16)
  --ref-pool N         the reference: pg.Pool max (default 16, the same as ours)
  --lease-ms N         ours: leaseTtlMs (default 15000, the package's default)
  --fleet-rounds M     rounds of the fleet figure, each side in a child process (default 3)
  --fleet-accounts N   accounts of the fleet (default 200)
  --fleet-keys N       single-key set calls per account, all issued at once (default 50)
  --no-fleet           skip the fleet figure
  --json FILE          also write every sample and the summary as JSON`)
  process.exit(code)
}
function parseArgs(argv) {
  const o = { rounds: 7, only: null, pool: 16, refPool: 16, leaseMs: 15000, fleetRounds: 3, fleetAccounts: 200, fleetKeys: 50, fleet: true, json: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(2))
    if (a === '--rounds') o.rounds = Number(val())
    else if (a === '--only') o.only = val().split(',').map(Number)
    else if (a === '--pool') o.pool = Number(val())
    else if (a === '--ref-pool') o.refPool = Number(val())
    else if (a === '--lease-ms') o.leaseMs = Number(val())
    else if (a === '--fleet-rounds') o.fleetRounds = Number(val())
    else if (a === '--fleet-accounts') o.fleetAccounts = Number(val())
    else if (a === '--fleet-keys') o.fleetKeys = Number(val())
    else if (a === '--no-fleet') o.fleet = false
    else if (a === '--json') o.json = val()
    else if (a === '--help' || a === '-h') usage(0)
    else {
      console.error(`unknown option ${a}`)
      usage(2)
    }
  }
  if (!(o.rounds >= 1) || (o.only && o.only.some((w) => !W(w)))) usage(2)
  return o
}
const opts = parseArgs(process.argv.slice(2))
const only = (id) => !opts.only || opts.only.includes(id)

// ---------------------------------------------------------------- data
const isBytes = (v, n) => (Buffer.isBuffer(v) || v instanceof Uint8Array) && v.length === n
const sameBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0

/** 64 single-session set calls over sessions already stored (a receive burst), as bench/sqlite.mjs. */
function burstData() {
  const ids = Array.from({ length: BURST }, (_, i) => `${4915400000000 + i}.0`)
  const value = () => randomBytes(SESSION_BYTES)
  return {
    ids,
    before: Object.fromEntries(ids.map((id) => [id, value()])),
    calls: ids.map((id) => ({ session: { [id]: value() } })),
  }
}

// ---------------------------------------------------------------- one round of one contestant
/**
 * Workloads 1-6 for one contestant, in a fresh account. Returns
 * `{[workload]: { ms, trips, statements, serverMs, walBytes }}`.
 */
async function runRound(impl, account, data, admin) {
  const out = {}
  const opened = await impl.open(account)
  const { state, saveCreds } = opened
  const { keys } = state
  // One timed section: its time, the contestant's round trips and the server's statements over it.
  const measure = async (id, fn) => {
    const t0 = opened.trips()
    const s0 = await statSnapshot(admin)
    const [ms, got] = await timed(fn)
    const trips = opened.trips() - t0
    const s = statDelta(s0, await statSnapshot(admin))
    out[id] = { ms, trips, statements: s.calls, serverMs: s.execMs, walBytes: s.walBytes }
    return got
  }
  if (only(1) || only(2)) {
    if (only(1)) await measure(1, () => keys.set({ 'pre-key': data.preKeys }))
    else await keys.set({ 'pre-key': data.preKeys })
  }
  if (only(2)) {
    const got = await measure(2, () => keys.get('pre-key', data.preKeyIds))
    check(data.preKeyIds.every((id) => got[id] && isBytes(got[id].private, 32) && isBytes(got[id].public, 32)), 'pre-keys read back')
    check(sameBytes(got['7'].private, data.preKeys['7'].private), 'pre-key bytes')
  }
  if (only(3) || only(4)) {
    await keys.set({ session: data.sessionsA })
    if (only(3)) await measure(3, () => keys.set({ session: data.sessionsB }))
  }
  if (only(4)) {
    const got = await measure(4, () => keys.get('session', data.sessionIds))
    const expected = only(3) ? data.sessionsB : data.sessionsA
    check(data.sessionIds.every((id) => isBytes(got[id], SESSION_BYTES)), 'sessions read back')
    check(sameBytes(got[data.sessionIds[7]], expected[data.sessionIds[7]]), 'session bytes')
  }
  if (only(5)) {
    pair(state.creds, data.pairing)
    await measure(5, async () => {
      for (let i = 0; i < SAVES; i++) {
        state.creds.accountSyncCounter = (state.creds.accountSyncCounter || 0) + 1
        await saveCreds()
      }
    })
  }
  if (only(6)) {
    await keys.set({ session: data.burst.before })
    await measure(6, () => Promise.all(data.burst.calls.map((c) => keys.set(c))))
    const got = await keys.get('session', data.burst.ids)
    check(
      data.burst.ids.every((id, i) => got[id] && sameBytes(got[id], data.burst.calls[i].session[id])),
      'every burst call is stored',
    )
  }
  await opened.close()
  return out
}

/** Checks, after a turn, that the credentials reached the server (both stores write them as their own encoding). */
async function checkCreds(admin, name, account, counter) {
  if (!only(5)) return
  if (name === 'ours') {
    const r = await admin.query('SELECT value FROM baileys_creds WHERE account = $1', [account])
    check(r.rows.length === 1 && r.rows[0].value.toString('utf8').includes(`"accountSyncCounter":${counter}`), 'ours: creds saved')
  } else {
    const r = await admin.query('SELECT data FROM auth_data WHERE session_key = $1', [`${account}:auth_creds`])
    check(r.rows.length === 1 && JSON.parse(r.rows[0].data).accountSyncCounter === counter, 'reference: creds saved')
  }
}

// ---------------------------------------------------------------- environment
async function environment(admin) {
  const one = async (sql) => (await admin.query(sql)).rows[0]
  const version = (await one('SELECT version() AS v')).v
  const settings = {}
  for (const s of ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'commit_delay']) {
    settings[s] = (await one(`SHOW ${s}`))[s]
  }
  // What one round trip and one durable commit cost here, through node-postgres.
  await admin.query('CREATE TABLE IF NOT EXISTS bench_commit (id int PRIMARY KEY, n int, v bytea)')
  const rtt = []
  const commit = []
  for (let i = 0; i < 60; i++) {
    let t = performance.now()
    await admin.query('SELECT 1')
    rtt.push(performance.now() - t)
    t = performance.now()
    await admin.query('INSERT INTO bench_commit VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n', [i])
    commit.push(performance.now() - t)
  }
  return { version, settings, rttMs: median(rtt.slice(10)), commitMs: median(commit.slice(10)) }
}

// ---------------------------------------------------------------- the fleet
/** One fleet run of `impl` in a child process, sampling the server's connections meanwhile. */
async function runFleet(impl, url, admin) {
  await resetTables(admin)
  // Only the child's connections: those that began after this (the parent's own pools stay open).
  const since = (await admin.query('SELECT clock_timestamp() AS t')).rows[0].t
  const child = spawn(
    process.execPath,
    [path.join(here, 'postgres-fleet-child.mjs'), impl, url, String(opts.fleetAccounts), String(opts.fleetKeys), String(opts.pool)],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  let done = false
  exited.then(() => (done = true))
  let peak = 0
  const db = new URL(url).pathname.slice(1)
  while (!done) {
    const r = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = $1 AND pid <> pg_backend_pid() AND backend_start >= $2",
      [db, since],
    )
    peak = Math.max(peak, r.rows[0].n)
    await new Promise((res) => setTimeout(res, 5))
  }
  const code = await exited
  if (code !== 0) throw new Error(`fleet child of ${impl} failed (status ${code})`)
  const res = JSON.parse(stdout.trim().split('\n').pop())
  const want = opts.fleetAccounts * opts.fleetKeys
  const count =
    impl === 'ours'
      ? (await admin.query("SELECT count(*)::int AS n FROM baileys_keys WHERE account LIKE 'fleet-%'")).rows[0].n
      : (await admin.query("SELECT count(*)::int AS n FROM auth_data WHERE session_key LIKE 'fleet-%'")).rows[0].n
  check(count === want, `fleet of ${impl}: ${want} keys stored (found ${count})`)
  return { ...res, peakConnections: peak }
}

// ---------------------------------------------------------------- the run
/**
 * Workload 5's floor, measured before each turn: 200 sequential one-row
 * durable upserts of a creds-sized bytea through node-postgres (one round
 * trip and one commit each, nothing else).
 */
async function commitFloor(admin, bytes) {
  const t = performance.now()
  for (let i = 0; i < SAVES; i++) {
    await admin.query('INSERT INTO bench_commit VALUES (2, $1, $2) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n, v = EXCLUDED.v', [i, bytes])
  }
  return performance.now() - t
}

const server = await startBenchServer()
let admin
let exitCode = 0
try {
  admin = await adminClient(server.url)
  const env = await environment(admin)
  const impls = contestants({ url: server.url, poolSize: opts.pool, refPool: opts.refPool, leaseTtlMs: opts.leaseMs })
  const data = makeData()
  data.burst = burstData()
  const samples = { ours: {}, ref: {} } // name → id → [{ms, trips, …}]
  const watch = machineWatch()
  const started = watch.started
  let seq = 0
  const floor5 = []
  const credsBytes = Buffer.alloc(2660, 'x') // the size of our encoded paired creds
  const turn = async (name, counted) => {
    const account = `bench-${name}-${++seq}`
    await resetTables(admin)
    if (counted && only(5)) floor5.push(await commitFloor(admin, credsBytes))
    const res = await runRound(impls[name], account, data, admin)
    // Ours after its close (the last write committed), the reference after its last await.
    await checkCreds(admin, name, account, SAVES)
    if (counted) for (const [id, x] of Object.entries(res)) (samples[name][id] ||= []).push(x)
  }
  log('[bench:postgres] warm-up round (not counted)…')
  for (const n of NAMES) await turn(n, false)
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? NAMES : [...NAMES].reverse()
    log(`[bench:postgres] round ${r + 1}/${opts.rounds}: ${order.join(', ')}`)
    for (const n of order) await turn(n, true)
    log(`[bench:postgres]   ${((performance.now() - started) / 1000).toFixed(0)} s so far`)
  }
  await impls.ref.end()

  const fleet = { ours: [], ref: [] }
  if (opts.fleet) {
    for (let r = 0; r < opts.fleetRounds; r++) {
      const order = r % 2 === 0 ? NAMES : [...NAMES].reverse()
      log(`[bench:postgres] fleet ${r + 1}/${opts.fleetRounds}: ${order.join(', ')}`)
      for (const n of order) fleet[n].push(await runFleet(n, server.url, admin))
    }
  }
  const machine = watch.end()

  // ---------------------------------------------------------------- report
  const S = (n, id, f = 'ms') => stats(samples[n][id]?.map((x) => x[f]))
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const pgVersion = env.version.split(' on ')[0]
  console.log(`\nbaileys-auth-native PostgreSQL bench — node ${process.version}, ${os.cpus().length} cores (${cpu}), ${os.type()} ${os.release()}`)
  console.log(
    `server: ${pgVersion}, local throw-away cluster over TCP 127.0.0.1; ` +
      Object.entries(env.settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') +
      `; pg_stat_statements on`,
  )
  console.log(
    `measured at the start (node-postgres, medians of 50): round trip (SELECT 1) ${fmtMs(env.rttMs)}, one-row autocommit upsert (a durable commit) ${fmtMs(env.commitMs)}` +
      ' (a snapshot: see 5\'s floor below for the run\'s own)',
  )
  console.log(
    `ours: usePostgresAuthState(url, account, { poolSize: ${opts.pool}, leaseTtlMs: ${opts.leaseMs} }); reference: postgres-baileys 1.5.0 ` +
      `usePostgreSQLAuthState(pool, sessionId) on a pg.Pool (pg ${createRequireVersion('pg')}) max ${opts.refPool}`,
  )
  console.log(
    `rounds: ${opts.rounds} (+1 warm-up), interleaved, a fresh account per contestant per round, tables emptied and CHECKPOINT before each turn; took ${machine.elapsed.toFixed(0)} s`,
  )
  console.log(
    `machine: load ${machine.load0.toFixed(1)} → ${machine.load1.toFixed(1)}, CPU stall ${machine.cpuStall}, I/O stall ${machine.ioStall} of the run (/proc/pressure, "some")`,
  )
  console.log('times: median [min–max] over the rounds\n')

  const shown = WORKLOADS.filter((w) => only(w.id))
  const label = (w) => `${w.id}. ${w.name}`
  const results = shown.map((w) => {
    const o = S('ours', w.id)
    const f = S('ref', w.id)
    const r = ratio(f, o)
    return { w, o, f, r, pass: r != null && r >= w.target }
  })
  console.log(
    table(
      ['workload', 'ours', 'postgres-baileys', 'ref/ours', 'target', ''],
      results.map(({ w, o, f, r, pass }) => [label(w), fmtRange(o), fmtRange(f), fmtRatio(r), `≥ ${w.target}×`, pass ? 'MET' : 'MISS']),
      ['l', 'r', 'r', 'r', 'r', 'l'],
    ),
  )

  const per = (n, id, f) => {
    const s = S(n, id, f)
    return s ? s.median / W(id).calls : null
  }
  const fmtPer = (x) => (x == null ? '—' : x >= 10 ? x.toFixed(0) : x.toFixed(2).replace(/\.?0+$/, ''))
  console.log('\nround trips and server work per API call (medians; statements and server time from pg_stat_statements)\n')
  console.log(
    table(
      [
        'workload',
        'calls',
        'ours trips/call',
        'ref trips/call',
        'ours stmts/call',
        'ref stmts/call',
        'ours server ms',
        'ref server ms',
        'ours WAL KiB',
        'ref WAL KiB',
      ],
      shown.map((w) => [
        label(w),
        w.calls,
        fmtPer(per('ours', w.id, 'trips')),
        fmtPer(per('ref', w.id, 'trips')),
        fmtPer(per('ours', w.id, 'statements')),
        fmtPer(per('ref', w.id, 'statements')),
        fmtMs(S('ours', w.id, 'serverMs')?.median),
        fmtMs(S('ref', w.id, 'serverMs')?.median),
        ((S('ours', w.id, 'walBytes')?.median ?? 0) / 1024).toFixed(0),
        ((S('ref', w.id, 'walBytes')?.median ?? 0) / 1024).toFixed(0),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  )
  console.log(
    '  trips: ours counters().roundTrips delta (minus lease renewals; a pipelined run is one); ref: queries its pg clients sent.\n' +
      '  stmts: statements the server ran (pg_stat_statements calls; BEGIN, SET LOCAL and COMMIT each count). server ms: their total execution time.',
  )

  if (opts.fleet && fleet.ours.length) {
    const F = (n, f) => stats(fleet[n].map(f))
    const rows = [
      ['open all accounts (concurrently)', (n) => fmtRange(F(n, (x) => x.openMs))],
      [`write ${opts.fleetKeys} keys to each, all at once`, (n) => fmtRange(F(n, (x) => x.writeMs))],
      ['total (open + write)', (n) => fmtRange(F(n, (x) => x.openMs + x.writeMs))],
      ['close all', (n) => fmtRange(F(n, (x) => x.closeMs))],
      ['peak server connections (pg_stat_activity)', (n) => String(Math.max(...fleet[n].map((x) => x.peakConnections)))],
      ['RSS growth: after writes − before open', (n) => fmtMiB(F(n, (x) => x.rssAfterWritesKiB - x.rssBeforeKiB).median)],
      ['RSS growth: peak (VmHWM) − before open', (n) => fmtMiB(F(n, (x) => x.hwmKiB - x.rssBeforeKiB).median)],
      ['round trips (ours: counters; ref: queries)', (n) => String(median(fleet[n].map((x) => x.trips)))],
      ['write groups / largest (ours)', (n) => (n === 'ours' ? `${median(fleet[n].map((x) => x.groups))} / ${median(fleet[n].map((x) => x.largestGroup))}` : '—')],
    ]
    console.log(
      `\nfleet: ${opts.fleetAccounts} accounts in one process (a child per run), ours poolSize ${opts.pool} (one pool for all), the reference one pg.Pool max ${opts.pool}; ` +
        `${opts.fleetKeys} single-session (2 KiB) set calls per account, every call issued at once; median [min–max] of ${opts.fleetRounds}\n`,
    )
    console.log(table(['', 'ours', 'postgres-baileys'], rows.map(([l, f]) => [l, f('ours'), f('ref')]), ['l', 'r', 'r']))
    const tr = ratio(F('ref', (x) => x.openMs + x.writeMs), F('ours', (x) => x.openMs + x.writeMs))
    console.log(`\n  total time ref/ours: ${fmtRatio(tr)}`)
  }

  if (only(5) && floor5.length) {
    const f = stats(floor5)
    console.log(
      `\n5's floor: ${SAVES} sequential durable one-row upserts (node-postgres, ${credsBytes.length}-byte bytea; measured before every turn): ${fmtRange(f)}` +
        ` → ref / floor = ${fmtRatio(ratio(S('ref', 5), f))}, ours / floor = ${fmtRatio(ratio(S('ours', 5), f))}:` +
        ' a store making one durable commit per saveCreds cannot be faster than the floor here',
    )
  }

  const met = results.filter((r) => r.pass).length
  console.log(`\ntargets (reference / ours, medians): ${met} of ${results.length} met`)
  for (const r of results) console.log(`  ${r.pass ? 'MET ' : 'MISS'}  ${label(r.w)}: ${fmtRatio(r.r)} (target ≥ ${r.w.target}×)`)
  console.log('')

  if (opts.json) {
    const out = { meta: { date: new Date().toISOString(), node: process.version, cpu, cores: os.cpus().length, opts, env, ...machine }, samples, floor5, fleet }
    fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`)
    log(`[bench:postgres] wrote ${opts.json}`)
  }
} catch (e) {
  console.error(e)
  exitCode = 1
} finally {
  await admin?.end().catch(() => {})
  await server.stop()
}
process.exit(exitCode)

function createRequireVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return '?'
  }
}
