// Where our PostgreSQL backend's time goes, per workload of bench/postgres.mjs:
//   node bench/postgres-profile.mjs [--reps 15] [--only 1,5,6] [--no-explain] [--perf 1,6]
//
// Per workload, over --reps repetitions on one account (after a warm-up):
// - total: the call(s) as bench/postgres.mjs times them;
// - JS encode: the synchronous part of the calls (the value walk and encode
//   on the JS thread, until the promise is returned);
// - server: pg_stat_statements' execution time of the statements run;
// - fixed cost of the round trips: each round trip priced at what a 0-key call
//   costs (get(type, []) for reads, set({}) for writes: napi, the account's
//   queue, the pool, one round trip, the lease statement and, for a write, the
//   commit's WAL flush), minus that call's own server time (counted in server);
// - rest: the remainder (Rust: binding, the wire, decoding and the JS values
//   built on completion; the transfer of the values).
// Then the same workloads with synchronous_commit=off (ours and the reference):
// what the WAL flush of the commits costs; experiments for the misses; and
// EXPLAIN (ANALYZE, BUFFERS) of the statements the backend ran, read back
// from pg_stat_statements. --perf W,…: a system-wide `perf record` of the
// given workloads in a loop, split by process and DSO.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

import { fmtMs, log, median, table } from './harness.mjs'
import { adminClient, CountingClient, referencePool, startBenchServer, statDelta, statSnapshot } from './postgres-common.mjs'
import { gc, makeData, pair, PRE_KEYS, SAVES, SESSION_BYTES, SESSIONS } from './workloads.mjs'

const require = createRequire(import.meta.url)
const ours = require('../index.js')
const { usePostgreSQLAuthState } = require('postgres-baileys')

const args = process.argv.slice(2)
const arg = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const REPS = Number(arg('--reps', 15))
const ONLY = arg('--only', '1,2,3,4,5,6').split(',').map(Number)
const EXPLAIN = !args.includes('--no-explain')
const PERF = arg('--perf', '')
  .split(',')
  .filter(Boolean)
  .map(Number)
const BURST = 64

// With --perf, run under --perf-basic-prof (JS frames by name in perf's report).
if (PERF.length && !process.execArgv.includes('--perf-basic-prof')) {
  const child = spawn(process.execPath, ['--perf-basic-prof', ...process.execArgv, process.argv[1], ...args], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 1))
  await new Promise(() => {})
}

const data = makeData()
const burstIds = Array.from({ length: BURST }, (_, i) => `${4915400000000 + i}.0`)
const burstCalls = burstIds.map((id) => ({ session: { [id]: randomBytes(SESSION_BYTES) } }))
const burstOne = { session: Object.assign({}, ...burstCalls.map((c) => c.session)) }

// The statements of core/src/backends/postgres/schema.rs (Statements::new) for the default prefix, as text
// (pg_stat_statements keeps them with their constants replaced, so they cannot be run from there).
const LEASE_CTE =
  "WITH lease AS (UPDATE \"baileys_leases\" SET expires_at = now() + $3::float8 * interval '1 millisecond' " +
  "WHERE account = $1 AND token = $2 AND expires_at > '-infinity' RETURNING 1)"
const HELD = 'EXISTS (SELECT 1 FROM lease)'
const STMT = {
  read: 'SELECT id, value FROM "baileys_keys" WHERE account = $1 AND type = $2 AND id = ANY($3::text[])',
  apply:
    `${LEASE_CTE}, del AS (DELETE FROM "baileys_keys" k USING unnest($4::text[], $5::text[]) AS d(type, id) ` +
    `WHERE k.account = $1 AND k.type = d.type AND k.id = d.id AND ${HELD}), ` +
    'put AS (INSERT INTO "baileys_keys" (account, type, id, value) ' +
    `SELECT $1, u.type, u.id, u.value FROM unnest($6::text[], $7::text[], $8::bytea[]) AS u(type, id, value) WHERE ${HELD} ` +
    'ON CONFLICT (account, type, id) DO UPDATE SET value = EXCLUDED.value) ' +
    'SELECT count(*) FROM lease',
  saveCreds:
    `${LEASE_CTE}, put AS (INSERT INTO "baileys_creds" (account, value) SELECT $1, $4 FROM lease ` +
    'ON CONFLICT (account) DO UPDATE SET value = EXCLUDED.value) ' +
    'SELECT count(*) FROM lease',
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms))
const quiesce = async () => {
  gc()
  await pause(30)
}

const server = await startBenchServer()
const admin = await adminClient(server.url)
const asyncUrl = `${server.url}?options=${encodeURIComponent('-c synchronous_commit=off')}`
let exitCode = 0
try {
  // A lease long enough that no renewal falls into the profile.
  const lease = { poolSize: 16, leaseTtlMs: 3_600_000 }
  const a = await ours.usePostgresAuthState(server.url, 'profile', lease)
  const aAsync = await ours.usePostgresAuthState(asyncUrl, 'profile-async', lease)
  pair(a.state.creds, data.pairing)
  pair(aAsync.state.creds, data.pairing)
  const refPool = referencePool(server.url, 16)
  const refAsyncPool = new (require('pg').Pool)({ connectionString: server.url, max: 16, idleTimeoutMillis: 0, options: '-c synchronous_commit=off' })
  refAsyncPool.on('error', () => {})
  const ref = await usePostgreSQLAuthState(refPool, 'profile-ref')
  const refAsync = await usePostgreSQLAuthState(refAsyncPool, 'profile-ref-async')
  pair(ref.state.creds, data.pairing)
  pair(refAsync.state.creds, data.pairing)

  // The workloads, each `prepare` (untimed) then `run` → { sync } (ms spent before the promises were returned).
  const syncOf = (fn) => {
    const t = performance.now()
    const p = fn()
    return [performance.now() - t, p]
  }
  // A preparation done once per store.
  const once = (fn) => {
    const done = new WeakSet()
    return async (s) => {
      if (done.has(s.state)) return
      done.add(s.state)
      await fn(s)
    }
  }
  const W = {
    1: {
      name: `set ${PRE_KEYS} pre-keys`,
      kind: 'write',
      prepare: async (s) => s.state.keys.set({ 'pre-key': Object.fromEntries(data.preKeyIds.map((id) => [id, null])) }),
      run: async (s) => {
        const [sync, p] = syncOf(() => s.state.keys.set({ 'pre-key': data.preKeys }))
        await p
        return sync
      },
    },
    2: {
      name: `get ${PRE_KEYS} pre-keys`,
      kind: 'read',
      prepare: once((s) => s.state.keys.set({ 'pre-key': data.preKeys })),
      run: async (s) => {
        const [sync, p] = syncOf(() => s.state.keys.get('pre-key', data.preKeyIds))
        await p
        return sync
      },
    },
    3: {
      name: `overwrite ${SESSIONS} sessions (2 KiB)`,
      kind: 'write',
      prepare: async (s) => s.state.keys.set({ session: data.sessionsA }),
      run: async (s) => {
        const [sync, p] = syncOf(() => s.state.keys.set({ session: data.sessionsB }))
        await p
        return sync
      },
    },
    4: {
      name: `get ${SESSIONS} sessions`,
      kind: 'read',
      prepare: once((s) => s.state.keys.set({ session: data.sessionsA })),
      run: async (s) => {
        const [sync, p] = syncOf(() => s.state.keys.get('session', data.sessionIds))
        await p
        return sync
      },
    },
    5: {
      name: `${SAVES} sequential saveCreds`,
      kind: 'write',
      calls: SAVES,
      prepare: async () => {},
      run: async (s) => {
        let sync = 0
        for (let i = 0; i < SAVES; i++) {
          s.state.creds.accountSyncCounter = (s.state.creds.accountSyncCounter || 0) + 1
          const [t, p] = syncOf(() => s.saveCreds())
          sync += t
          await p
        }
        return sync
      },
    },
    6: {
      name: `${BURST} concurrent small sets`,
      kind: 'write',
      calls: BURST,
      prepare: async (s) => s.state.keys.set(burstOne),
      run: async (s) => {
        const [sync, p] = syncOf(() => Promise.all(burstCalls.map((c) => s.state.keys.set(c))))
        await p
        return sync
      },
    },
  }
  const trips = (s) => {
    const c = s.counters()
    return { trips: c.roundTrips - c.renewals, groups: c.groups }
  }

  /** One timed run: total, sync, server statements, trips. */
  async function measure(s, fn) {
    await quiesce()
    const c0 = s.counters ? trips(s) : { trips: CountingClient.queries, groups: 0 }
    const s0 = await statSnapshot(admin)
    const t = performance.now()
    const sync = await fn()
    const total = performance.now() - t
    const s1 = await statSnapshot(admin)
    const c1 = s.counters ? trips(s) : { trips: CountingClient.queries, groups: 0 }
    const d = statDelta(s0, s1)
    return { total, sync: typeof sync === 'number' ? sync : 0, serverMs: d.execMs, statements: d.calls, trips: c1.trips - c0.trips, groups: c1.groups - c0.groups, byQuery: d.byQuery }
  }

  // Probes: a 0-key call of ours (read, write), and node-postgres' round trip and durable commit.
  await admin.query('CREATE TABLE IF NOT EXISTS bench_commit (id int PRIMARY KEY, v bytea)')
  const adminAsync = await adminClient(asyncUrl)
  const credsBytes = Buffer.from(ours.encodeAuthValue(a.state.creds))
  async function probe(c, sql, params) {
    const xs = []
    for (let i = 0; i < 7; i++) {
      const t = performance.now()
      await c.query(sql, params)
      xs.push(performance.now() - t)
    }
    return median(xs)
  }
  // cold: one call after quiesce (as a single-call workload meets it); hot: the mean of 50 back to back (as in workload 5).
  const probes = { read0: [], write0: [], read0Server: [], write0Server: [], read0Hot: [], write0Hot: [], rtt: [], commit: [], commitAsync: [] }
  async function hot(fn) {
    const t = performance.now()
    for (let i = 0; i < 50; i++) await fn()
    return (performance.now() - t) / 50
  }
  async function runProbes() {
    for (let i = 0; i < 3; i++) {
      const r = await measure(a, () => a.state.keys.get('pre-key', []))
      probes.read0.push(r.total)
      probes.read0Server.push(r.serverMs)
      const w = await measure(a, () => a.state.keys.set({}))
      probes.write0.push(w.total)
      probes.write0Server.push(w.serverMs)
    }
    probes.read0Hot.push(await hot(() => a.state.keys.get('pre-key', [])))
    probes.write0Hot.push(await hot(() => a.state.keys.set({})))
    const upsert = 'INSERT INTO bench_commit VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v'
    probes.rtt.push(await probe(admin, 'SELECT 1'))
    probes.commit.push(await probe(admin, upsert, [credsBytes]))
    probes.commitAsync.push(await probe(adminAsync, upsert, [credsBytes]))
  }

  // ---------------------------------------------------------------- the breakdown
  const samples = {}
  const refSamples = {}
  const asyncSamples = {}
  const refAsyncSamples = {}
  const refStore = (r) => ({ state: r.state, saveCreds: r.saveCreds })
  for (const id of ONLY) {
    const w = W[id]
    log(`[profile] ${id}. ${w.name}`)
    await w.prepare(a)
    await w.run(a) // warm-up
    samples[id] = []
    refSamples[id] = []
    asyncSamples[id] = []
    refAsyncSamples[id] = []
    for (const [s, out] of [
      [aAsync, asyncSamples],
      [refStore(ref), refSamples],
      [refStore(refAsync), refAsyncSamples],
    ]) {
      await w.prepare(s)
      await w.run(s)
    }
    for (let r = 0; r < REPS; r++) {
      await runProbes()
      await w.prepare(a)
      samples[id].push(await measure(a, () => w.run(a)))
      await w.prepare(aAsync)
      asyncSamples[id].push(await measure(aAsync, () => w.run(aAsync)))
      if (r < Math.min(REPS, 7)) {
        for (const [s, out] of [
          [refStore(ref), refSamples],
          [refStore(refAsync), refAsyncSamples],
        ]) {
          await w.prepare(s)
          out[id].push(await measure(s, () => w.run(s)))
        }
      }
    }
  }
  const P = Object.fromEntries(Object.entries(probes).map(([k, v]) => [k, median(v)]))
  const flush = P.commit - P.commitAsync

  console.log(`\nbaileys-auth-native PostgreSQL profile — node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(await admin.query('SELECT version() AS v')).rows[0].v.split(' on ')[0]}`)
  console.log(`reps: ${REPS} per workload (medians), one account, fsync on; load now ${os.loadavg()[0].toFixed(1)}`)
  console.log(
    `probes (medians): node-postgres round trip ${fmtMs(P.rtt)}, durable one-row upsert ${fmtMs(P.commit)}, the same with synchronous_commit=off ${fmtMs(P.commitAsync)} ` +
      `→ WAL flush per commit ≈ ${fmtMs(flush)};\n  ours get(type, []) ${fmtMs(P.read0)} cold, ${fmtMs(P.read0Hot)} hot (server ${fmtMs(P.read0Server)}); ` +
      `ours set({}) ${fmtMs(P.write0)} cold, ${fmtMs(P.write0Hot)} hot (server ${fmtMs(P.write0Server)}) (cold: one call after a GC and a pause; hot: 50 back to back)\n`,
  )
  const M = (xs, f) => median(xs.map((x) => x[f]))
  const rows = []
  for (const id of ONLY) {
    const xs = samples[id]
    const w = W[id]
    const total = M(xs, 'total')
    const sync = M(xs, 'sync')
    const server = M(xs, 'serverMs')
    const n = M(xs, 'trips')
    // Each round trip priced as a 0-key read (napi, the queue, the pool, the wire, the answer, the promise): the first cold, the others hot.
    const cold = P.read0 - P.read0Server
    const warm = P.read0Hot - P.read0Server
    const fixed = n > 0 ? cold + (n - 1) * warm : 0
    // The commits' WAL flush: the same workload on a connection with synchronous_commit=off, the difference.
    const flushed = w.kind === 'write' ? total - M(asyncSamples[id], 'total') : 0
    const rest = total - sync - server - fixed - flushed
    const pct = (x) => `${((100 * x) / total).toFixed(0)}%`
    rows.push([
      `${id}. ${w.name}`,
      fmtMs(total),
      `${fmtMs(sync)} ${pct(sync)}`,
      `${fmtMs(server)} ${pct(server)}`,
      `${n} → ${fmtMs(fixed)} ${pct(fixed)}`,
      w.kind === 'write' ? `${fmtMs(flushed)} ${pct(flushed)}` : '—',
      `${fmtMs(rest)} ${pct(rest)}`,
      fmtMs(M(asyncSamples[id], 'total')),
      fmtMs(M(refSamples[id], 'total')),
      fmtMs(M(refAsyncSamples[id], 'total')),
    ])
  }
  console.log('ours: where the time goes (medians; shares of ours\' total)\n')
  console.log(
    table(
      ['workload', 'ours total', 'JS encode (sync)', 'server exec', 'round trips → cost', 'WAL flush wait', 'rest', 'ours sync_commit=off', 'ref', 'ref sync_commit=off'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  )
  console.log(
    '  round trips → cost: each priced as a 0-key read of ours (get(type, []) minus its server time: napi, the account queue, the pool,\n' +
      '  the wire both ways, the promise), the first cold, the others hot. WAL flush wait: ours durable − ours with synchronous_commit=off.\n' +
      '  rest: total − the others: Rust binding and wire encoding, transfer, decoding and the JS values built on completion, scheduling.',
  )

  console.log('\nstatements of ours per workload (one median repetition; pg_stat_statements)\n')
  for (const id of ONLY) {
    const xs = [...samples[id]].sort((x, y) => x.total - y.total)
    const mid = xs[xs.length >> 1]
    console.log(`  ${id}. ${W[id].name}: ${mid.statements} statements, ${fmtMs(mid.serverMs)} server, ${mid.trips} round trips, ${mid.groups} write groups`)
    for (const q of mid.byQuery.slice(0, 4)) {
      console.log(`      ${String(q.calls).padStart(4)} × ${fmtMs(q.ms / q.calls).padStart(8)}  ${q.query.replace(/\s+/g, ' ').slice(0, 110)}`)
    }
  }

  // ---------------------------------------------------------------- experiments for the misses
  console.log('\nexperiments (medians of 9)\n')
  const exp = []
  const runExp = async (label, prepare, fn, s = a) => {
    const xs = []
    for (let i = 0; i < 9; i++) {
      await prepare()
      xs.push(await measure(s, fn))
    }
    exp.push([label, fmtMs(M(xs, 'total')), fmtMs(M(xs, 'serverMs')), String(M(xs, 'trips')), String(M(xs, 'statements'))])
  }
  await runExp(`6'. the same ${BURST} sessions in ONE set call`, () => a.state.keys.set(burstOne), () => a.state.keys.set(burstOne))
  await runExp('one set of 1 session (2 KiB)', async () => {}, () => a.state.keys.set(burstCalls[0]))
  await runExp('one saveCreds', async () => {}, () => a.saveCreds())
  await runExp('one saveCreds, synchronous_commit=off', async () => {}, () => aAsync.saveCreds(), aAsync)
  await runExp(`${PRE_KEYS} pre-keys, one set, synchronous_commit=off`, async () => {}, () => aAsync.state.keys.set({ 'pre-key': data.preKeys }), aAsync)
  // The read's plan: the same gets on a pool whose connections plan every execution anew (custom plans).
  const customUrl = `${server.url}?options=${encodeURIComponent('-c plan_cache_mode=force_custom_plan')}`
  const c = await ours.usePostgresAuthState(customUrl, 'profile-custom', lease)
  await c.state.keys.set({ 'pre-key': data.preKeys })
  await c.state.keys.set({ session: data.sessionsA })
  for (let i = 0; i < 8; i++) await c.state.keys.get('pre-key', data.preKeyIds)
  await runExp(`get ${PRE_KEYS} pre-keys (prepared statement: generic plan from its 6th run)`, async () => {}, () => a.state.keys.get('pre-key', data.preKeyIds))
  await runExp(`get ${PRE_KEYS} pre-keys, plan_cache_mode=force_custom_plan`, async () => {}, () => c.state.keys.get('pre-key', data.preKeyIds), c)
  await runExp(`get ${SESSIONS} sessions (generic plan)`, async () => {}, () => a.state.keys.get('session', data.sessionIds))
  await runExp(`get ${SESSIONS} sessions, plan_cache_mode=force_custom_plan`, async () => {}, () => c.state.keys.get('session', data.sessionIds), c)
  await c.close()
  // TOAST: the same overwrite after ALTER TABLE … SET STORAGE EXTERNAL (no compression attempt; put back afterwards).
  await a.state.keys.set({ session: data.sessionsA })
  await runExp(`overwrite ${SESSIONS} sessions (value: STORAGE EXTENDED, pglz; the default)`, () => a.state.keys.set({ session: data.sessionsA }), () => a.state.keys.set({ session: data.sessionsB }))
  await admin.query('ALTER TABLE "baileys_keys" ALTER COLUMN value SET STORAGE EXTERNAL')
  await runExp(`overwrite ${SESSIONS} sessions, value STORAGE EXTERNAL`, () => a.state.keys.set({ session: data.sessionsA }), () => a.state.keys.set({ session: data.sessionsB }))
  await admin.query('ALTER TABLE "baileys_keys" ALTER COLUMN value SET STORAGE EXTENDED')
  console.log(table(['experiment', 'total', 'server exec', 'round trips', 'statements'], exp, ['l', 'r', 'r', 'r', 'r']))

  // JS-thread codec, alone: encode of the same values, one napi call each (an upper bound: ours encodes a set in one call).
  const t0 = performance.now()
  for (const id of data.preKeyIds) ours.encodeAuthValue(data.preKeys[id])
  const encPre = performance.now() - t0
  const encoded = data.preKeyIds.map((id) => ours.encodeAuthValue(data.preKeys[id]))
  const t1 = performance.now()
  for (const e of encoded) ours.decodeAuthValue(e)
  const decPre = performance.now() - t1
  const encSessions = data.sessionIds.map((id) => ours.encodeAuthValue(data.sessionsB[id]))
  const t2 = performance.now()
  for (const e of encSessions) ours.decodeAuthValue(e)
  const decSes = performance.now() - t2
  // Credentials: ours' encode (the same walk saveCreds does) beside the reference's (postgres-baileys' bufferToJSON + JSON.stringify, copied).
  const bufferToJSON = (obj) => {
    if (Buffer.isBuffer(obj)) return { type: 'Buffer', data: Array.from(obj) }
    if (Array.isArray(obj)) return obj.map(bufferToJSON)
    if (typeof obj === 'object' && obj !== null) {
      if (typeof obj.toJSON === 'function') return obj.toJSON()
      const out = {}
      for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) out[k] = bufferToJSON(obj[k])
      return out
    }
    return obj
  }
  const perCall = (fn) => {
    for (let i = 0; i < 50; i++) fn()
    const t = performance.now()
    for (let i = 0; i < 1000; i++) fn()
    return (performance.now() - t) / 1000
  }
  const oursCreds = perCall(() => ours.encodeAuthValue(a.state.creds))
  const refCreds = perCall(() => JSON.stringify(bufferToJSON(ref.state.creds)))
  console.log(
    `\ncredentials encode per call: ours encodeAuthValue(creds) ${fmtMs(oursCreds)} (${credsBytes.length} bytes), ` +
      `the reference's JSON.stringify(bufferToJSON(creds)) ${fmtMs(refCreds)} (${JSON.stringify(bufferToJSON(ref.state.creds)).length} bytes)`,
  )
  console.log(
    `codec alone (one napi call per value): encode ${PRE_KEYS} pre-keys ${fmtMs(encPre)}, decode them ${fmtMs(decPre)} (${encoded[0].length} bytes each); ` +
      `decode ${SESSIONS} sessions ${fmtMs(decSes)} (${encSessions[0].length} bytes each); creds ${credsBytes.length} bytes`,
  )

  // ---------------------------------------------------------------- EXPLAIN
  if (EXPLAIN) {
    const token = a.counters().token
    const ttl = 3_600_000
    const enc = (v) => Buffer.from(ours.encodeAuthValue(v))
    const show = (label, rows) => {
      console.log(`\n${label}\n`)
      console.log(rows.map((x) => `  ${x['QUERY PLAN'].replace(/'\{[^}]{60,}\}'/g, (m) => `${m.slice(0, 40)}…}'`)}`).join('\n'))
    }
    // In a transaction rolled back: nothing the EXPLAIN ANALYZE writes stays.
    const explain = async (label, sql, params = []) => {
      await admin.query('BEGIN')
      try {
        show(`EXPLAIN (ANALYZE, BUFFERS, WAL): ${label}`, (await admin.query(`EXPLAIN (ANALYZE, BUFFERS, WAL) ${sql}`, params)).rows)
      } finally {
        await admin.query('ROLLBACK')
      }
    }
    const preKeyParams = ['profile', token, ttl, [], [], data.preKeyIds.map(() => 'pre-key'), data.preKeyIds, data.preKeyIds.map((id) => enc(data.preKeys[id]))]
    await a.state.keys.set({ 'pre-key': Object.fromEntries(data.preKeyIds.map((id) => [id, null])) })
    await explain(`apply: ${PRE_KEYS} new pre-keys (custom plan)`, STMT.apply, preKeyParams)
    await a.state.keys.set({ session: data.sessionsA })
    await explain(`apply: ${SESSIONS} sessions over existing ones (custom plan)`, STMT.apply, [
      'profile', token, ttl, [], [], data.sessionIds.map(() => 'session'), data.sessionIds, data.sessionIds.map((id) => enc(data.sessionsB[id])),
    ])
    await explain('apply: 1 session over an existing one (a burst call)', STMT.apply, ['profile', token, ttl, [], [], ['session'], [burstIds[0]], [enc(burstCalls[0].session[burstIds[0]])]])
    await explain('save_creds', STMT.saveCreds, ['profile', token, ttl, credsBytes])
    await a.state.keys.set({ 'pre-key': data.preKeys })

    // Reads: the plan a custom plan gets, the generic plan a prepared statement turns to after 5 runs, and what ours really ran.
    const idsLiteral = (ids) => `'{${ids.join(',')}}'::text[]`
    await explain(`read: ${PRE_KEYS} pre-keys, custom plan (the ids known to the planner)`, STMT.read, ['profile', 'pre-key', data.preKeyIds])
    await admin.query(`PREPARE prof_read(text, text, text[]) AS ${STMT.read.replace(/\$3::text\[\]/, '$3')}`)
    await admin.query('SET plan_cache_mode = force_generic_plan')
    show(
      `EXPLAIN (ANALYZE, BUFFERS): read: ${PRE_KEYS} pre-keys, GENERIC plan (what a prepared statement may settle on)`,
      (await admin.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE prof_read('profile', 'pre-key', ${idsLiteral(data.preKeyIds)})`)).rows,
    )
    show(
      `EXPLAIN (ANALYZE, BUFFERS): read: ${SESSIONS} sessions, GENERIC plan`,
      (await admin.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE prof_read('profile', 'session', ${idsLiteral(data.sessionIds)})`)).rows,
    )
    // An alternative: the ids as a relation joined to the primary key (one index probe per id, whatever the plan).
    const joinRead = STMT.read.replace(
      /^SELECT id, value FROM "baileys_keys" WHERE account = \$1 AND type = \$2 AND id = ANY\(\$3::text\[\]\)$/,
      'SELECT k.id, k.value FROM unnest($3::text[]) AS u(id) JOIN "baileys_keys" k ON k.account = $1 AND k.type = $2 AND k.id = u.id',
    )
    await admin.query(`PREPARE prof_join(text, text, text[]) AS ${joinRead}`)
    show(
      `EXPLAIN (ANALYZE, BUFFERS): alternative read (unnest JOIN), ${PRE_KEYS} pre-keys, GENERIC plan`,
      (await admin.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE prof_join('profile', 'pre-key', ${idsLiteral(data.preKeyIds)})`)).rows,
    )
    await admin.query('RESET plan_cache_mode')
    await admin.query('DEALLOCATE ALL')

    // What ours' own prepared statements ran: auto_explain on a pool of their own (a new connection string).
    const logFile = path.join(path.dirname(server.dataDir), 'postgres.log')
    const from = fs.statSync(logFile).size
    const ae = '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on'
    // A second account (on its own pool, since the connection string differs), with the same keys.
    const bb = await ours.usePostgresAuthState(`${server.url}?options=${encodeURIComponent(ae)}`, 'profile-ae', { ...lease })
    await bb.state.keys.set({ 'pre-key': data.preKeys })
    for (let i = 0; i < 8; i++) await bb.state.keys.get('pre-key', data.preKeyIds)
    await bb.close()
    await pause(200)
    const logText = fs.readFileSync(logFile, 'utf8').slice(from)
    const plans = logText.split(/\n(?=\S.*LOG:)/).filter((e) => e.includes('Query Text: SELECT id, value FROM "baileys_keys"'))
    console.log(`\nauto_explain: the plans of ours' own read of ${PRE_KEYS} pre-keys, runs 1 and ${plans.length} (of ${plans.length}; a prepared statement's 6th run on may be generic)\n`)
    for (const e of [plans[0], plans[plans.length - 1]].filter(Boolean)) {
      console.log(
        e
          .split('\n')
          .filter((l) => !l.includes('Query Text') && l.trim())
          .map((l) => `  ${l.replace(/^.*LOG:\s+/, '').replace(/'\{[^}]{60,}\}'/g, (m) => `${m.slice(0, 40)}…}'`)}`)
          .join('\n'),
      )
    }

    // TOAST: the 2.7 KB session values are stored out of line and compressed (pglz) by default. The same overwrite of 500 sessions
    // into copies of the keys table with other storage settings (plain upserts from unnest, like apply's `put`).
    console.log(`\nTOAST experiment: overwrite ${SESSIONS} sessions into a copy of the keys table, by column storage (median of 5, EXPLAIN ANALYZE execution time)\n`)
    const variants = [
      ['default (EXTENDED, pglz)', ''],
      ['COMPRESSION lz4', 'ALTER TABLE prof_keys ALTER COLUMN value SET COMPRESSION lz4'],
      ['STORAGE EXTERNAL (out of line, no compression)', 'ALTER TABLE prof_keys ALTER COLUMN value SET STORAGE EXTERNAL'],
      ['STORAGE MAIN + toast_tuple_target 8160 (inline)', "ALTER TABLE prof_keys ALTER COLUMN value SET STORAGE MAIN; ALTER TABLE prof_keys SET (toast_tuple_target = 8160)"],
    ]
    const upsert =
      'INSERT INTO prof_keys (account, type, id, value) SELECT $1, u.type, u.id, u.value FROM unnest($2::text[], $3::text[], $4::bytea[]) AS u(type, id, value) ' +
      'ON CONFLICT (account, type, id) DO UPDATE SET value = EXCLUDED.value'
    const types = data.sessionIds.map(() => 'session')
    const valsA = data.sessionIds.map((id) => enc(data.sessionsA[id]))
    const valsB = data.sessionIds.map((id) => enc(data.sessionsB[id]))
    const toastRows = []
    for (const [label, ddl] of variants) {
      await admin.query('DROP TABLE IF EXISTS prof_keys')
      await admin.query('CREATE TABLE prof_keys (LIKE "baileys_keys" INCLUDING ALL)')
      if (ddl) await admin.query(ddl)
      const times = []
      let wal = ''
      for (let i = 0; i < 6; i++) {
        await admin.query(upsert, ['p', types, data.sessionIds, i % 2 ? valsB : valsA])
        const r = await admin.query(`EXPLAIN (ANALYZE, WAL, FORMAT JSON) ${upsert}`, ['p', types, data.sessionIds, i % 2 ? valsA : valsB])
        const plan = r.rows[0]['QUERY PLAN'][0]
        times.push(plan['Execution Time'])
        wal = `${((plan.Plan['WAL Bytes'] ?? 0) / 1024).toFixed(0)} KiB WAL`
      }
      const size = (await admin.query("SELECT pg_size_pretty(pg_total_relation_size('prof_keys')) AS s")).rows[0].s
      const col = (
        await admin.query(
          "SELECT avg(octet_length(value))::int AS raw, avg(pg_column_size(value))::int AS stored, string_agg(DISTINCT coalesce(pg_column_compression(value), 'none'), ',') AS how FROM prof_keys",
        )
      ).rows[0]
      toastRows.push([label, fmtMs(median(times.slice(1))), wal, size, `${col.raw} → ${col.stored} B (${col.how})`])
    }
    await admin.query('DROP TABLE IF EXISTS prof_keys')
    console.log(table(['storage of value', `overwrite ${SESSIONS}`, 'WAL', 'table size after 12 overwrites', 'value: bytes → stored (compression)'], toastRows, ['l', 'r', 'r', 'r', 'r']))
  }

  // ---------------------------------------------------------------- perf
  if (PERF.length) {
    for (const id of PERF) {
      const w = W[id]
      const file = path.join(os.tmpdir(), `ban-pg-perf-${process.pid}-${id}.data`)
      const rec = spawn('perf', ['record', '-a', '-F', '1999', '-o', file, '-q'], { stdio: 'ignore' })
      await pause(500)
      const until = performance.now() + 4000
      let n = 0
      while (performance.now() < until) {
        await w.prepare(a)
        await w.run(a)
        n++
      }
      rec.kill('SIGINT')
      await new Promise((r) => rec.on('exit', r))
      const report = async (extra) => {
        const rep = spawn('perf', ['report', '-i', file, '--stdio', '-q', '--no-children', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] })
        let out = ''
        rep.stdout.on('data', (d) => (out += d))
        await new Promise((r) => rep.on('exit', r))
        return out
          .split('\n')
          .filter((l) => l.trim())
          .slice(0, 30)
          .map((l) => `  ${l.trim().replace(/\s{3,}/g, '  ').replace(/\.\.baileys-auth-native\S*( \(deleted\))?|baileys-auth-native\.linux-x64-gnu\.node/, 'ADDON').slice(0, 160)}`)
          .join('\n')
      }
      console.log(`\nperf record -a, 4 s of workload ${id} (${w.name}) in a loop (${n} runs, prepare included): samples by process and DSO (≥ 1%)\n`)
      console.log(await report(['--sort', 'comm,dso', '--percent-limit', '1']))
      console.log(`\n  … our process only (node: the JS thread; baileys-pg: the tokio threads), by symbol, shares of our process (≥ 1%; JS frames named with --perf-basic-prof)\n`)
      console.log(await report(['--comms', 'node,baileys-pg', '--percentage', 'relative', '--sort', 'comm,sym', '--percent-limit', '1']))
      fs.rmSync(file, { force: true })
    }
  }

  await a.close()
  await aAsync.close()
  await refPool.end()
  await refAsyncPool.end()
  await adminAsync.end()
} catch (e) {
  console.error(e)
  exitCode = 1
} finally {
  await admin.end().catch(() => {})
  await server.stop()
  if (process.execArgv.includes('--perf-basic-prof')) fs.rmSync(path.join('/tmp', `perf-${process.pid}.map`), { force: true })
}
process.exit(exitCode)
