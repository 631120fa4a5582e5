// Workload 9 in a process of its own, so that its peak RSS is its own:
//   node bench/w9-child.mjs <ours|ours-fsync|v7|v6|sqlite|sqlite-normal|ref-full|ref-normal|folder> <folder> [batches] [batchSize]
// (the SQLite contestants of bench/sqlite.mjs keep their file in <folder>/auth.db)
// Sets batches × batchSize pre-key-shaped keys ({private, public}: Buffer(32)),
// one awaited `keys.set` per batch, in a fresh folder. Each batch's values are
// made just before its `set` (not timed), as a bot makes them.
// Prints one JSON line: set time, wall time, RSS before the workload and peak RSS.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'

import { loadImpl, W9_BATCH, W9_BATCHES } from './workloads.mjs'

const [name, folder, batchesArg, batchArg] = process.argv.slice(2)
const batches = Number(batchesArg || W9_BATCHES)
const batchSize = Number(batchArg || W9_BATCH)

function status(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
  return Number(line.split(/\s+/)[1]) // KiB
}

const impl = await loadImpl(name)
const opened = await impl.open(folder)
const { state } = opened
const baselineRssKiB = status('VmRSS')
const baselineHwmKiB = status('VmHWM')
let setMs = 0
const wall = performance.now()
let id = 1
for (let b = 0; b < batches; b++) {
  const batch = {}
  for (let i = 0; i < batchSize; i++) batch[id++] = { private: randomBytes(32), public: randomBytes(32) }
  const t = performance.now()
  await state.keys.set({ 'pre-key': batch })
  setMs += performance.now() - t
}
const wallMs = performance.now() - wall
const peakRssKiB = status('VmHWM')
// Not timed: close (a SQLite store checkpoints its WAL), then count what was stored.
if (opened.close) await opened.close()
const written = impl.count ? impl.count(folder, 'pre-key') : fs.readdirSync(folder).filter((f) => f.startsWith('pre-key-')).length
if (written !== batches * batchSize) throw new Error(`expected ${batches * batchSize} keys, found ${written}`)
process.stdout.write(
  `${JSON.stringify({
    impl: name,
    setMs,
    wallMs,
    baselineRssKiB,
    baselineHwmKiB,
    peakRssKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
  })}\n`,
)
// Ours keeps the folder lock and worker threads: leave now that the work is done.
process.exit(0)
