#!/usr/bin/env node
'use strict'
// The fast-check property of __test__/hostile-values.test.js as a long
// campaign: encodeAuthValue on generated hostile values
// (__test__/support/hostile-arbitraries.js), in child processes, so a crash
// is counted and the campaign goes on.
//
//   node scripts/hostile-campaign.js --runs 1000000 --seed N [--jobs J] [--batch B]
//                                    [--exclude racy,bounded,stateful,live] [--max-failures F]
//
// Cases go in batches of `--batch` (default 20,000), one child per batch with
// its own seed (derived from `--seed`), `--jobs` children at a time (default:
// one per CPU). A child that crashes (signal), hangs (watchdog), passes its
// memory bound or finds a mismatch ends its batch; the rest of the batch is
// run again with a new seed, so `--runs` cases are run in all. Every failure
// is printed with the recipe it happened on and the command that replays it.
// At the end: counts of cases, crashes, hangs, mismatches and the wall time.
// Exit code 1 when anything failed.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { runChild, verdict, CHILD } = require('../__test__/support/hostile-spawn.js')

function parseArgs(argv) {
  const out = { runs: 1_000_000, seed: Date.now() % 2 ** 31, jobs: Math.max(1, os.cpus().length), batch: 20000, exclude: '', maxFailures: 50 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    if (a === '--runs') out.runs = Number(next())
    else if (a === '--seed') out.seed = Number(next())
    else if (a === '--jobs') out.jobs = Number(next())
    else if (a === '--batch') out.batch = Number(next())
    else if (a === '--exclude') out.exclude = next()
    else if (a === '--max-failures') out.maxFailures = Number(next())
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/hostile-campaign.js [--runs N] [--seed N] [--jobs J] [--batch B] [--exclude racy,bounded,stateful,live] [--max-failures F]')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  for (const k of ['runs', 'jobs', 'batch']) if (!(Number.isInteger(out[k]) && out[k] > 0)) throw new Error(`--${k} takes a positive integer`)
  if (!Number.isInteger(out.seed)) throw new Error('--seed takes an integer')
  return out
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-campaign-'))
  const t0 = Date.now()
  const seconds = () => (Date.now() - t0) / 1000
  const totals = { cases: 0, batches: 0, crashes: 0, hangs: 0, memory: 0, mismatches: 0, harness: 0, pure: 0, stateful: 0, racy: 0, bounded: 0, threw: 0 }
  const signals = {}
  let scheduled = 0
  let nextSeed = opts.seed
  let failures = 0
  let lastReport = 0

  console.log(`hostile campaign: ${opts.runs} cases, seed ${opts.seed}, ${opts.jobs} jobs, batches of ${opts.batch}${opts.exclude ? `, excluding ${opts.exclude}` : ''}, node ${process.version}`)

  const report = (force) => {
    if (!force && Date.now() - lastReport < 10000) return
    lastReport = Date.now()
    const rate = totals.cases / Math.max(seconds(), 0.001)
    console.log(
      `[${seconds().toFixed(0)} s] cases ${totals.cases}/${opts.runs} (${rate.toFixed(0)}/s) crashes ${totals.crashes} hangs ${totals.hangs} memory ${totals.memory} mismatches ${totals.mismatches}`,
    )
  }

  const takeBatch = () => {
    if (failures >= opts.maxFailures) return null
    const count = Math.min(opts.batch, opts.runs - scheduled)
    if (count <= 0) return null
    scheduled += count
    const seed = nextSeed
    nextSeed = (nextSeed + 7919) % 2 ** 31
    return { seed, count }
  }

  const printFailure = (kind, b, text, recipe) => {
    failures++
    console.log(`\n*** ${kind} (seed ${b.seed}, batch of ${b.count}):\n${text}`)
    if (recipe) {
      console.log(`recipe: ${recipe}`)
      console.log(`replay: node --expose-gc ${path.relative(process.cwd(), CHILD)} --replay '${recipe.replace(/'/g, "'\\''")}'`)
    }
    console.log('')
  }

  const worker = async (w) => {
    for (let b = takeBatch(); b; b = takeBatch()) {
      const last = path.join(tmp, `last-${w}.json`)
      try {
        fs.rmSync(last, { force: true })
      } catch {}
      const r = await runChild(['--fuzz', String(b.seed), String(b.count), last, opts.exclude], { timeoutMs: 60000 + b.count * 10, rssLimitMiB: 2048 })
      totals.batches++
      let ran
      if (r.result && r.result.fuzz) {
        ran = r.result.runs
        for (const k of ['pure', 'stateful', 'racy', 'bounded']) totals[k] += r.result.counts[k] || 0
        totals.threw += r.result.counts.oursThrew || 0
        if (r.result.failed) {
          totals.mismatches++
          printFailure('mismatch', b, `${r.result.failure.error}\n(fast-check path ${r.result.failure.path}, ${r.result.failure.shrinks} shrinks)`, r.result.failure.recipe)
        }
      } else {
        const progress = [...r.stdout.matchAll(/^PROGRESS (\d+)$/gm)]
        ran = progress.length ? Number(progress[progress.length - 1][1]) : 0
        const v = verdict(r, { rssLimitMiB: 2048 })
        if (r.timedOut) totals.hangs++
        else if (r.rssExceeded) totals.memory++
        else if (r.signal) {
          totals.crashes++
          signals[r.signal] = (signals[r.signal] || 0) + 1
        } else if (r.code !== 0) totals.crashes++
        else totals.harness++
        const recipe = fs.existsSync(last) ? fs.readFileSync(last, 'utf8') : null
        printFailure(r.timedOut ? 'hang' : r.rssExceeded ? 'memory' : 'crash', b, v, recipe)
      }
      totals.cases += ran
      // The rest of a batch that ended early is run again with a new seed.
      if (ran < b.count) scheduled -= b.count - ran
      report(false)
    }
  }

  await Promise.all(Array.from({ length: opts.jobs }, (_, w) => worker(w)))
  fs.rmSync(tmp, { recursive: true, force: true })
  report(true)
  const failed = totals.crashes + totals.hangs + totals.memory + totals.mismatches + totals.harness
  console.log(
    [
      '',
      '=== hostile campaign summary ===',
      `cases:      ${totals.cases} (pure ${totals.pure}, stateful ${totals.stateful}, racy ${totals.racy}, bounded ${totals.bounded}; ours threw on ${totals.threw})`,
      `batches:    ${totals.batches}`,
      `crashes:    ${totals.crashes}${Object.keys(signals).length ? ` (${Object.entries(signals).map(([s, n]) => `${s} ×${n}`).join(', ')})` : ''}`,
      `hangs:      ${totals.hangs}`,
      `memory:     ${totals.memory}`,
      `mismatches: ${totals.mismatches}`,
      totals.harness ? `harness:    ${totals.harness}` : null,
      `wall time:  ${seconds().toFixed(1)} s`,
      failures >= opts.maxFailures ? `(stopped after ${failures} failures: --max-failures)` : null,
    ]
      .filter((l) => l !== null)
      .join('\n'),
  )
  process.exitCode = failed ? 1 : 0
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 2
})
