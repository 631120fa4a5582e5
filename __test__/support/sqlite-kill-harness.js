'use strict'
// The SIGKILL campaign on the SQLite backend, shared by
// `__test__/sqlite-crash-kill.test.js` (the CI slice) and
// `scripts/sqlite-kill-campaign.js` (the long run).
//
// Each round spawns `support/sqlite-kill-child.js run` on the same database
// file, starting at the call after the newest one the file holds, and
// SIGKILLs it at a random moment: 20% of the time at a random delay after the
// spawn (start-up, the open, the first commits), otherwise at a random delay
// after it says `ready` (a third of those within 0-3 ms). After every kill the
// file is opened with better-sqlite3, read-only, with no other connection
// (the parent is no SQLite user of the file otherwise), and:
//
// - `PRAGMA integrity_check` is `ok`;
// - every value parses, and P = the newest call seq any row holds (every call
//   writes a value carrying its seq) is at least every acknowledged seq;
// - the file holds EXACTLY the model's state after calls 1..P: every key's
//   text byte for byte, deletes deleted, the creds markers of the last creds
//   call <= P, and the identity keys never change once written. A difference
//   is classified: a key whose last writer was acknowledged is a LOST
//   acknowledged call; one whose writer was not acknowledged but is <= P is a
//   HALF-APPLIED (or out-of-order) call; unparsable text is TORN;
// - the quarantine table is empty (nothing was found undecodable);
// - the acknowledged digests equal the model's (the child wrote what the
//   parent thinks it wrote).
//
// Every `checkEvery` kills (and after the last) a `verify` child opens the
// file with our own store, reads every key through `keys.get` and compares
// with the model too (this also proves the open after a kill works, WAL
// recovery included, under a watchdog).

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const model = require('./sqlite-kill-child.js')

const CHILD = path.join(__dirname, 'sqlite-kill-child.js')
const WATCHDOG_MS = 60000

function mulberry32(a) {
  return () => {
    a |= 0
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Spawns the child; `done` resolves with its exit, stdout lines and stderr once its pipes are drained. */
function startChild(args, onLine, env) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const lines = []
  let buf = ''
  let stderr = ''
  let watchdogFired = false
  const watchdog = setTimeout(() => {
    watchdogFired = true
    child.kill('SIGKILL')
  }, WATCHDOG_MS)
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      lines.push(line)
      if (onLine) onLine(line, child)
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c) => (stderr += c))
  child.stdin.on('error', () => {})
  // The exit AND the end of stdout: acknowledgements written just before the
  // kill are still in the pipe.
  const done = Promise.all([
    new Promise((r) => child.on('exit', (code, signal) => r({ code, signal }))),
    new Promise((r) => child.stdout.on('close', r)),
    new Promise((r) => child.stderr.on('close', r)),
  ]).then(([exit]) => {
    clearTimeout(watchdog)
    return { ...exit, lines, stderr, watchdogFired }
  })
  return { child, done }
}

/** The file as better-sqlite3 sees it, read-only. */
function readDb(Database, dbPath) {
  if (!fs.existsSync(dbPath)) return { exists: false, integrity: 'ok', rows: new Map(), creds: [], quarantine: 0 }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const integrity = db
      .prepare('PRAGMA integrity_check')
      .all()
      .map((r) => r.integrity_check)
      .join('; ')
    const tables = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name))
    const rows = new Map()
    if (tables.has('signal_keys')) {
      for (const r of db.prepare('SELECT type, id, value FROM signal_keys').all()) rows.set(model.keyName(r.type, r.id), r.value)
    }
    const creds = tables.has('creds') ? db.prepare('SELECT key, value FROM creds').all() : []
    const quarantine = tables.has('baileys_auth_native_quarantine') ? db.prepare('SELECT count(*) AS n FROM baileys_auth_native_quarantine').get().n : 0
    return { exists: true, integrity, rows, creds, quarantine }
  } finally {
    db.close()
  }
}

function newStats(seed) {
  return {
    seed,
    kills: 0,
    killsBeforeReady: 0,
    killsWithFsync: 0,
    acknowledgedCalls: 0, // acks read from the children, each checked against the file
    acknowledgedCreds: 0,
    acknowledgedSets: 0,
    committedCalls: 0, // P after the last kill
    committedUnacknowledged: 0, // calls the file holds that were in flight at the kill
    integrityFailures: 0,
    torn: 0,
    lostAcknowledged: 0,
    halfApplied: 0,
    regressions: 0,
    foreignValues: 0,
    credsMismatches: 0,
    identityChanged: 0,
    quarantined: 0,
    digestMismatches: 0,
    storeChecks: 0,
    storeMismatches: 0,
    keysReadBack: 0,
    wallSeconds: 0,
    problems: [],
  }
}

/**
 * Runs `runs` kills on a fresh database (fewer when `until(stats)` says so
 * after a kill). Returns the stats; never throws for
 * a finding (those are in `stats.problems`), only for a broken harness or a
 * child that did not die of our SIGKILL.
 */
async function campaign({ runs, seed, checkEvery = 25, env = {}, onProgress, until } = {}) {
  const Database = require('better-sqlite3')
  const rng = mulberry32(seed)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-sqlite-kill-'))
  const dbPath = path.join(root, 'auth.db')
  const stats = newStats(seed)
  const problem = (kind, detail) => {
    if (stats.problems.length < 200) stats.problems.push({ kill: stats.kills, kind, detail })
  }
  const m = new model.Model()
  const acked = new Set()
  let identity = null
  const t0 = Date.now()
  try {
    for (let k = 0; k < runs; k++) {
      const first = m.seq + 1
      const fsync = rng() < 0.5
      if (fsync) stats.killsWithFsync++
      let ready = false
      let killed = false
      let timer
      const kill = (child) => {
        if (!killed) {
          killed = true
          child.kill('SIGKILL')
        }
      }
      const fromSpawn = rng() < 0.2
      const spawnDelay = rng() * 250
      const readyDelay = rng() < 0.33 ? Math.floor(rng() * 4) : rng() * 100
      const { child, done } = startChild(
        ['run', dbPath, String(first), fsync ? '1' : '0', String(Math.floor(rng() * 2 ** 31))],
        (line, c) => {
          if (line.startsWith('ready ')) {
            ready = true
            if (!fromSpawn) {
              if (readyDelay === 0) kill(c)
              else timer = setTimeout(() => kill(c), readyDelay)
            }
          }
        },
        env,
      )
      if (fromSpawn) timer = setTimeout(() => kill(child), spawnDelay)
      const exit = await done
      clearTimeout(timer)
      if (exit.watchdogFired) throw new Error(`kill child hung (watchdog after ${WATCHDOG_MS} ms):\n${exit.stderr}`)
      if (exit.signal !== 'SIGKILL' || !killed) {
        throw new Error(`kill child ended by itself (code ${exit.code}, signal ${exit.signal}), first seq ${first}:\n${exit.stderr}`)
      }
      stats.kills++
      if (!ready) stats.killsBeforeReady++

      // What the child acknowledged.
      let maxAck = 0
      for (const line of exit.lines) {
        if (!line.startsWith('ack ')) continue
        const [, seqText, kind, digest] = line.split(' ')
        const seq = Number(seqText)
        const call = model.callOps(seq)
        if (seq < first || call.kind !== kind) throw new Error(`ack of a call this child never made: ${line} (first ${first})`)
        if (model.digest(call, model.encodeText) !== digest) {
          stats.digestMismatches++
          problem('digest', line)
        }
        acked.add(seq)
        stats.acknowledgedCalls++
        if (kind === 'creds') stats.acknowledgedCreds++
        else stats.acknowledgedSets++
        maxAck = Math.max(maxAck, seq)
      }

      // What the file holds.
      const db = readDb(Database, dbPath)
      if (db.integrity !== 'ok') {
        stats.integrityFailures++
        problem('integrity', db.integrity.slice(0, 500))
      }
      if (db.quarantine) {
        stats.quarantined += db.quarantine
        problem('quarantine', `${db.quarantine} rows`)
      }
      let P = 0
      const parsed = new Map()
      for (const [name, text] of db.rows) {
        let v
        try {
          v = JSON.parse(text)
        } catch {
          stats.torn++
          problem('torn', `${JSON.stringify(name)} (${text.length} chars)`)
          continue
        }
        parsed.set(name, v)
        if (Number.isInteger(v?.seq)) P = Math.max(P, v.seq)
      }
      let credsValue = null
      for (const row of db.creds) {
        if (row.key !== '__creds__') {
          problem('creds-row', row.key)
          continue
        }
        try {
          credsValue = JSON.parse(row.value)
        } catch {
          stats.torn++
          problem('torn', `creds (${row.value.length} chars)`)
          continue
        }
        if (Number.isInteger(credsValue.killSeq)) P = Math.max(P, credsValue.killSeq)
      }
      if (P < m.seq) {
        stats.regressions++
        problem('regression', `the file holds calls up to ${P}, it held ${m.seq}`)
        P = m.seq // keep comparing with what it must hold at least
      }
      if (P < maxAck) {
        problem('lost-ack', `acknowledged up to ${maxAck}, the newest call in the file is ${P}`)
        for (let s = Math.max(P + 1, first); s <= maxAck; s++) if (acked.has(s)) stats.lostAcknowledged++
      }
      for (let s = first; s <= P; s++) if (!acked.has(s)) stats.committedUnacknowledged++
      m.advanceTo(P)

      // Exactly the state after 1..P.
      const names = new Set([...m.keys.keys(), ...db.rows.keys()])
      for (const name of names) {
        const want = m.keys.get(name)
        const wantText = want ? want.text : null
        const have = db.rows.has(name) ? db.rows.get(name) : null
        if (have === wantText) continue
        if (have !== null && !parsed.has(name)) continue // torn, counted
        const label = JSON.stringify(name.split('\u0000'))
        if (!want) {
          stats.foreignValues++
          problem('foreign', `${label} holds a value the model never wrote`)
        } else if (acked.has(want.seq)) {
          stats.lostAcknowledged++
          problem('lost-ack', `${label}: acknowledged call ${want.seq} ${wantText === null ? 'deleted it' : 'wrote it'}, the file holds ${have === null ? 'nothing' : `seq ${parsed.get(name)?.seq}`}`)
        } else {
          stats.halfApplied++
          problem('half-applied', `${label}: call ${want.seq} (unacknowledged, <= newest ${P}) ${wantText === null ? 'deleted it' : 'wrote it'}, the file holds ${have === null ? 'nothing' : `seq ${parsed.get(name)?.seq}`}`)
        }
      }
      // Creds.
      const wantCreds = m.creds
      if (!wantCreds) {
        if (credsValue && credsValue.killSeq !== undefined) {
          stats.credsMismatches++
          problem('creds', `no creds call <= ${P}, the file holds creds of call ${credsValue.killSeq}`)
        }
      } else if (!credsValue) {
        stats.credsMismatches++
        if (acked.has(wantCreds.seq)) stats.lostAcknowledged++
        else stats.halfApplied++
        problem('creds', `creds of call ${wantCreds.seq} missing`)
      } else if (credsValue.killSeq !== wantCreds.seq || credsValue.killTag !== wantCreds.tag || JSON.stringify(credsValue.killPad) !== wantCreds.pad) {
        stats.credsMismatches++
        if (acked.has(wantCreds.seq)) stats.lostAcknowledged++
        else stats.halfApplied++
        problem('creds', `want creds of call ${wantCreds.seq}, the file holds call ${credsValue.killSeq}`)
      }
      if (credsValue) {
        const id = JSON.stringify([credsValue.noiseKey, credsValue.signedIdentityKey, credsValue.registrationId, credsValue.advSecretKey])
        if (identity === null) identity = id
        else if (identity !== id) {
          stats.identityChanged++
          identity = id
          problem('identity', 'the creds hold other identity keys than before')
        }
      }

      if ((k + 1) % checkEvery === 0 || k + 1 === runs) await storeCheck(dbPath, m, identity, stats, problem, env)
      if (onProgress) onProgress(stats)
      if (until && until(stats)) break
    }
  } finally {
    stats.committedCalls = m.seq
    stats.wallSeconds = Math.round((Date.now() - t0) / 100) / 10
    fs.rmSync(root, { recursive: true, force: true })
  }
  return stats
}

/** Opens the file with our store in a fresh process and reads everything back. */
async function storeCheck(dbPath, m, identity, stats, problem, env) {
  const { done } = startChild(['verify', dbPath, String(m.seq)], null, env)
  const exit = await done
  const line = exit.lines.find((l) => l.startsWith('RESULT '))
  if (exit.code !== 0 || !line) {
    throw new Error(`verify child failed (code ${exit.code}, signal ${exit.signal}, watchdog ${exit.watchdogFired}):\n${exit.stderr}`)
  }
  const got = JSON.parse(line.slice(7))
  stats.storeChecks++
  for (const [type, id] of model.allKeys()) {
    stats.keysReadBack++
    const want = m.keys.get(model.keyName(type, id))
    const wantText = want ? want.text : null
    const have = got.values[type][id]
    let same
    if (type === 'app-state-sync-key') {
      const w = wantText === null ? null : JSON.parse(wantText)
      same = (w === null && have === null) || (w !== null && have !== null && have.keyData === w.keyData.data)
    } else {
      same = have === wantText
    }
    if (!same) {
      problem('store-read', `${JSON.stringify([type, id])}: keys.get gives ${have === null ? 'null' : 'another value'}, the model ${wantText === null ? 'null' : `call ${want.seq}`}`)
      stats.storeMismatches++
    }
  }
  const c = got.creds
  if (m.creds && (c.seq !== m.creds.seq || c.tag !== m.creds.tag || c.pad !== m.creds.pad)) {
    stats.storeMismatches++
    problem('store-creds', `the store loads creds of call ${c.seq}, the model ${m.creds.seq}`)
  }
  if (identity !== null && c.identity !== identity) {
    stats.identityChanged++
    problem('store-identity', 'the store loads other identity keys than the file held')
  }
}

function summary(stats) {
  const { problems, ...figures } = stats
  return { ...figures, problemCount: problems.length, problemSamples: problems.slice(0, 20) }
}

module.exports = { campaign, summary, readDb }
