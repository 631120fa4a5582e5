'use strict'
// A process holding a fleet of accounts of the PostgreSQL backend, for
// `__test__/pg-fleet.test.js`.
//
//   node pg-fleet-child.js '<json config>'
//   config: { url, names: [account...], opts: { poolSize, leaseTtlMs } }
//
// Reports JSON events on stdout (one a line, synchronous write(2)); obeys
// JSON commands on stdin:
//   {cmd:'open-all'}  opens every account at once: {ev:'opened', ok, refused:
//                     [{account, name, code, pid, host, until}], other, ms, rss}
//   {cmd:'write-all'} one keys.set (the model's write 1 of tag = account) and
//                     one saveCreds (creds.pgTag = account) per account
//   {cmd:'verify-all'} reads every account back: {ev:'verified', checked, mismatches}
//   {cmd:'close-all'}, {cmd:'report'} (rss), {cmd:'exit'}
// The first event, {ev:'ready', rss}, comes once the package is loaded and
// before any account is opened.

const fs = require('node:fs')
const path = require('node:path')
const { writeData } = require('./pg-owner-child.js')

const PKG = process.env.PG_CHILD_PKG || path.join(__dirname, '..', '..', 'index.js')
const pkg = require(PKG)

function say(obj) {
  fs.writeSync(1, JSON.stringify(obj) + '\n')
}

const rss = () => process.memoryUsage().rss

async function main(config) {
  const open = new Map()
  const commands = {
    async 'open-all'() {
      const t0 = Date.now()
      const results = await Promise.allSettled(config.names.map((a) => pkg.usePostgresAuthState(config.url, a, config.opts)))
      const refused = []
      const other = []
      results.forEach((r, i) => {
        const account = config.names[i]
        if (r.status === 'fulfilled') open.set(account, r.value)
        else if (r.reason?.code === 'EBAILEYSLOCKED') {
          const e = r.reason
          refused.push({ account, name: e.name, code: e.code, pid: e.pid, host: e.host, until: e.until instanceof Date ? e.until.getTime() : null })
        } else other.push({ account, name: r.reason?.name, code: r.reason?.code, message: String(r.reason?.message).slice(0, 300) })
      })
      say({ ev: 'opened', ok: open.size, refused, other, ms: Date.now() - t0, rss: rss() })
    },
    async 'write-all'() {
      const t0 = Date.now()
      let failed = 0
      await Promise.all(
        [...open].map(async ([account, auth]) => {
          try {
            await auth.state.keys.set(writeData(account, 1))
            auth.state.creds.pgTag = account
            await auth.saveCreds()
          } catch {
            failed++
          }
        }),
      )
      say({ ev: 'written', failed, ms: Date.now() - t0, rss: rss() })
    },
    async 'verify-all'() {
      let mismatches = 0
      let checked = 0
      const samples = []
      for (const [account, auth] of open) {
        const want = writeData(account, 1)
        for (const type of Object.keys(want)) {
          const ids = Object.keys(want[type])
          const got = await auth.state.keys.get(type, ids)
          for (const id of ids) {
            checked++
            const a = got[id] == null ? null : pkg.encodeAuthValue(got[id]).toString('hex')
            if (a !== pkg.encodeAuthValue(want[type][id]).toString('hex')) {
              mismatches++
              if (samples.length < 5) samples.push(`${account} ${type}/${id}`)
            }
          }
        }
        checked++
        if (auth.state.creds.pgTag !== account) {
          mismatches++
          if (samples.length < 5) samples.push(`${account} creds`)
        }
      }
      say({ ev: 'verified', checked, mismatches, samples })
    },
    async 'close-all'() {
      const t0 = Date.now()
      const results = await Promise.allSettled([...open.values()].map((a) => a.close()))
      open.clear()
      say({ ev: 'closed', failed: results.filter((r) => r.status === 'rejected').length, ms: Date.now() - t0, at: Date.now() })
    },
    report() {
      const renewals = [...open.values()].reduce((n, a) => n + a.counters().renewals, 0)
      say({ ev: 'report', rss: rss(), renewals })
    },
    exit() {
      process.exit(0)
    },
  }
  say({ ev: 'ready', rss: rss(), pid: process.pid })
  let buf = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.trim()) continue
      const c = JSON.parse(line)
      Promise.resolve(commands[c.cmd](c)).catch((e) => say({ ev: 'command-error', cmd: c.cmd, message: String(e?.stack) }))
    }
  })
}

if (require.main === module) {
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  main(JSON.parse(process.argv[2])).catch((e) => {
    say({ ev: 'fatal', message: String(e?.stack) })
    process.exit(3)
  })
}
