// The bench's implementations, data and workloads, shared by bench/run.mjs,
// bench/sqlite.mjs and the workload-9 child (bench/w9-child.mjs). File names,
// ids and sizes here must match bench/floor/src/main.rs and src/sqlite.rs.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'

const require = createRequire(import.meta.url)

export const PRE_KEYS = 812 // Baileys v7's INITIAL_PREKEY_COUNT: uploaded on first connect
export const SESSIONS = 500
export const SESSION_BYTES = 2048
export const MISSING = 1000
export const SAVES = 200
export const BURST = 64
export const OPEN_FILES = 50_000
export const W9_BATCHES = 100
export const W9_BATCH = 1000

export const preKeyId = (i) => String(i) // pre-key-<id>.json, id 1..812
export const sessionId = (i) => `${4915100000000 + i}.0` // session-4915100000000.0.json
export const missingId = (i) => `${100000000000000 + i}_1.0` // a LID session never stored

/** The workloads, in table order. `batch`: compared with the Rust floor. */
export const WORKLOADS = [
  { id: 1, name: `set ${PRE_KEYS} pre-keys (fresh folder)`, batch: true, fsync: true },
  { id: 2, name: `get ${PRE_KEYS} pre-keys`, batch: true },
  { id: 3, name: `set ${SESSIONS} sessions 2 KiB (overwrite)`, batch: true, fsync: true },
  { id: 4, name: `get ${SESSIONS} sessions 2 KiB`, batch: true },
  { id: 5, name: `get ${MISSING} missing ids`, batch: true },
  { id: 6, name: `${SAVES} sequential saveCreds`, batch: true, fsync: true },
  { id: 7, name: `burst: ${BURST} concurrent get/set (v7's cache wrapper)` },
  // Workload 7 again through v6's wrapper (v7's serialises every call behind
  // one mutex, v6's does not): ours against v6 on equal terms. Selected with 7.
  { id: 10, label: '7', of: 7, name: `burst: ${BURST} concurrent get/set (v6's cache wrapper)` },
  { id: 8, name: `open a folder of ${OPEN_FILES / 1000}k files` },
  { id: 9, name: `set 100k keys, batches of 1,000`, batch: true },
]

/** A logger Baileys' makeCacheableSignalKeyStore accepts, saying nothing. */
export const silentLogger = {
  level: 'silent',
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return this
  },
}

let gcFn
/** A full GC before a timed section (through V8's flag, since `npm run bench` runs plain `node`). */
export function gc() {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc')
    gcFn = vm.runInNewContext('gc')
  }
  gcFn()
}

/**
 * The implementations. Each: `open(folder)` → `{state, saveCreds}`, and
 * `cacheable(keys)` → Baileys' makeCacheableSignalKeyStore of its line, and
 * `burstId`: the workload its burst is reported under (7: v7's wrapper, 10:
 * v6's). Ours runs the burst through both wrappers (`cacheableV6`: the second).
 */
export async function loadImpls() {
  const ours = require('../index.js')
  const v7 = await import('baileys')
  const v6 = require('@whiskeysockets/baileys')
  return {
    ours: {
      label: 'ours',
      open: (folder) => ours.useMultiFileAuthState(folder),
      cacheable: (keys) => v7.makeCacheableSignalKeyStore(keys, silentLogger),
      cacheableV6: (keys) => v6.makeCacheableSignalKeyStore(keys, silentLogger),
    },
    'ours-fsync': {
      label: 'ours fsync',
      open: (folder) => ours.useMultiFileAuthState(folder, { fsync: true }),
      cacheable: (keys) => v7.makeCacheableSignalKeyStore(keys, silentLogger),
    },
    v7: {
      label: 'Baileys v7',
      open: (folder) => v7.useMultiFileAuthState(folder),
      cacheable: (keys) => v7.makeCacheableSignalKeyStore(keys, silentLogger),
    },
    v6: {
      label: 'Baileys v6',
      open: (folder) => v6.useMultiFileAuthState(folder),
      cacheable: (keys) => v6.makeCacheableSignalKeyStore(keys, silentLogger),
      burstId: 10,
    },
  }
}

/**
 * The contestants of the SQLite bench (bench/sqlite.mjs), in its order:
 * ours on SQLite (durable default `fsync: true`, then `fsync: false`), the JS
 * reference store at the matching synchronous levels, Baileys v7's folder
 * helper, our folder store (for context).
 */
export const SQLITE_CONTESTANTS = ['sqlite', 'sqlite-normal', 'ref-full', 'ref-normal', 'v7', 'folder']

/** The database file of a SQLite contestant: `auth.db` in its (fresh) folder. */
export function dbIn(folder) {
  fs.mkdirSync(folder, { recursive: true })
  return path.join(folder, 'auth.db')
}

/** One value from a closed (or WAL-shared) database file, read with better-sqlite3. */
function readDb(folder, sql, ...params) {
  const Database = require('better-sqlite3')
  const db = new Database(path.join(folder, 'auth.db'), { readonly: true, fileMustExist: true })
  try {
    return db.prepare(sql).pluck().get(...params)
  } finally {
    db.close()
  }
}

/**
 * One SQLite-bench contestant. `open(folder)` → `{ state, saveCreds, close? }`;
 * after `close`, `savedCreds(folder)` gives the stored credentials (plain
 * JSON) and `count(folder, type)` the number of stored keys of `type`.
 */
export async function loadSqliteImpl(name) {
  const folderStore = {
    savedCreds: (folder) => JSON.parse(fs.readFileSync(path.join(folder, 'creds.json'), 'utf8')),
    count: (folder, type) => fs.readdirSync(folder).filter((f) => f.startsWith(`${type}-`)).length,
  }
  const sqliteFile = {
    savedCreds: (folder) => JSON.parse(readDb(folder, "SELECT value FROM creds WHERE key = '__creds__'")),
    count: (folder, type) => readDb(folder, 'SELECT count(*) FROM signal_keys WHERE type = ?', type),
  }
  const v7 = await import('baileys') // every contestant's process loads Baileys (a bot does)
  if (name === 'sqlite' || name === 'sqlite-normal') {
    const ours = require('../index.js')
    const fsync = name === 'sqlite'
    return { label: `ours SQLite fsync:${fsync}`, open: (folder) => ours.useSqliteAuthState({ dbPath: dbIn(folder), fsync }), ...sqliteFile }
  }
  if (name === 'ref-full' || name === 'ref-normal') {
    const { useReferenceSqliteAuthState } = await import('./sqlite-reference.mjs')
    const synchronous = name === 'ref-full' ? 'FULL' : 'NORMAL'
    return {
      label: `JS ref ${synchronous}`,
      open: (folder) => useReferenceSqliteAuthState({ dbPath: dbIn(folder), baileys: v7, synchronous }),
      ...sqliteFile,
    }
  }
  if (name === 'v7') return { label: 'Baileys v7', open: (folder) => v7.useMultiFileAuthState(folder), ...folderStore }
  if (name === 'folder') {
    const ours = require('../index.js')
    return { label: 'ours folder', open: (folder) => ours.useMultiFileAuthState(folder), ...folderStore }
  }
  throw new Error(`unknown SQLite-bench contestant ${name}`)
}

/** Loads only what the workload-9 child of `impl` needs (plus Baileys v7 for ours: a bot always loads Baileys). */
export async function loadImpl(name) {
  if (SQLITE_CONTESTANTS.includes(name) && name !== 'v7') return loadSqliteImpl(name)
  if (name === 'ours' || name === 'ours-fsync') {
    const ours = require('../index.js')
    await import('baileys')
    const options = name === 'ours-fsync' ? { fsync: true } : undefined
    return { open: (folder) => ours.useMultiFileAuthState(folder, options) }
  }
  if (name === 'v7') {
    const v7 = await import('baileys')
    return { open: (folder) => v7.useMultiFileAuthState(folder) }
  }
  if (name === 'v6') {
    const v6 = require('@whiskeysockets/baileys')
    return { open: (folder) => v6.useMultiFileAuthState(folder) }
  }
  throw new Error(`unknown implementation ${name}`)
}

const keyPair = () => ({ private: randomBytes(32), public: randomBytes(32) })

/** Everything the rounds write, made once so that every implementation writes the same values. */
export function makeData() {
  const preKeys = {}
  for (let i = 1; i <= PRE_KEYS; i++) preKeys[preKeyId(i)] = keyPair()
  const sessionsA = {}
  const sessionsB = {}
  for (let i = 0; i < SESSIONS; i++) {
    sessionsA[sessionId(i)] = randomBytes(SESSION_BYTES)
    sessionsB[sessionId(i)] = randomBytes(SESSION_BYTES)
  }
  return {
    preKeys,
    preKeyIds: Object.keys(preKeys),
    sessionsA,
    sessionsB,
    sessionIds: Object.keys(sessionsA),
    missingIds: Array.from({ length: MISSING }, (_, i) => missingId(i)),
    pairing: pairing(),
    burst: burstData(),
  }
}

/** What pairing adds to fresh credentials (fixed values, so every implementation saves the same). */
function pairing() {
  const me = '4915100000000:12@s.whatsapp.net'
  const lid = '123456789012345:12@lid'
  return {
    me: { id: me, lid, name: 'Bench Bot' },
    account: {
      details: randomBytes(120),
      accountSignatureKey: randomBytes(32),
      accountSignature: randomBytes(64),
      deviceSignature: randomBytes(64),
    },
    signalIdentities: [
      { identifier: { name: me, deviceId: 0 }, identifierKey: Buffer.concat([Buffer.from([5]), randomBytes(32)]) },
      { identifier: { name: lid, deviceId: 0 }, identifierKey: Buffer.concat([Buffer.from([5]), randomBytes(32)]) },
    ],
    platform: 'android',
    myAppStateKeyId: 'AAAAAFxT',
    lastAccountSyncTimestamp: 1732800000,
    routingInfo: randomBytes(24),
    registered: true,
    processedHistoryMessages: Array.from({ length: 3 }, (_, i) => ({
      key: { remoteJid: me.replace(':12', ''), fromMe: true, id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}` },
      messageTimestamp: 1732800000 + i,
    })),
  }
}

/** Fresh credentials of any line, paired (mutated in place, as Baileys does on pairing). */
export function pair(creds, p) {
  Object.assign(creds, structuredClone(p))
  // structuredClone turns Buffers into Uint8Arrays: put Buffers back.
  creds.account = Object.fromEntries(Object.entries(p.account).map(([k, v]) => [k, Buffer.from(v)]))
  creds.signalIdentities = p.signalIdentities.map((s) => ({ identifier: { ...s.identifier }, identifierKey: Buffer.from(s.identifierKey) }))
  creds.routingInfo = Buffer.from(p.routingInfo)
  return creds
}

const burstSession = (i) => `${4915200000000 + i}.0`
const burstSenderKey = (i) => `120363025${String(i).padStart(9, '0')}@g.us::${4915200000000 + i}::0`

function burstData() {
  // Keys already on disk before the burst (prepared untimed): sessions 0..95, sender keys 0..47.
  const preload = { session: {}, 'sender-key': {} }
  for (let i = 0; i < 96; i++) preload.session[burstSession(i)] = randomBytes(SESSION_BYTES)
  for (let i = 0; i < 48; i++) preload['sender-key'][burstSenderKey(i)] = randomBytes(512)
  // 64 calls: a quarter each of: get 3 sessions; set 2 sessions + delete a used pre-key;
  // get 2 sender keys; set 1 sender key + 1 session. Gets and sets touch different keys,
  // so every get goes to disk (the cache is fresh and never holds them).
  const calls = []
  let getS = 0
  let setS = 48
  let getK = 0
  let setK = 32
  for (let i = 0; i < BURST; i++) {
    switch (i % 4) {
      case 0:
        calls.push({ get: 'session', ids: [0, 1, 2].map(() => burstSession(getS++)) })
        break
      case 1:
        calls.push({
          set: {
            session: { [burstSession(setS++)]: randomBytes(SESSION_BYTES), [burstSession(setS++)]: randomBytes(SESSION_BYTES) },
            'pre-key': { [preKeyId(1 + (i >> 2))]: null },
          },
        })
        break
      case 2:
        calls.push({ get: 'sender-key', ids: [0, 1].map(() => burstSenderKey(getK++)) })
        break
      default:
        calls.push({
          set: {
            'sender-key': { [burstSenderKey(setK++)]: randomBytes(512) },
            session: { [burstSession(setS++)]: randomBytes(SESSION_BYTES) },
          },
        })
    }
  }
  return { preload, calls }
}

export function check(cond, what) {
  if (!cond) throw new Error(`bench check failed: ${what}`)
}

const isBytes = (v, n) => (Buffer.isBuffer(v) || v instanceof Uint8Array) && v.length === n

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Before a timed section: a full GC, then a short pause, so that V8's
 * concurrent sweeping after that GC is over and does not take a core from the
 * timed work (on 2 cores it slowed ours' gets by half and v7's by a fifth).
 */
export async function quiesce() {
  gc()
  await pause(50)
}

export async function timed(fn) {
  await quiesce()
  const t = performance.now()
  const r = await fn()
  return [performance.now() - t, r]
}

/**
 * One round of workloads 1–7 for one implementation in a fresh `folder`.
 * Returns `{[workload]: ms}`. `only(id)` says whether a workload is selected;
 * with `fsyncRound`, only the writing workloads (1, 3, 6) run.
 */
export async function runRound(impl, folder, data, only, fsyncRound = false) {
  const sel = (id) => only(id) && (!fsyncRound || WORKLOADS.find((w) => w.id === id).fsync)
  const out = {}
  const { state, saveCreds } = await impl.open(folder)
  const { keys } = state
  if (sel(1) || sel(2)) {
    const [ms] = await timed(() => keys.set({ 'pre-key': data.preKeys }))
    if (sel(1)) out[1] = ms
  }
  if (sel(2)) {
    const [ms, got] = await timed(() => keys.get('pre-key', data.preKeyIds))
    check(Object.keys(got).length === PRE_KEYS, 'get returned every pre-key id')
    check(data.preKeyIds.every((id) => got[id] && isBytes(got[id].private, 32) && isBytes(got[id].public, 32)), 'pre-keys read back')
    out[2] = ms
  }
  if (sel(3) || sel(4)) {
    await keys.set({ session: data.sessionsA })
    if (sel(3)) {
      const [ms] = await timed(() => keys.set({ session: data.sessionsB }))
      out[3] = ms
    }
  }
  if (sel(4)) {
    const [ms, got] = await timed(() => keys.get('session', data.sessionIds))
    const expected = sel(3) ? data.sessionsB : data.sessionsA
    check(data.sessionIds.every((id) => isBytes(got[id], SESSION_BYTES)), 'sessions read back')
    check(Buffer.compare(got[data.sessionIds[7]], expected[data.sessionIds[7]]) === 0, 'session bytes')
    out[4] = ms
  }
  if (sel(5)) {
    const [ms, got] = await timed(() => keys.get('session', data.missingIds))
    check(Object.keys(got).length === MISSING && data.missingIds.every((id) => got[id] === null), 'missing ids are null')
    out[5] = ms
  }
  if (sel(6)) {
    pair(state.creds, data.pairing)
    const [ms] = await timed(async () => {
      for (let i = 0; i < SAVES; i++) {
        state.creds.accountSyncCounter = (state.creds.accountSyncCounter || 0) + 1
        await saveCreds()
      }
    })
    const saved = JSON.parse(fs.readFileSync(path.join(folder, 'creds.json'), 'utf8'))
    check(saved.accountSyncCounter === state.creds.accountSyncCounter && saved.me.id === data.pairing.me.id, 'creds saved')
    out[6] = ms
  }
  if (sel(7)) {
    if (!sel(1) && !sel(2)) await keys.set({ 'pre-key': data.preKeys })
    out[impl.burstId ?? 7] = await runBurst(keys, impl.cacheable, data)
    if (impl.cacheableV6) {
      // A folder of its own, so that this burst meets the same files as the first.
      const second = await impl.open(`${folder}-v6-wrapper`)
      await second.state.keys.set({ 'pre-key': data.preKeys })
      out[10] = await runBurst(second.state.keys, impl.cacheableV6, data)
    }
  }
  return out
}

/** Workload 7: the burst through a fresh cache wrapper over `keys`, after its keys are preloaded. */
async function runBurst(keys, cacheable, data) {
  await keys.set(data.burst.preload)
  const store = cacheable(keys)
  const [ms, results] = await timed(() => Promise.all(data.burst.calls.map((c) => (c.get ? store.get(c.get, c.ids) : store.set(c.set)))))
  results.forEach((r, i) => {
    const c = data.burst.calls[i]
    if (c.get) check(c.ids.every((id) => r[id] && r[id].length > 0), 'burst get found its keys')
  })
  return ms
}

/**
 * Workload 8's folder: credentials and OPEN_FILES session files, written with
 * plain fs. The key files are empty: opening reads only creds.json (and, for
 * ours, the folder's names), and files without data blocks are cheap to
 * remove afterwards (on a disk mounted with `discard`, freeing each data block
 * is a synchronous trim).
 */
export function prepareOpenFolder(folder, credsBytes) {
  fs.mkdirSync(folder, { recursive: true })
  fs.writeFileSync(path.join(folder, 'creds.json'), credsBytes)
  for (let i = 0; i < OPEN_FILES; i++) fs.closeSync(fs.openSync(path.join(folder, `session-${4915300000000 + i}.0.json`), 'w'))
}

/** Workload 8: time until the credentials are ready. */
export async function runOpen(impl, folder) {
  await quiesce()
  const t = performance.now()
  const { state } = await impl.open(folder)
  const ms = performance.now() - t
  check(state.creds && state.creds.me && state.creds.me.id, 'open loaded the paired credentials')
  return ms
}
