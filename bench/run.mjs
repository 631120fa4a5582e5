// npm run bench — baileys-auth-native beside Baileys' own useMultiFileAuthState
// (v7, the main reference, and v6) and beside a Rust floor doing the same file
// work without JavaScript. See bench/README.md.
//
//   node bench/run.mjs [--rounds N] [--rounds9 M] [--only 1,2,5] [--json out.json]
//                      [--no-fsync] [--fsync9] [--keep]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {
  ensureFloor,
  fmtMiB,
  fmtMs,
  fmtRange,
  fmtRatio,
  here,
  log,
  machineWatch,
  median,
  ratio,
  rm,
  root,
  scratch,
  settle,
  stats,
  table,
} from './harness.mjs'
import {
  loadImpls,
  makeData,
  pair,
  prepareOpenFolder,
  runOpen,
  runRound,
  WORKLOADS,
} from './workloads.mjs'

// ---------------------------------------------------------------- options
const DEFAULT_ROUNDS = 9
const DEFAULT_ROUNDS9 = 3

function usage(code) {
  console.log(`usage: npm run bench -- [options]
  --rounds N     rounds of workloads 1-8 (default ${DEFAULT_ROUNDS})
  --rounds9 M    rounds of workload 9, the 100k-key set (default min(N, ${DEFAULT_ROUNDS9}))
  --only LIST    workloads to run, e.g. 1,2,5 (default all: 1-9)
  --json FILE    also write every sample and the summary as JSON
  --no-fsync     skip the fsync:true figures
  --fsync9       also run workload 9 with fsync:true (slow: 100,000 file fsyncs)
  --keep         keep the scratch folder under ${os.tmpdir()}`)
  process.exit(code)
}

function parseArgs(argv) {
  const o = { rounds: DEFAULT_ROUNDS, rounds9: null, only: null, json: null, fsync: true, fsync9: false, keep: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) usage(2)
      return argv[++i]
    }
    if (a === '--rounds') o.rounds = Number(val())
    else if (a === '--rounds9') o.rounds9 = Number(val())
    else if (a === '--only') o.only = val().split(',').map(Number)
    else if (a === '--json') o.json = val()
    else if (a === '--no-fsync') o.fsync = false
    else if (a === '--fsync9') o.fsync9 = true
    else if (a === '--keep') o.keep = true
    else if (a === '--help' || a === '-h') usage(0)
    else {
      console.error(`unknown option ${a}`)
      usage(2)
    }
  }
  if (!(o.rounds >= 1)) usage(2)
  if (o.rounds9 === null) o.rounds9 = Math.min(o.rounds, DEFAULT_ROUNDS9)
  if (o.only && o.only.some((w) => !WORKLOADS.some((x) => x.id === w))) {
    console.error('--only takes workload numbers 1-9')
    process.exit(2)
  }
  return o
}

const opts = parseArgs(process.argv.slice(2))
const only = (id) => !opts.only || opts.only.includes(id)

// ---------------------------------------------------------------- the run
const floorBin = ensureFloor()
const impls = await loadImpls()
const ours = (await import('../index.mjs')).default
// On ext4 the scratch folder is marked a "top directory" (chattr +T, see
// harness.mjs). Folders are removed at the end, not between turns, for the
// same reason (workload 9's are removed at once: they are big, and in groups
// of their own).
const base = scratch('baileys-auth-bench-')
let seq = 0
const fresh = (tag) => path.join(base, `${tag}-${++seq}`)
const data = makeData()
const fsyncIds = WORKLOADS.filter((w) => w.fsync && only(w.id)).map((w) => w.id)
const runFsync = opts.fsync && fsyncIds.length > 0
const batchIds = WORKLOADS.filter((w) => w.batch && w.id !== 9 && only(w.id)).map((w) => w.id)

// The exact bytes our addon writes, for the floor to write (same sizes, same names).
const templates = path.join(base, 'templates')
fs.mkdirSync(templates)
const credsValue = pair(ours.initAuthCreds(), data.pairing)
credsValue.accountSyncCounter = 1
const credsBytes = ours.encodeAuthValue(credsValue)
fs.writeFileSync(path.join(templates, 'pre-key.json'), ours.encodeAuthValue(data.preKeys['1']))
fs.writeFileSync(path.join(templates, 'session.json'), ours.encodeAuthValue(data.sessionsA[data.sessionIds[0]]))
fs.writeFileSync(path.join(templates, 'creds.json'), credsBytes)
fs.writeFileSync(path.join(templates, 'w9.json'), ours.encodeAuthValue(data.preKeys['2']))

const implNames = ['ours', 'v7', 'v6']
const samples = Object.fromEntries(['ours', 'v7', 'v6', 'ours-fsync'].map((n) => [n, {}]))
const add = (impl, id, ms) => (samples[impl][id] ||= []).push(ms)
const floorSamples = {} // "<mode>[ fsync]" → {workload: [ms]}
let floorInfo = null
const w9 = { ours: [], v7: [], v6: [], 'ours-fsync': [] }

/** The floor on workloads 1-6 (a round) or on workload 9 (its phase). */
function runFloor(phase9) {
  const workloads = phase9 ? [9] : batchIds
  const fsyncW = phase9 ? (opts.fsync9 && runFsync ? [9] : []) : runFsync ? fsyncIds : []
  if (!workloads.length && !fsyncW.length) return
  const args = ['--base', base, '--templates', templates, '--keep-folders', '--workloads', workloads.join(','), '--fsync-workloads', fsyncW.join(',')]
  settle()
  const r = spawnSync(floorBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`the floor failed (status ${r.status})`)
  const out = JSON.parse(r.stdout)
  floorInfo = { threads: out.threads, cores: out.cores }
  for (const x of out.results) {
    const key = `${x.mode}${x.fsync ? ' fsync' : ''}`
    ;((floorSamples[key] ||= {})[x.workload] ||= []).push(x.ms)
  }
}

function runW9(name) {
  const folder = fresh(`w9-${name}`)
  settle()
  const r = spawnSync(process.execPath, [path.join(here, 'w9-child.mjs'), name, folder], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: root,
  })
  // Removed at once, before anything syncs it: deleting files whose data was
  // never written back costs no discard (100,000 synchronous trims otherwise).
  rm(folder)
  if (r.status !== 0) throw new Error(`workload 9 of ${name} failed (status ${r.status})`)
  const res = JSON.parse(r.stdout.trim().split('\n').pop())
  w9[name].push(res)
  add(name, 9, res.setMs)
}

// Workload 8's folders: one per implementation, made once.
const openFolders = {}
if (only(8)) {
  log(`[bench] preparing workload 8: ${implNames.length} folders of 50,000 files…`)
  const t = performance.now()
  for (const n of implNames) {
    openFolders[n] = fresh(`w8-${n}`)
    prepareOpenFolder(openFolders[n], credsBytes)
  }
  log(`[bench]   ${((performance.now() - t) / 1000).toFixed(1)} s`)
}

const watch = machineWatch()
const started = watch.started
// Warm-up (not counted): every implementation once, so JIT and caches are warm for all.
log('[bench] warm-up round (not counted)…')
for (const n of [...implNames, ...(runFsync ? ['ours-fsync'] : [])]) {
  const folder = fresh(`warm-${n}`)
  await runRound(impls[n], folder, data, only, n === 'ours-fsync')
  if (only(8) && n !== 'ours-fsync') await runOpen(impls[n], openFolders[n])
}

for (let r = 0; r < opts.rounds; r++) {
  // Interleaved, alternating order: ours, v7, v6, …, then …, v6, v7, ours.
  const forward = ['ours', 'v7', 'v6', ...(runFsync ? ['ours-fsync'] : []), 'floor']
  const order = r % 2 === 0 ? forward : [...forward].reverse()
  log(`[bench] round ${r + 1}/${opts.rounds}: ${order.join(', ')}`)
  for (const n of order) {
    if (n === 'floor') {
      runFloor(false)
      continue
    }
    const folder = fresh(n)
    settle()
    const res = await runRound(impls[n], folder, data, only, n === 'ours-fsync')
    for (const [id, ms] of Object.entries(res)) add(n, Number(id), ms)
    if (only(8) && n !== 'ours-fsync') {
      settle()
      add(n, 8, await runOpen(impls[n], openFolders[n]))
    }
  }
  log(`[bench]   ${((performance.now() - started) / 1000).toFixed(0)} s so far`)
}
// Workload 9 last: its big folders are removed as soon as each run ends, and
// on ext4 without a journal the inodes they free slow down inode allocation
// nearby for a minute or more; nothing but other workload-9 runs comes after.
if (only(9)) {
  const names9 = ['ours', 'v7', 'v6', ...(opts.fsync9 && runFsync ? ['ours-fsync'] : []), 'floor']
  for (let r = 0; r < opts.rounds9; r++) {
    const order = r % 2 === 0 ? names9 : [...names9].reverse()
    log(`[bench] workload 9, round ${r + 1}/${opts.rounds9}: ${order.join(', ')}`)
    for (const n of order) {
      if (n === 'floor') runFloor(true)
      else runW9(n)
    }
    log(`[bench]   ${((performance.now() - started) / 1000).toFixed(0)} s so far`)
  }
}
const { elapsed, load0, load1, cpuStall, ioStall, mount, noJournal } = watch.end()

// ---------------------------------------------------------------- report
const S = (impl, id) => stats(samples[impl][id])
const threads = floorInfo?.threads
const floorKey = (mode, fsync) => `${mode}${fsync ? ' fsync' : ''}`
const F = (mode, id, fsync = false) => stats(floorSamples[floorKey(mode, fsync)]?.[id])
const bestFloor = (id, fsync = false) => {
  const a = F('1t', id, fsync)
  const b = threads ? F(`${threads}t`, id, fsync) : null
  if (!a) return b
  if (!b) return a
  return a.median <= b.median ? a : b
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(`\nbaileys-auth-native bench — node ${process.version}, ${os.cpus().length} cores (${cpu}), ${os.type()} ${os.release()}`)
console.log(
  `rounds: ${opts.rounds} (workload 9: ${only(9) ? opts.rounds9 : 0}), interleaved, fresh folder per round under ${os.tmpdir()}; ` +
    `our pool and the floor's: ${threads ?? '?'} threads; took ${elapsed.toFixed(0)} s`,
)
console.log(
  `scratch filesystem: ${mount ? `${mount.type} on ${mount.mnt} (${mount.options})` : 'unknown'}; ` +
    `machine: load ${load0.toFixed(1)} → ${load1.toFixed(1)}, CPU stall ${cpuStall}, I/O stall ${ioStall} of the run (/proc/pressure, "some")`,
)
if (noJournal) {
  console.log(
    'note: ext4 WITHOUT a journal: inode allocation skips inodes freed in the last 60-360 s, which makes every file creation ' +
      '(all of our writes: a new temporary file each) slower the more files were deleted nearby recently; see bench/README.md',
  )
}
console.log('times are per workload: median [min–max] over the rounds; X/ours > 1 means ours is faster; ours/floor < 1.25 is the target\n')

const headers = ['workload', 'ours median [min–max]', 'v7 median', 'v6 median', 'v7/ours', 'v6/ours', 'floor 1t', `floor ${threads ?? 'N'}t`, 'ours/floor']
const rows = []
const summary = []
for (const w of WORKLOADS) {
  if (!only(w.of ?? w.id)) continue
  const o = S('ours', w.id)
  const v7 = S('v7', w.id)
  const v6 = S('v6', w.id)
  const f1 = w.batch ? F('1t', w.id) : null
  const fn = w.batch && threads ? F(`${threads}t`, w.id) : null
  const fb = w.batch ? bestFloor(w.id) : null
  rows.push([
    `${w.label ?? w.id}. ${w.name}`,
    fmtRange(o),
    fmtMs(v7?.median),
    fmtMs(v6?.median),
    fmtRatio(ratio(v7, o)),
    fmtRatio(ratio(v6, o)),
    fmtMs(f1?.median),
    fmtMs(fn?.median),
    fmtRatio(ratio(o, fb)),
  ])
  summary.push({ workload: w.id, name: w.name, ours: o, v7, v6, floor1t: f1, floorNt: fn, v7OverOurs: ratio(v7, o), v6OverOurs: ratio(v6, o), oursOverFloor: ratio(o, fb) })
}
if (only(9) && w9.ours.length) {
  const peak = (n) => stats(w9[n].map((x) => x.peakRssKiB))
  const delta = (n) => stats(w9[n].map((x) => x.peakRssKiB - x.baselineRssKiB))
  for (const [label, f] of [
    ['9. peak RSS (VmHWM) of that process', peak],
    ['9. peak RSS − RSS before the workload', delta],
  ]) {
    const o = f('ours')
    const v7 = f('v7')
    const v6 = f('v6')
    rows.push([label, o ? `${fmtMiB(o.median)} [${(o.min / 1024).toFixed(0)}–${(o.max / 1024).toFixed(0)}]` : '—', fmtMiB(v7?.median), fmtMiB(v6?.median), fmtRatio(ratio(v7, o)), fmtRatio(ratio(v6, o)), '', '', ''])
  }
  summary.push({ workload: '9-rss', ours: peak('ours'), v7: peak('v7'), v6: peak('v6'), oursDelta: delta('ours'), v7Delta: delta('v7'), v6Delta: delta('v6') })
}
console.log(table(headers, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']))

const fsyncRows = []
if (runFsync) {
  const ids = [...fsyncIds, ...(opts.fsync9 && only(9) ? [9] : [])]
  for (const id of ids) {
    const w = WORKLOADS.find((x) => x.id === id)
    const o = S('ours-fsync', id)
    const f1 = F('1t', id, true)
    const fn = threads ? F(`${threads}t`, id, true) : null
    fsyncRows.push([`${id}. ${w.name}`, fmtRange(o), fmtMs(f1?.median), fmtMs(fn?.median), fmtRatio(ratio(o, bestFloor(id, true))), fmtMs(S('v7', id)?.median), fmtMs(S('v6', id)?.median)])
    summary.push({ workload: `${id}-fsync`, name: w.name, ours: o, floor1t: f1, floorNt: fn, oursOverFloor: ratio(o, bestFloor(id, true)) })
  }
  console.log('\nwith fsync: true (ours: file fsync before rename + one folder fsync per call; floor: the same; Baileys never fsyncs — shown for reference)\n')
  console.log(
    table(
      ['workload', 'ours fsync median [min–max]', 'floor 1t fsync', `floor ${threads ?? 'N'}t fsync`, 'ours/floor', 'v7 (no fsync)', 'v6 (no fsync)'],
      fsyncRows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  )
}

// ---------------------------------------------------------------- target check
const targets = []
const target = (label, value, pass, detail) => targets.push({ label, value, pass, detail })
const v7r = (id) => ratio(S('v7', id), S('ours', id))
for (const [id, min] of [[2, 10], [4, 10], [5, 10], [1, 3], [3, 2], [6, 4]]) {
  if (!only(id)) continue
  const r = v7r(id)
  target(`${id}. ${WORKLOADS.find((w) => w.id === id).name}: ≥ ${min}× faster than v7`, fmtRatio(r), r != null && r >= min)
}
for (const w of WORKLOADS.filter((x) => x.batch && only(x.id))) {
  const r = ratio(S('ours', w.id), bestFloor(w.id))
  const rn = threads ? ratio(S('ours', w.id), F(`${threads}t`, w.id)) : null
  if (r != null) target(`${w.id}. ${w.name}: ≤ 1.25× the floor`, `${fmtRatio(r)} (vs ${threads}t floor: ${fmtRatio(rn)})`, r <= 1.25)
}
if (runFsync) {
  for (const id of [...fsyncIds, ...(opts.fsync9 && only(9) ? [9] : [])]) {
    const r = ratio(S('ours-fsync', id), bestFloor(id, true))
    if (r != null) target(`${id}. ${WORKLOADS.find((w) => w.id === id).name}, fsync: ≤ 1.25× the fsync floor`, fmtRatio(r), r <= 1.25)
  }
}
if (only(9) && w9.ours.length) {
  const p = (n) => median(w9[n].map((x) => x.peakRssKiB))
  target('9. peak RSS of the 100k-key set ≤ Baileys v7', `${fmtMiB(p('ours'))} vs ${fmtMiB(p('v7'))} (v6 ${fmtMiB(p('v6'))})`, p('ours') <= p('v7'))
}
if (only(8)) {
  const o = S('ours', 8)
  const v7 = S('v7', 8)
  const v6 = S('v6', 8)
  target('8. open of a 50k-file folder no slower than Baileys', `${fmtMs(o?.median)} vs v7 ${fmtMs(v7?.median)}, v6 ${fmtMs(v6?.median)}`, o.median <= v7.median && o.median <= v6.median)
}
console.log('\ntargets (medians, atomic writes on):\n')
for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.label}: ${t.value}`)
console.log('')

if (opts.json) {
  const out = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      cpu,
      kernel: os.release(),
      tmpdir: os.tmpdir(),
      rounds: opts.rounds,
      rounds9: only(9) ? opts.rounds9 : 0,
      only: opts.only,
      poolThreads: threads,
      seconds: elapsed,
      scratchMount: mount,
      ext4WithoutJournal: noJournal,
      loadavg: [load0, load1],
      cpuStall,
      ioStall,
    },
    samples,
    floor: floorSamples,
    w9,
    summary,
    targets,
  }
  fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`)
  log(`[bench] wrote ${opts.json}`)
}
if (!opts.keep) {
  log(`[bench] removing the scratch folder ${base}…`)
  const t = performance.now()
  rm(base)
  log(`[bench]   ${((performance.now() - t) / 1000).toFixed(0)} s`)
} else log(`[bench] kept ${base}`)
// Ours holds folder locks and worker threads for the life of the process.
process.exit(0)
