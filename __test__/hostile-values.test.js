'use strict'
// Issue 12: no JavaScript value may crash the process. Hostile values —
// getters, toJSON and valueOf that transfer, detach or resize the very memory
// being read; SharedArrayBuffers a worker rewrites during the walk; Proxies
// with lying and throwing traps; arrays no one can afford; built-ins replaced
// between calls or before the package is required; prototype setters while a
// get builds its result — through encodeAuthValue, decodeAuthValue,
// keys.set / keys.get, saveCreds and the plain functions.
//
//   node --experimental-vm-modules node_modules/jest/bin/jest.js __test__/hostile-values.test.js
//
// Every case runs in its own child process (support/hostile-child.js, which
// holds the cases and says what each requires), under a watchdog and a
// memory guard (support/hostile-spawn.js): a crash is a failed test that
// names the signal, never a dead jest worker; a hang is a failed test too.
// The child compares with the real Baileys package
// (`JSON.stringify(value, BufferJSON.replacer)` of @whiskeysockets/baileys,
// each side on its own fresh copy of the value).
//
// Then a fast-check property over generated hostile values
// (support/hostile-arbitraries.js): HOSTILE_RUNS cases per CI run (default
// 10,000), spread over HOSTILE_CHILDREN children (default 4), each with its
// own seed, from HOSTILE_SEED (default: a new one each run, printed on
// failure). The long campaign: `node scripts/hostile-campaign.js --runs 1000000`.
// A crash in the property names the recipe it crashed on; replay one with
// `node --expose-gc __test__/support/hostile-child.js --replay '<recipe>'`.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { runChild, verdict } = require('./support/hostile-spawn.js')
const { CASE_META } = require('./support/hostile-child.js')

const RUNS = Number(process.env.HOSTILE_RUNS) > 0 ? Math.floor(Number(process.env.HOSTILE_RUNS)) : 10000
const CHILDREN = Number(process.env.HOSTILE_CHILDREN) > 0 ? Math.floor(Number(process.env.HOSTILE_CHILDREN)) : 4
const SEED = Number.isInteger(Number(process.env.HOSTILE_SEED)) && process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : Date.now() % 2 ** 31
const FUZZ_TIMEOUT_MS = 150000

describe('hostile values, each case in its own process', () => {
  test('the child knows every case it is asked for', () => {
    expect(CASE_META.length).toBeGreaterThan(40)
    expect(new Set(CASE_META.map((c) => c.name)).size).toBe(CASE_META.length)
  })

  for (const meta of CASE_META) {
    test.concurrent(
      meta.name,
      async () => {
        const r = await runChild([meta.name], meta)
        expect(verdict(r, meta)).toBe('ok')
        expect(r.result.checks).toBeGreaterThan(0)
      },
      meta.timeoutMs + 30000,
    )
  }
})

describe(`fast-check: encodeAuthValue on generated hostile values (${RUNS} cases, seed ${SEED})`, () => {
  for (let k = 0; k < CHILDREN; k++) {
    const count = Math.floor(RUNS / CHILDREN) + (k < RUNS % CHILDREN ? 1 : 0)
    const seed = (SEED + k * 7919) % 2 ** 31
    test.concurrent(
      `child ${k + 1} of ${CHILDREN}: ${count} cases, seed ${seed}`,
      async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-fuzz-'))
        const last = path.join(tmp, 'last-recipe.json')
        try {
          const r = await runChild(['--fuzz', String(seed), String(count), last], { timeoutMs: FUZZ_TIMEOUT_MS, rssLimitMiB: 2048 })
          let v = verdict(r, { rssLimitMiB: 2048 })
          // A crash or a hang leaves the recipe it happened on.
          if (v !== 'ok' && !(r.result && r.result.fuzz) && fs.existsSync(last)) v += `\n--- the recipe it was running ---\n${fs.readFileSync(last, 'utf8')}`
          expect(v).toBe('ok')
          expect(r.result.runs).toBe(count)
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true })
        }
      },
      FUZZ_TIMEOUT_MS + 30000,
    )
  }
})

// The property is not one that cannot fail: with a deliberately wrong writer
// in place of ours, it finds a counterexample at once.
describe('the fast-check property can fail', () => {
  for (const [mutant, expected] of [
    ['naive', /Baileys (returned|threw)/],
    ['poison', /poison/],
  ]) {
    test.concurrent(`with the '${mutant}' writer in place of ours`, async () => {
      const r = await runChild(['--fuzz', String(SEED), '500', ''], { timeoutMs: 60000, env: { ...process.env, HOSTILE_MUTANT: mutant } })
      expect(r.signal).toBe(null)
      expect(r.result && r.result.fuzz).toBe(true)
      expect(r.result.failed).toBe(true)
      expect(r.result.failure.error).toMatch(expected)
    })
  }
})
