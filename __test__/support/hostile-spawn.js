'use strict'
// Runs support/hostile-child.js in a child process with a watchdog and a
// memory guard, and tells what happened: used by __test__/hostile-values.test.js
// and scripts/hostile-campaign.js.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const CHILD = path.join(__dirname, 'hostile-child.js')

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

const tail = (s, n = 3000) => (s.length > n ? `…${s.slice(-n)}` : s)

/**
 * Runs the child with `args`. Resolves (never rejects) with `{ code, signal,
 * timedOut, rssExceeded, peakRssKiB, ms, result, stdout, stderr }`: `result`
 * is the parsed `RESULT` line, or null. The child is killed (SIGKILL) when it
 * outlives `timeoutMs` or its RSS passes `rssLimitMiB`.
 */
function runChild(args, { timeoutMs = 60000, rssLimitMiB = 3072, nodeArgs = [], env = process.env } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    // The child's folders go here, removed when it is gone (crashed or not).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-child-'))
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, HOSTILE_TMPDIR: tmp } })
    let stdout = ''
    let stderr = ''
    let peak = 0
    let timedOut = false
    let rssExceeded = false
    child.stdout.on('data', (d) => {
      stdout += d
      if (stdout.length > 4e6) stdout = stdout.slice(-2e6)
    })
    child.stderr.on('data', (d) => {
      stderr += d
      if (stderr.length > 200000) stderr = stderr.slice(-100000)
    })
    const poll = setInterval(() => {
      const r = rssKiB(child.pid)
      if (r > peak) peak = r
      if (r > rssLimitMiB * 1024 && !rssExceeded) {
        rssExceeded = true
        child.kill('SIGKILL')
      }
    }, 100)
    const watchdog = setTimeout(() => {
      timedOut = true
      peak = Math.max(peak, rssKiB(child.pid))
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (e) => {
      stderr += `\nspawn error: ${e.message}`
    })
    child.on('close', (code, signal) => {
      clearInterval(poll)
      clearTimeout(watchdog)
      fs.rmSync(tmp, { recursive: true, force: true })
      let result = null
      for (const line of stdout.split('\n')) {
        if (line.startsWith('RESULT ')) {
          try {
            result = JSON.parse(line.slice(7))
          } catch {
            result = { pass: false, failures: [`unreadable RESULT line: ${line.slice(0, 300)}`] }
          }
        }
      }
      if (result && typeof result.vmHwmKiB === 'number') peak = Math.max(peak, result.vmHwmKiB)
      resolve({ code, signal, timedOut, rssExceeded, peakRssKiB: peak, ms: Date.now() - t0, result, stdout, stderr })
    })
  })
}

/**
 * `'ok'`, or what went wrong, in words: a crash (signal), an exit code, a
 * hang (watchdog), memory, or the failures the child reported. `maxRssMiB`:
 * the peak RSS must stay below it.
 */
function verdict(r, { maxRssMiB = null, rssLimitMiB = 3072 } = {}) {
  const mib = (k) => `${Math.round(k / 1024)} MiB`
  const extra = () => {
    const t = tail(r.stderr.trim())
    return t ? `\n--- child stderr ---\n${t}` : ''
  }
  if (r.timedOut) {
    return r.result
      ? `hang: the child printed its result but did not exit within ${r.ms} ms (something keeps it alive); peak RSS ${mib(r.peakRssKiB)}${extra()}`
      : `hang: killed by the watchdog after ${r.ms} ms (peak RSS ${mib(r.peakRssKiB)})${extra()}`
  }
  if (r.rssExceeded) return `memory: RSS passed ${rssLimitMiB} MiB after ${r.ms} ms, killed${extra()}`
  if (r.signal) return `crash: the child was killed by ${r.signal}${r.result ? ' after printing its result' : ''}${extra()}`
  if (r.code !== 0) return `exit code ${r.code}${r.result && !r.result.pass ? `: ${(r.result.failures || []).join('\n')}` : ''}${extra()}`
  if (!r.result) return `no RESULT line${extra()}`
  if (!r.result.pass) return `failed:\n- ${(r.result.failures || [r.result.failure && `${r.result.failure.error}\n  recipe: ${r.result.failure.recipe}`]).join('\n- ')}`
  if (maxRssMiB !== null && r.peakRssKiB > maxRssMiB * 1024) return `memory: peak RSS ${mib(r.peakRssKiB)}, above ${maxRssMiB} MiB`
  return 'ok'
}

module.exports = { CHILD, runChild, verdict }
