'use strict'
// SIGKILL campaign: a child process writes to an auth folder in a loop
// (`saveCreds` after mutating creds, then a multi-key `set` with new keys,
// overwritten keys and deletes), acknowledging each awaited round on stdout.
// We SIGKILL it at random moments, restart it on the same folder, and after
// every kill check the folder against the model of `support/kill-child.js`:
//
// - every `*.json` file parses (no torn file);
// - `creds.json` exists and holds at least the last acknowledged round, and
//   its identity keys never change once a round was acknowledged;
// - every acknowledged key has its acknowledged value, acknowledged deletes
//   stay deleted; only the files of the round in flight may hold either the
//   old or the new value;
// - no `.corrupt-*` file appears;
// - periodically (and at the end) a fresh process opens the folder, reads
//   every key back through `keys.get`, and no temporary file is left once it
//   has opened the folder (stale temps are removed on open).
//
// Environment:
//   KILL_RUNS=n          kills of our package (default 200, the CI slice)
//   KILL_SEED=n          seed of the random schedule (default: random, printed)
//   KILL_BASELINE=1      also run the same harness against Baileys v7's own
//                        helper (KILL_BASELINE_RUNS kills, default 40) and print
//                        its torn files / lost writes: a measurement, no assertion
//   KILL_CHECKPOINT_EVERY=n  a read-back + stale-temp check every n kills (default 50)
//   KILL_REPORT=path     write the figures as JSON to this file
//   KILL_PKG=path        test a copy of the package (its index.js) instead of this
//                        checkout, e.g. for a long run while the tree is rebuilt

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const model = require('./support/kill-child.js')

const CHILD = path.join(__dirname, 'support', 'kill-child.js')
const TEMP_RE = /^\.baileys-auth-tmp-(\d+)-(\d+)$/
const KILL_RUNS = Number(process.env.KILL_RUNS || 200)
const BASELINE_RUNS = Number(process.env.KILL_BASELINE_RUNS || 40)
const CHECKPOINT_EVERY = Number(process.env.KILL_CHECKPOINT_EVERY || 50)
const SEED = Number(process.env.KILL_SEED || Math.floor(Math.random() * 2 ** 31))

function mulberry32(a) {
  return () => {
    a |= 0
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Spawns a child; resolves with its stdout lines, stderr, exit code and signal. */
function startChild(args, onLine) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = []
  let buf = ''
  let stderr = ''
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
  // Wait for the exit *and* for the end of stdout: acknowledgements written
  // just before the kill are still in the pipe.
  const done = Promise.all([
    new Promise((r) => child.on('exit', (code, signal) => r({ code, signal }))),
    new Promise((r) => child.stdout.on('close', r)),
    new Promise((r) => child.stderr.on('close', r)),
  ]).then(([exit]) => ({ ...exit, lines, stderr }))
  return { child, done }
}

function readCredsRound(file) {
  const text = fs.readFileSync(file, 'utf8')
  const creds = JSON.parse(text)
  return { round: creds.killTestRound, identity: JSON.stringify(creds.signedIdentityKey) + JSON.stringify(creds.noiseKey) }
}

/**
 * Checks the folder after a kill. `state` is the model's state after the last
 * acknowledged round; `inFlight` the files the next round writes or deletes.
 */
function checkFolder(folder, acked, state, inFlight, stats, ctx) {
  const problem = (kind, detail) => {
    stats.problems.push({ kill: stats.kills, acked, kind, detail })
  }
  // A kill that lands before the child made its folder leaves no folder:
  // nothing was acknowledged yet, and nothing can be torn.
  const names = fs.existsSync(folder) ? fs.readdirSync(folder) : []
  if (names.length === 0 && acked > 0) problem('folder-missing', 'acknowledged writes, but no folder')
  const present = new Map()
  const tornBefore = stats.tornFiles
  for (const name of names) {
    if (TEMP_RE.test(name)) {
      stats.tempsLeftByKills++
      continue
    }
    if (name.includes('.corrupt-')) {
      stats.corruptFilesSeen++
      problem('corrupt-file', name)
      continue
    }
    if (!name.endsWith('.json')) continue
    const text = fs.readFileSync(path.join(folder, name), 'utf8')
    try {
      JSON.parse(text)
    } catch {
      stats.tornFiles++
      // A torn file that held an acknowledged value: that value is gone too.
      if (name === 'creds.json' ? acked >= 1 : state.has(name)) stats.acknowledgedLostToTears++
      problem('torn', `${name} (${text.length} chars)`)
      present.set(name, undefined) // torn: counted once, not also as lost
      continue
    }
    present.set(name, text)
  }
  // Credentials.
  if (acked >= 1) {
    if (!present.has('creds.json')) {
      stats.lostWrites++
      stats.credsLost++
      problem('creds-missing', '')
    } else if (present.get('creds.json') !== undefined) {
      const { round, identity } = readCredsRound(path.join(folder, 'creds.json'))
      if (!(round >= acked && round <= acked + 1)) {
        stats.lostWrites++
        stats.credsLost++
        problem('creds-round', `creds.json holds round ${round}, ${acked} acknowledged`)
      }
      if (ctx.identity === null) ctx.identity = identity
      else if (ctx.identity !== identity) {
        stats.identityChanged++
        ctx.identity = identity
        problem('identity-changed', 'creds.json holds other identity keys than before')
      }
    }
  }
  if (stats.tornFiles > tornBefore) stats.killsLeavingTornFiles++
  present.delete('creds.json')
  // Keys.
  const candidates = new Set([...state.keys(), ...inFlight.keys(), ...present.keys()])
  for (const name of candidates) {
    const have = present.has(name) ? present.get(name) : null
    if (have === undefined) continue // torn, already counted
    const want = state.has(name) ? state.get(name) : null
    if (have === want) continue
    if (inFlight.has(name) && inFlight.get(name) === have) continue
    stats.lostWrites++
    if (want === null) {
      stats.resurrected++
      problem('resurrected', name)
    } else if (have === null) {
      problem('lost-missing', name)
    } else {
      problem('lost-wrong-value', name)
    }
  }
}

/** Opens the folder in a fresh process, reads every key back, then checks no temp file is left. */
async function checkpoint(folder, acked, stats) {
  let resolveLine
  const firstLine = new Promise((r) => (resolveLine = r))
  const { child, done } = startChild(['verify', folder, String(acked)], (line) => resolveLine(line))
  const outcome = await Promise.race([firstLine, done.then((d) => ({ exited: d }))])
  if (typeof outcome !== 'string') {
    throw new Error(`verify child exited early: ${JSON.stringify(outcome.exited)}`)
  }
  const report = JSON.parse(outcome)
  stats.checkpoints++
  stats.keysReadBack += report.checked
  for (const m of report.mismatches) stats.problems.push({ kill: stats.kills, acked, kind: 'get-mismatch', detail: m })
  stats.lostWrites += report.mismatches.length
  if (acked >= 1 && !(report.round >= acked)) {
    stats.lostWrites++
    stats.problems.push({ kill: stats.kills, acked, kind: 'get-creds-round', detail: String(report.round) })
  }
  // The cleanup runs on a worker right after the open: poll (generously; this
  // is a deadline for a slow machine, not a timing assertion).
  let stale = []
  for (let i = 0; i < 1000; i++) {
    stale = fs.readdirSync(folder).filter((n) => TEMP_RE.test(n))
    if (stale.length === 0) break
    await sleep(10)
  }
  if (stale.length) {
    stats.staleTempsNotRemoved += stale.length
    stats.problems.push({ kill: stats.kills, acked, kind: 'stale-temp', detail: stale.join(',') })
  }
  child.stdin.end()
  const exit = await done
  if (exit.code !== 0) throw new Error(`verify child failed: ${exit.code} ${exit.signal} ${exit.stderr}`)
}

async function campaign({ impl, runs, seed }) {
  const rng = mulberry32(seed)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `baileys-kill-${impl}-`))
  const folder = path.join(root, 'auth')
  const state = new Map()
  const ctx = { identity: null }
  const stats = {
    impl,
    seed,
    kills: 0,
    tornFiles: 0,
    killsLeavingTornFiles: 0,
    acknowledgedLostToTears: 0,
    lostWrites: 0,
    credsLost: 0,
    resurrected: 0,
    identityChanged: 0,
    corruptFilesSeen: 0,
    staleTempsNotRemoved: 0,
    tempsLeftByKills: 0,
    killsBeforeReady: 0,
    killsWithFsync: 0,
    roundsAcked: 0,
    checkpoints: 0,
    keysReadBack: 0,
    wallSeconds: 0,
    problems: [],
  }
  const t0 = Date.now()
  let acked = 0
  for (let k = 0; k < runs; k++) {
    const start = acked + 1
    const fsync = rng() < 0.2
    if (fsync) stats.killsWithFsync++
    let ready = false
    let killed = false
    const kill = (child) => {
      if (!killed) {
        killed = true
        child.kill('SIGKILL')
      }
    }
    // Schedule: 20% at a random moment after the spawn (it may land during
    // start-up, the open or the stale-temp cleanup); otherwise after the
    // child is ready, with a very short delay (0-2 ms) a third of the time.
    const fromSpawn = rng() < 0.2
    const spawnDelay = rng() * 200
    const readyDelay = rng() < 0.35 ? Math.floor(rng() * 3) : rng() * 80
    let timer
    const { child, done } = startChild(['run', folder, impl, String(start), fsync ? '1' : '0'], (line, c) => {
      if (line.startsWith('ready ')) {
        ready = true
        if (!fromSpawn) {
          if (readyDelay === 0) kill(c)
          else timer = setTimeout(() => kill(c), readyDelay)
        }
      }
    })
    if (fromSpawn) timer = setTimeout(() => kill(child), spawnDelay)
    const exit = await done
    clearTimeout(timer)
    if (exit.signal !== 'SIGKILL') {
      throw new Error(`child ended by itself (code ${exit.code}, signal ${exit.signal}):\n${exit.stderr}`)
    }
    if (!ready) stats.killsBeforeReady++
    stats.kills++
    // Acknowledged rounds must be contiguous from `start`.
    const acks = exit.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)))
    acks.forEach((r, i) => {
      if (r !== start + i) throw new Error(`acks out of order: ${acks.join(',')}`)
    })
    for (const r of acks) model.applyRound(state, r)
    if (acks.length) acked = acks[acks.length - 1]
    stats.roundsAcked += acks.length
    checkFolder(folder, acked, state, model.roundFiles(acked + 1), stats, ctx)
    if (impl === 'ours' && ((k + 1) % CHECKPOINT_EVERY === 0 || k + 1 === runs)) {
      await checkpoint(folder, acked, stats)
    }
  }
  stats.wallSeconds = Math.round((Date.now() - t0) / 100) / 10
  stats.lastAcknowledgedRound = acked
  fs.rmSync(root, { recursive: true, force: true })
  return stats
}

function summary(stats) {
  const { problems, ...figures } = stats
  return { ...figures, problemSamples: problems.slice(0, 20), problemCount: problems.length }
}

function report(key, stats) {
  const s = summary(stats)
  console.log(`[crash-kill] ${key}: ${JSON.stringify(s, null, 1)}`)
  if (process.env.KILL_REPORT) {
    let all = {}
    try {
      all = JSON.parse(fs.readFileSync(process.env.KILL_REPORT, 'utf8'))
    } catch {}
    all[key] = s
    fs.writeFileSync(process.env.KILL_REPORT, JSON.stringify(all, null, 2))
  }
}

describe('SIGKILL at random moments', () => {
  test(
    `our store: ${KILL_RUNS} kills, no torn file, no lost acknowledged write, no stale temp (seed ${SEED})`,
    async () => {
      const stats = await campaign({ impl: 'ours', runs: KILL_RUNS, seed: SEED })
      report('ours', stats)
      expect(stats.kills).toBe(KILL_RUNS)
      // The harness really exercised something.
      expect(stats.roundsAcked).toBeGreaterThan(0)
      expect(stats.checkpoints).toBeGreaterThan(0)
      expect(stats.problems).toEqual([])
      expect(stats.tornFiles).toBe(0)
      expect(stats.acknowledgedLostToTears).toBe(0)
      expect(stats.lostWrites).toBe(0)
      expect(stats.identityChanged).toBe(0)
      expect(stats.staleTempsNotRemoved).toBe(0)
    },
    KILL_RUNS * 3000 + 60000,
  )

  // A measurement, not a test of Baileys: how its own helper fares under the
  // same schedule. Only with KILL_BASELINE=1.
  ;(process.env.KILL_BASELINE ? test : test.skip)(
    `contrast: Baileys v7's own useMultiFileAuthState, ${BASELINE_RUNS} kills (KILL_BASELINE=1)`,
    async () => {
      const stats = await campaign({ impl: 'baileys', runs: BASELINE_RUNS, seed: SEED })
      report('baileys-v7', stats)
      expect(stats.kills).toBe(BASELINE_RUNS)
    },
    BASELINE_RUNS * 5000 + 60000,
  )
})
