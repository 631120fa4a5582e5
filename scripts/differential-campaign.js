#!/usr/bin/env node
'use strict'
// The differential properties of __test__/differential.test.js as a long,
// standalone campaign in plain Node (main realm, no jest):
//
//   node scripts/differential-campaign.js --runs 1000000 [--seed N] [--batch 5000] [--only encode,decode,roundtrip,files]
//
// `--runs` is the total number of generated cases, shared out among the
// properties (files get 1 in 1,000, at least 20). Runs go in batches of
// `--batch` cases, each with its own seed (derived from `--seed`), so one
// failure does not end the campaign; every failure is printed with its
// shrunk counterexample and the seed/path that replays it. Exit code 1 when
// anything failed.

const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')

const A = require('../__test__/support/arbitraries.js')
const { fc } = A

function parseArgs(argv) {
  const out = { runs: 1_000_000, seed: Date.now() % 2 ** 31, batch: 5000, only: null, maxFailures: 5 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    if (a === '--runs') out.runs = Number(next())
    else if (a === '--seed') out.seed = Number(next())
    else if (a === '--batch') out.batch = Number(next())
    else if (a === '--only') out.only = next().split(',')
    else if (a === '--max-failures') out.maxFailures = Number(next())
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/differential-campaign.js [--runs N] [--seed N] [--batch N] [--only encode,decode,roundtrip,files]')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (!(out.runs > 0) || !(out.batch > 0) || !Number.isInteger(out.seed)) throw new Error('--runs, --batch and --seed take positive integers')
  return out
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const native = require('../index.js')
  const v6 = require('@whiskeysockets/baileys')
  const v7 = await import('baileys')
  const checks = A.makeChecks({ native, v6, v7 })
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-diff-campaign-'))

  const fileRuns = Math.max(20, Math.round(opts.runs / 1000))
  const codecRuns = Math.max(0, opts.runs - fileRuns)
  const properties = [
    { name: 'encode', runs: Math.round(codecRuns * 0.3), prop: () => fc.property(A.jsValueSpec, (s) => void checks.checkEncode(s)) },
    { name: 'decode', runs: Math.round(codecRuns * 0.4), prop: () => fc.property(A.jsonTextCase, (c) => void checks.checkDecode(c)) },
    { name: 'roundtrip', runs: codecRuns - Math.round(codecRuns * 0.3) - Math.round(codecRuns * 0.4), prop: () => fc.property(A.jsValueSpec, (s) => void checks.checkRoundTrip(s)) },
    { name: 'files', runs: fileRuns, async: true, prop: () => fc.asyncProperty(A.fileCase, (c) => checks.checkFiles(c, tmpRoot)) },
  ].filter((p) => !opts.only || opts.only.includes(p.name))

  console.log(`differential campaign: ${properties.map((p) => `${p.name}=${p.runs}`).join(' ')} seed=${opts.seed} batch=${opts.batch} node=${process.version}`)
  const t0 = process.hrtime.bigint()
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9
  let lastProgress = 0
  const summary = []
  let failedAny = false

  for (const [pi, p] of properties.entries()) {
    const stats = { name: p.name, cases: 0, skipped: 0, failures: 0, seconds: 0 }
    const start = seconds()
    for (let done = 0, b = 0; done < p.runs; b++) {
      const numRuns = Math.min(opts.batch, p.runs - done)
      const seed = (opts.seed + pi * 1_000_003 + b * 7919) | 0
      const params = { numRuns, seed, endOnFailure: false, maxSkipsPerRun: 1000 }
      const details = p.async ? await fc.check(p.prop(), params) : fc.check(p.prop(), params)
      stats.cases += details.numRuns
      stats.skipped += details.numSkips
      done += numRuns
      if (details.failed) {
        stats.failures++
        failedAny = true
        if (stats.failures <= opts.maxFailures) {
          const err = details.errorInstance
          console.log(`\n[${p.name}] FAILURE (seed ${details.seed}, path "${details.counterexamplePath}", after ${details.numRuns} runs, ${details.numShrinks} shrinks)`)
          console.log(`counterexample: ${fc.stringify(details.counterexample)}`)
          console.log(err && err.stack ? err.stack.split('\n').slice(0, 12).join('\n') : String(err))
        }
      }
      if (seconds() - lastProgress > (process.env.PROGRESS_SECONDS || 30)) {
        lastProgress = seconds()
        const mem = process.memoryUsage()
        console.log(`  … ${p.name}: ${stats.cases}/${p.runs} cases, ${stats.failures} failing batches, ${seconds().toFixed(0)} s, rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`)
      }
    }
    stats.seconds = seconds() - start
    summary.push(stats)
  }
  fs.rmSync(tmpRoot, { recursive: true, force: true })

  const total = summary.reduce((n, s) => n + s.cases, 0)
  console.log('\nproperty     cases      skipped  failing-batches  seconds')
  for (const s of summary) console.log(`${s.name.padEnd(12)} ${String(s.cases).padStart(9)}  ${String(s.skipped).padStart(7)}  ${String(s.failures).padStart(15)}  ${s.seconds.toFixed(1).padStart(7)}`)
  console.log(`total        ${String(total).padStart(9)} cases in ${seconds().toFixed(1)} s (seed ${opts.seed})`)
  process.exitCode = failedAny ? 1 : 0
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 2
})
