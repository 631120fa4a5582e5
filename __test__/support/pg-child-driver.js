'use strict'
// The parent's side of support/pg-child.mjs: another process that owns (or
// tries to own) a PostgreSQL account, driven command by command.
//
//   const child = await spawnOwner()
//   await child.call('open', { connection, account, options })   // resolves to the answer
//   child.pid; child.signal('SIGSTOP'); await child.end()
//
// A command that failed in the child rejects here with an Error carrying the
// child's `name`, `code`, `pid`, `host` and `until` (a Date).

const { spawn } = require('node:child_process')
const path = require('node:path')
const readline = require('node:readline')

const CHILD = path.join(__dirname, 'pg-child.mjs')

/** Every child spawned, killed after the file's tests if still running. */
const spawned = new Set()
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const c of spawned) c.kill('SIGKILL')
  })
}

function spawnOwner({ env } = {}) {
  const proc = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'inherit'], env: env || process.env })
  spawned.add(proc)
  const exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      spawned.delete(proc)
      resolve({ code, signal })
    }),
  )
  const lines = readline.createInterface({ input: proc.stdout })
  const waiting = new Map()
  let ready
  const readyP = new Promise((r) => (ready = r))
  let next = 0
  lines.on('line', (text) => {
    const msg = JSON.parse(text)
    if (msg.ready) return ready(msg)
    const w = waiting.get(msg.id)
    waiting.delete(msg.id)
    if (msg.error) {
      const e = new Error(msg.error.message)
      Object.assign(e, msg.error)
      if (msg.error.until !== undefined) e.until = new Date(msg.error.until)
      w.reject(e)
    } else w.resolve(msg.ok)
  })
  exited.then(({ code, signal }) => {
    for (const w of waiting.values()) w.reject(new Error(`the child process ended (${code ?? signal}) before answering`))
    waiting.clear()
  })
  const child = {
    pid: proc.pid,
    exited,
    call(op, args = {}) {
      const id = ++next
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        proc.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`)
      })
    },
    signal: (sig) => proc.kill(sig),
    /** Ends the child (stdin closed: it finishes its commands and exits), killed if it lingers. */
    async end() {
      proc.stdin.end()
      const t = setTimeout(() => proc.kill('SIGKILL'), 20000)
      const r = await exited
      clearTimeout(t)
      return r
    },
  }
  return readyP.then(() => child)
}

module.exports = { spawnOwner }
