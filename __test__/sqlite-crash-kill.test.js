'use strict'
// SIGKILL at random moments during concurrent `keys.set` + `saveCreds` on
// the SQLite backend (`useSqliteAuthState`), with real processes and a real
// file: after every kill, `PRAGMA integrity_check` is ok, every acknowledged
// call is in the file, no call is half-applied, and the file holds exactly
// the state after some prefix of the calls issued (see
// `support/sqlite-kill-harness.js` for the checks and the schedule,
// `support/sqlite-kill-child.js` for the calls and the model).
//
// Environment:
//   SQLITE_KILL_RUNS=n   kills (default 100, the CI slice; the long campaign is
//                        `node scripts/sqlite-kill-campaign.js --kills 1000`)
//   SQLITE_KILL_SEED=n   seed of the schedule (default: random, printed)
//   SQLITE_KILL_MUTANT_RUNS=n  at most this many kills of each deliberately wrong
//                        client, which stops at its first finding (default 60)

const { campaign, summary } = require('./support/sqlite-kill-harness.js')

const RUNS = Number(process.env.SQLITE_KILL_RUNS || 100)
const MUTANT_RUNS = Number(process.env.SQLITE_KILL_MUTANT_RUNS || 60)
const SEED = Number(process.env.SQLITE_KILL_SEED || Math.floor(Math.random() * 2 ** 31))

describe('SQLite backend: SIGKILL at random moments', () => {
  test(
    `${RUNS} kills during concurrent set + saveCreds: integrity ok, no acknowledged call lost, none half-applied (seed ${SEED})`,
    async () => {
      const stats = await campaign({ runs: RUNS, seed: SEED, checkEvery: 25 })
      const s = summary(stats)
      console.log(`[sqlite-crash-kill] ${JSON.stringify(s, null, 1)}`)
      expect(s.problemSamples).toEqual([])
      expect(stats.kills).toBe(RUNS)
      expect(stats.integrityFailures).toBe(0)
      expect(stats.torn).toBe(0)
      expect(stats.lostAcknowledged).toBe(0)
      expect(stats.halfApplied).toBe(0)
      expect(stats.regressions).toBe(0)
      expect(stats.foreignValues).toBe(0)
      expect(stats.credsMismatches).toBe(0)
      expect(stats.identityChanged).toBe(0)
      expect(stats.quarantined).toBe(0)
      expect(stats.digestMismatches).toBe(0)
      expect(stats.storeMismatches).toBe(0)
      // The harness really exercised something: most kills land after the
      // open, calls of both kinds were acknowledged, and some kills caught
      // calls committed but not yet acknowledged (the in-flight window).
      expect(stats.killsBeforeReady).toBeLessThan(RUNS / 2)
      expect(stats.acknowledgedSets).toBeGreaterThan(RUNS)
      expect(stats.acknowledgedCreds).toBeGreaterThan(0)
      expect(stats.storeChecks).toBeGreaterThanOrEqual(Math.min(4, RUNS))
      expect(stats.committedCalls).toBeGreaterThanOrEqual(stats.acknowledgedCalls)
    },
    RUNS * 2500 + 60000,
  )

  // The same checks against deliberately wrong clients must fail: a `set`
  // split into one call per type (half-applied calls), and acks written
  // before the call resolves (lost acknowledged calls).
  for (const [mutant, finding] of [
    ['split', 'halfApplied'],
    ['early-ack', 'lostAcknowledged'],
  ]) {
    test(
      `the checks can fail: a client that ${mutant === 'split' ? 'splits each set by type' : 'acknowledges before the call resolves'} is caught (${finding})`,
      async () => {
        // Up to MUTANT_RUNS kills, stopping at the first finding.
        const stats = await campaign({ runs: MUTANT_RUNS, seed: SEED ^ 0x5a5a, checkEvery: 1e9, env: { SQLITE_KILL_MUTANT: mutant }, until: (s) => s[finding] > 0 })
        console.log(`[sqlite-crash-kill] mutant ${mutant}: ${finding} ${stats[finding]}, problems ${stats.problems.length} over ${stats.kills} kills`)
        expect(stats.integrityFailures).toBe(0)
        expect(stats[finding]).toBeGreaterThan(0)
      },
      MUTANT_RUNS * 2500 + 60000,
    )
  }
})
