'use strict'
// The malformed-file campaign (scripts/malformed-campaign.js), CI slice:
// bad files derived from real ones written by Baileys v7's own helper
// (truncations, byte flips, zero fills, invalid UTF-8, splices, tokens,
// numbers, escapes, Buffer forms, BOMs, deep and huge files) are read through
// the package in child processes, under both the v7 and the v6 reader:
// 0 crashes, and every answer as specified (key file: Baileys' value when the
// text still parses, else null + moved aside with its bytes kept + a warning;
// creds.json: loads when it is a JSON object, else AuthFileCorruptError with
// the file byte-identical).
//
// MALFORMED_COUNT=n runs n files instead of the slice (the full campaign:
// `node scripts/malformed-campaign.js --count 100000`).

const { spawn } = require('node:child_process')
const path = require('node:path')

const SCRIPT = path.join(__dirname, '..', 'scripts', 'malformed-campaign.js')
const COUNT = Number(process.env.MALFORMED_COUNT || 4000)

function campaign(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      try {
        resolve({ code, signal, report: JSON.parse(out.trim().split('\n').pop()), stderr: err })
      } catch (e) {
        reject(new Error(`campaign output not JSON (code ${code}, signal ${signal}):\n${out.slice(-2000)}\n${err.slice(-2000)}`))
      }
    })
  })
}

test(
  `malformed files: ${COUNT} derived from real ones + deep and huge ones, 0 crashes, every answer as specified`,
  async () => {
    const { code, report } = await campaign(['--count', String(COUNT), '--chunk', '2000', '--json'])
    const { mismatchSamples, crashDetails, ...figures } = report
    console.log(`[crash-malformed] ${JSON.stringify(figures)}`)
    expect(crashDetails).toEqual([])
    expect(report.crashes).toBe(0)
    expect(mismatchSamples).toEqual([])
    expect(report.mismatches).toBe(0)
    expect(code).toBe(0)
    expect(report.filesRead).toBeGreaterThanOrEqual(COUNT)
    // Every outcome was exercised.
    expect(report.keyValue).toBeGreaterThan(0)
    expect(report.keyNullMoved).toBeGreaterThan(0)
    expect(report.credsLoaded).toBeGreaterThan(0)
    expect(report.credsCorrupt).toBeGreaterThan(0)
    for (const kind of ['truncate', 'flip', 'zeros', 'utf8', 'utf8InString', 'splice']) expect(report.kinds[kind]).toBeGreaterThan(0)
  },
  600000,
)
