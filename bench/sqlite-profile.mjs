// One SQLite-bench workload, repeated, for a profiler (bench/README.md,
// "SQLite backend: where the time goes"):
//
//   node bench/sqlite-profile.mjs <sqlite|sqlite-normal|ref-full|ref-normal> <workload> <repeat> [dir]
//
// Opens a fresh file in `dir` (default: a fresh folder under os.tmpdir(),
// removed at the end), prepares what the workload needs, then runs it
// `repeat` times, each awaited. Under callgrind, run it twice (repeat 0 and
// repeat N) and subtract: what is left is N runs of the workload alone.
// Prints on stderr the median wall time of a call, and of its synchronous
// part (until it returned its promise: for ours, the work on the JavaScript
// thread before the hand-off).
//
// Workloads (numbers as bench/sqlite.mjs):
//   1  set 812 pre-keys (each repetition new ids, so each inserts new rows;
//      the renumbering, an Object.fromEntries of 812, is counted too)
//   2  get 812 pre-keys
//   4  get 500 sessions
//   5  get 1,000 missing ids
//   6  one saveCreds (so `repeat` 200 is the bench's workload 6)
//   7  64 concurrent set calls of one session each
//   9  set 1,000 pre-keys (one batch of workload 9, new ids each time, renumbered as 1)
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

import { dbIn, makeData, pair, PRE_KEYS } from './workloads.mjs'

const require = createRequire(import.meta.url)
const [name, workloadArg, repeatArg, dirArg] = process.argv.slice(2)
const workload = Number(workloadArg)
const repeat = Number(repeatArg ?? 1)
if (!['sqlite', 'sqlite-normal', 'ref-full', 'ref-normal'].includes(name) || ![1, 2, 4, 5, 6, 7, 9].includes(workload) || !(repeat >= 0)) {
  console.error('usage: node bench/sqlite-profile.mjs <sqlite|sqlite-normal|ref-full|ref-normal> <1|2|4|5|6|7|9> <repeat> [dir]')
  process.exit(2)
}

// Only what the contestant needs (ours: the addon alone, no Baileys: less to load under a profiler).
async function open(folder) {
  if (name.startsWith('sqlite')) {
    const ours = require('../index.js')
    return ours.useSqliteAuthState({ dbPath: dbIn(folder), fsync: name === 'sqlite' })
  }
  const baileys = await import('baileys')
  const { useReferenceSqliteAuthState } = await import('./sqlite-reference.mjs')
  return useReferenceSqliteAuthState({ dbPath: dbIn(folder), baileys, synchronous: name === 'ref-full' ? 'FULL' : 'NORMAL' })
}

const folder = dirArg ?? fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-sqlite-profile-'))
const data = makeData()
const store = await open(folder)
const { keys } = store.state
const renumber = (values, offset) => Object.fromEntries(Object.values(values).map((v, i) => [String(offset + i + 1), v]))
const burst = Array.from({ length: 64 }, (_, i) => `${4915400000000 + i}.0`)

// Preparation (counted in the repeat-0 run as well).
if (workload === 2) await keys.set({ 'pre-key': data.preKeys })
if (workload === 4 || workload === 5) await keys.set({ session: data.sessionsA })
if (workload === 6) pair(store.state.creds, data.pairing)
if (workload === 7) await keys.set({ session: Object.fromEntries(burst.map((id) => [id, randomBytes(2048)])) })
const w9Values = workload === 9 ? Array.from({ length: 1000 }, () => ({ private: randomBytes(32), public: randomBytes(32) })) : null
// Two sets of burst values, alternated: each repetition overwrites with other bytes (identical bytes would dirty no page).
const burstValues = workload === 7 ? [0, 1].map(() => burst.map((id) => ({ session: { [id]: randomBytes(2048) } }))) : null

// Each repetition: the time until the call returned its promise (the work on
// the JavaScript thread before anything is handed off: the walk, the
// encoding), and until it settled.
const issued = []
const times = []
const run = (r) => {
  switch (workload) {
    case 1:
      return keys.set({ 'pre-key': renumber(data.preKeys, PRE_KEYS * (r + 1)) })
    case 2:
      return keys.get('pre-key', data.preKeyIds)
    case 4:
      return keys.get('session', data.sessionIds)
    case 5:
      return keys.get('session', data.missingIds)
    case 6:
      store.state.creds.accountSyncCounter = r + 1
      return store.saveCreds()
    case 7:
      return Promise.all(burstValues[r % 2].map((c) => keys.set(c)))
    case 9:
      return keys.set({ 'pre-key': renumber(w9Values, 1000 * r) })
  }
}
for (let r = 0; r < repeat; r++) {
  const t = performance.now()
  const p = run(r)
  issued.push(performance.now() - t)
  await p
  times.push(performance.now() - t)
}
await store.close()
if (!dirArg) fs.rmSync(folder, { recursive: true, force: true })
const med = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1].toFixed(3) : '—')
console.error(
  `${name} workload ${workload} × ${repeat}: median ${med(times)} ms a call (returned its promise after ${med(issued)} ms), ` +
    `total ${times.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
)
process.exit(0)
