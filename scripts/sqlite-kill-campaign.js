#!/usr/bin/env node
'use strict'
// The long SIGKILL campaign on the SQLite backend (the CI slice is
// __test__/sqlite-crash-kill.test.js, 100 kills):
//
//   node scripts/sqlite-kill-campaign.js [--kills 1000] [--seed n] [--check-every 50] [--json]
//
// A child process opens `useSqliteAuthState({ dbPath })` and runs concurrent
// multi-type `keys.set` calls (writes and deletes) and `saveCreds` calls,
// reporting each acknowledged call; it is SIGKILLed at random moments, again
// and again on the same file. After every kill the file is checked with
// better-sqlite3 (integrity_check, every acknowledged call present, no call
// half-applied, exactly the state after a prefix of the calls), and every
// `--check-every` kills it is read back through our own store in a fresh
// process. See __test__/support/sqlite-kill-harness.js.
//
// SQLITE_KILL_PKG=path/to/index.js runs it against a copy of the package
// (for a long run while this checkout may be rebuilt).
//
// Prints progress to stderr and the figures to stdout; exit code 0 when
// nothing was found.

const { campaign, summary } = require('../__test__/support/sqlite-kill-harness.js')

function parseArgs(argv) {
  const out = { kills: 1000, seed: Math.floor(Math.random() * 2 ** 31), checkEvery: 50, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--kills') out.kills = Number(argv[++i])
    else if (a === '--seed') out.seed = Number(argv[++i])
    else if (a === '--check-every') out.checkEvery = Number(argv[++i])
    else if (a === '--json') out.json = true
    else throw new Error(`unknown argument ${a}`)
  }
  if (!(out.kills >= 1)) throw new Error('--kills must be at least 1')
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const t0 = Date.now()
  let last = 0
  const stats = await campaign({
    runs: args.kills,
    seed: args.seed,
    checkEvery: args.checkEvery,
    onProgress: (s) => {
      if (Date.now() - last > 10000 || s.kills === args.kills) {
        last = Date.now()
        process.stderr.write(
          `[sqlite-kill] ${s.kills}/${args.kills} kills, ${s.acknowledgedCalls} acknowledged calls checked, ${s.problems.length} problems, ${Math.round((Date.now() - t0) / 1000)} s\n`,
        )
      }
    },
  })
  const s = summary(stats)
  const found =
    s.integrityFailures + s.torn + s.lostAcknowledged + s.halfApplied + s.regressions + s.foreignValues + s.credsMismatches + s.identityChanged + s.quarantined + s.digestMismatches + s.storeMismatches
  if (args.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`)
  } else {
    const rows = [
      ['seed', s.seed],
      ['kills', s.kills],
      ['  before the store said ready', s.killsBeforeReady],
      ['  with fsync: true', s.killsWithFsync],
      ['acknowledged calls checked', s.acknowledgedCalls],
      ['  keys.set / saveCreds', `${s.acknowledgedSets} / ${s.acknowledgedCreds}`],
      ['calls committed (final file)', s.committedCalls],
      ['  committed but unacknowledged at a kill', s.committedUnacknowledged],
      ['integrity_check failures', s.integrityFailures],
      ['torn values', s.torn],
      ['lost acknowledged calls', s.lostAcknowledged],
      ['half-applied calls', s.halfApplied],
      ['regressions (fewer calls than before)', s.regressions],
      ['foreign values', s.foreignValues],
      ['creds mismatches', s.credsMismatches],
      ['identity changed', s.identityChanged],
      ['rows quarantined', s.quarantined],
      ['ack digests differing from the model', s.digestMismatches],
      ['read-backs through our store (keys)', `${s.storeChecks} (${s.keysReadBack}), ${s.storeMismatches} mismatches`],
      ['wall time', `${s.wallSeconds} s`],
    ]
    const w = Math.max(...rows.map((r) => r[0].length))
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`)
    if (s.problemCount) process.stdout.write(`\nfirst problems:\n${s.problemSamples.map((p) => `  kill ${p.kill} ${p.kind}: ${p.detail}`).join('\n')}\n`)
  }
  process.exit(found === 0 && s.problemCount === 0 ? 0 : 1)
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack}\n`)
  process.exit(2)
})
