'use strict'
// The parent's side of the PostgreSQL process suites: children that report
// JSON events line by line (`pg-owner-child.js`, `pg-fleet-child.js`), the
// tables as psql sees them, and the checks of the write model.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const PKG_PATH = path.join(__dirname, '..', '..', 'index.js')
const model = require('./pg-owner-child.js')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Every child still running, for `killAll` in an afterEach/afterAll. */
const children = new Set()

/**
 * Spawns `node <script> <json config>`. `events` collects the JSON lines of
 * its stdout (each with `at`: when the parent read it); `waitFor(pred)`
 * resolves with the first event (past or future) that matches.
 */
function spawnChild(script, config, { env } = {}) {
  const proc = spawn(process.execPath, [script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  const events = []
  const waiters = new Set()
  let stderr = ''
  let buf = ''
  proc.stdout.setEncoding('utf8')
  proc.stdout.on('data', (chunk) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      let ev
      try {
        ev = JSON.parse(line)
      } catch {
        ev = { ev: 'garbage', line }
      }
      ev.at = Date.now()
      events.push(ev)
      for (const w of [...waiters]) if (w.pred(ev)) w.resolve(ev)
    }
  })
  proc.stderr.setEncoding('utf8')
  proc.stderr.on('data', (c) => (stderr += c))
  proc.stdin.on('error', () => {})
  const exited = Promise.all([
    new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal, at: Date.now() }))),
    new Promise((r) => proc.stdout.on('close', r)),
  ]).then(([exit]) => {
    children.delete(child)
    for (const w of [...waiters]) w.reject(new Error(`child ${proc.pid} ended (${exit.code ?? exit.signal}) while waiting for ${w.what}; stderr: ${stderr.slice(-2000)}`))
    return exit
  })
  const child = {
    proc,
    pid: proc.pid,
    events,
    exited,
    get stderr() {
      return stderr
    },
    send(cmd) {
      proc.stdin.write(JSON.stringify(cmd) + '\n')
    },
    kill(signal) {
      try {
        proc.kill(signal)
      } catch {}
    },
    waitFor(pred, timeoutMs = 30000, what = 'an event') {
      const past = events.find(pred)
      if (past) return Promise.resolve(past)
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          what,
          resolve: (ev) => {
            clearTimeout(w.timer)
            waiters.delete(w)
            resolve(ev)
          },
          reject: (e) => {
            clearTimeout(w.timer)
            waiters.delete(w)
            reject(e)
          },
        }
        w.timer = setTimeout(
          () => w.reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from child ${proc.pid}; last events: ${JSON.stringify(events.slice(-5))}; stderr: ${stderr.slice(-2000)}`)),
          timeoutMs,
        )
        waiters.add(w)
      })
    },
  }
  children.add(child)
  return child
}

const OWNER = path.join(__dirname, 'pg-owner-child.js')
const spawnOwner = (config) => spawnChild(OWNER, config)

/** SIGKILLs every child still running (a stopped one too) and waits for them. */
async function killAll() {
  const all = [...children]
  for (const c of all) c.kill('SIGKILL')
  await Promise.all(all.map((c) => c.exited))
}

/** The process's state letter from /proc (R, S, T for stopped, Z...); from `ps` where there is no /proc (macOS). */
function procState(pid) {
  if (process.platform !== 'linux') return require('./platform.js').psTable().find((p) => p.pid === pid)?.state ?? null
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]
  } catch {
    return null
  }
}

async function waitUntil(cond, timeoutMs, what, every = 10) {
  const t0 = Date.now()
  for (;;) {
    const v = await cond()
    if (v) return v
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await sleep(every)
  }
}

/**
 * Opens `account` in THIS process, retrying while it is locked, for up to
 * `maxMs`. Returns the auth state plus `ms` (from the call to the open),
 * `attempts`, `lockErrors` (the EBAILEYSLOCKED rejections seen).
 */
async function openWhenFree(pkg, url, account, opts, maxMs) {
  const t0 = Date.now()
  const lockErrors = []
  for (let attempts = 1; ; attempts++) {
    try {
      const auth = await pkg.usePostgresAuthState(url, account, opts)
      return { auth, ms: Date.now() - t0, openedAt: Date.now(), attempts, lockErrors }
    } catch (e) {
      if (e?.code !== 'EBAILEYSLOCKED' || Date.now() - t0 > maxMs) throw e
      lockErrors.push(e)
      await sleep(10)
    }
  }
}

// ---------------------------------------------------------------------------
// The tables, through psql.

const q = (s) => `'${String(s).replace(/'/g, "''")}'`

/** A query through node-postgres (no psql output limit), its rows. */
async function query(pg, sql, params = []) {
  const { Client } = require('pg')
  const client = new Client({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: pg.database,
    application_name: 'ban-test-reader',
    // (a server that requires TLS refuses anything else)
    ssl: pg.certs ? { ca: pg.certs.caPem } : undefined,
  })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows
  } finally {
    await client.end()
  }
}

/** Every key row of `account`: Map 'type\0id' -> hex of the value. */
async function keyRows(pg, account, prefix = 'baileys_') {
  const rows = await query(pg, `select type, id, value from ${prefix}keys where account = $1 order by type, id`, [account])
  return new Map(rows.map((r) => [`${r.type}\0${r.id}`, r.value.toString('hex')]))
}

/** The lease row of `account` (with `expires_in_ms` by the server's clock), or null. */
async function leaseRow(pg, account, prefix = 'baileys_') {
  const out = await pg.psql(
    `select row_to_json(l) from (select token, owner_host, owner_pid, owner_id, expires_at = '-infinity' as released, ` +
      `case when expires_at = '-infinity' then null else (extract(epoch from expires_at - now()) * 1000)::float8 end as expires_in_ms from ${prefix}leases where account = ${q(account)}) l`,
  )
  return out ? JSON.parse(out) : null
}

/** The creds row of `account`, decoded from the stored JSON text, or null. */
async function credsRow(pg, account, prefix = 'baileys_') {
  const out = await pg.psql(`select convert_from(value, 'UTF8') from ${prefix}creds where account = ${q(account)}`)
  return out ? JSON.parse(out) : null
}

/**
 * Checks the key rows of owner `tag` against the model: for every seq that
 * left a row, all KEYS_PER_WRITE keys must be there with exactly the model's
 * bytes. Returns { complete: Set<seq>, partial: [seq], wrongBytes: [key],
 * latest: seq | null (the shared key's), foreign: [key] (rows of this tag no
 * write of the model makes) }.
 */
function analyze(pkg, rows, tag) {
  const bySeq = new Map()
  const foreign = []
  let latest = null
  for (const [key, hex] of rows) {
    const [type, id] = key.split('\0')
    if (id === model.latestId(tag)) {
      // (another owner may have written over it: then it is not this tag's)
      const v = JSON.parse(Buffer.from(hex, 'hex').toString('utf8'))
      if (v.tag !== tag) continue
      latest = v.seq
      if (hex !== pkg.encodeAuthValue({ tag, seq: v.seq }).toString('hex')) foreign.push(key)
      continue
    }
    const m = /^(.*)\.(\d+)\.(\d+)$/.exec(id)
    if (!m || m[1] !== tag) continue
    const seq = Number(m[2])
    if (!bySeq.has(seq)) bySeq.set(seq, [])
    bySeq.get(seq).push([type, id, hex])
  }
  const complete = new Set()
  const partial = []
  const wrongBytes = []
  for (const [seq, list] of bySeq) {
    const want = model.expectedHex(pkg, tag, seq)
    let ok = true
    for (const [type, id, hex] of list) {
      const w = want.get(`${type}\0${id}`)
      if (w === undefined) {
        foreign.push(`${type}/${id}`)
        ok = false
      } else if (w !== hex) {
        wrongBytes.push(`${type}/${id}`)
        ok = false
      }
    }
    if (list.length !== model.KEYS_PER_WRITE) partial.push(seq)
    else if (ok) complete.add(seq)
  }
  return { complete, partial, wrongBytes, latest, foreign }
}

/** The outcome of every seq a child reported: Map seq -> { issued, ack, rej }. */
function outcomes(events, { creds = false } = {}) {
  const out = new Map()
  for (const e of events) {
    if (!['issued', 'ack', 'rej'].includes(e.ev) || Boolean(e.creds) !== creds) continue
    if (!out.has(e.seq)) out.set(e.seq, {})
    out.get(e.seq)[e.ev] = e
  }
  return out
}

/** Application connections of `appName` in pg_stat_activity. */
async function connectionCount(pg, appName) {
  return Number(await pg.psql(`select count(*) from pg_stat_activity where application_name = ${q(appName)}`))
}

/** Appends one record to the JSON measurement file of the closing note. */
function record(name, data) {
  const file = process.env.PG_MEASURE_FILE || '/tmp/baileys-pg-measurements.json'
  let all = {}
  try {
    all = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {}
  all[name] = { ...data, when: new Date().toISOString() }
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + '\n')
  console.log(`[pg-measure] ${name}: ${JSON.stringify(data)}`)
}

module.exports = {
  PKG_PATH,
  model,
  sleep,
  spawnChild,
  spawnOwner,
  killAll,
  procState,
  waitUntil,
  openWhenFree,
  keyRows,
  query,
  leaseRow,
  credsRow,
  analyze,
  outcomes,
  connectionCount,
  record,
  q,
}
