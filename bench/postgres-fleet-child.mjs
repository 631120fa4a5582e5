// The fleet figure of bench/postgres.mjs, in a process of its own (so that
// our process-wide pool is made with this poolSize, and the RSS is this run's):
//   node bench/postgres-fleet-child.mjs <ours|ref> <url> [accounts] [keys] [poolSize]
// Opens `accounts` accounts (all at once), then issues `keys` single-session
// (2 KiB) set calls per account, every call before any is awaited, then closes
// them. Prints one JSON line: times, RSS before/after, peak RSS, round trips.
import { randomBytes } from 'node:crypto'

import { CountingClient, contestants, status } from './postgres-common.mjs'
import { gc, SESSION_BYTES } from './workloads.mjs'

const [impl, url, accountsArg, keysArg, poolArg] = process.argv.slice(2)
const accounts = Number(accountsArg || 200)
const keys = Number(keysArg || 50)
const poolSize = Number(poolArg || 16)

const impls = contestants({ url, poolSize, refPool: poolSize, leaseTtlMs: 15000 })
const store = impls[impl]
if (!store) throw new Error(`unknown contestant ${impl}`)
await import('@whiskeysockets/baileys') // a bot loads Baileys (the reference needs it anyway)

// The values first (not part of the growth): accounts × keys calls.
const calls = Array.from({ length: accounts }, (_, a) =>
  Array.from({ length: keys }, (_, k) => ({ session: { [`${4916000000000 + k}.0`]: randomBytes(SESSION_BYTES) } })),
)
gc()
const rssBeforeKiB = status('VmRSS')
let t = performance.now()
const opened = await Promise.all(Array.from({ length: accounts }, (_, a) => store.open(`fleet-${a}`)))
const openMs = performance.now() - t
const rssAfterOpenKiB = status('VmRSS')
const trips0 = impl === 'ours' ? opened.reduce((s, o) => s + o.trips(), 0) : CountingClient.queries
t = performance.now()
await Promise.all(opened.flatMap((o, a) => calls[a].map((c) => o.state.keys.set(c))))
const writeMs = performance.now() - t
const rssAfterWritesKiB = status('VmRSS')
const hwmKiB = status('VmHWM')
const trips = (impl === 'ours' ? opened.reduce((s, o) => s + o.trips(), 0) : CountingClient.queries) - trips0
let groups = 0
let largestGroup = 0
if (impl === 'ours') {
  for (const o of opened) {
    const c = o.counters()
    groups += c.groups
    largestGroup = Math.max(largestGroup, c.largestGroup)
  }
}
t = performance.now()
await Promise.all(opened.map((o) => o.close()))
const closeMs = performance.now() - t
await store.end?.()
process.stdout.write(
  `${JSON.stringify({ impl, accounts, keys, openMs, writeMs, closeMs, rssBeforeKiB, rssAfterOpenKiB, rssAfterWritesKiB, hwmKiB, trips, groups, largestGroup })}\n`,
)
process.exit(0)
