'use strict'
// The traced child of __test__/sqlite-crash-strace.test.js:
//
//   strace -f ... node sqlite-strace-child.js <dbPath> <fsync 0|1>
//
// Opens the database with `useSqliteAuthState`, then makes calls in three
// phases, each call numbered n and carrying the text `ACKMARK-<n, 6 digits>-`
// in every value it writes (so each WAL write that holds its data can be
// found in the trace):
//   sequential  awaited one by one: saveCreds and multi-type sets with deletes;
//   grouped     24 un-awaited calls issued together (sets and saveCreds):
//               the writer commits them in a few groups, one fsync per group;
//   large       one set of 400 keys beside 7 small un-awaited calls.
// Every set also writes a key of its own that no later call touches, so its
// mark survives a group commit in which later calls overwrite its other keys;
// a saveCreds in a group is superseded by the group's later saveCreds (one
// row), which the parent takes into account.
// Right after each call resolves it writes `ACK <n> <set|creds>\n` to fd 1
// with a plain write(2), which the trace shows, and between phases
// `PHASE <name>\n`.
// Last it closes the store and prints `DONE <json>` with the counts.

const fs = require('node:fs')
const path = require('node:path')

const PKG = process.env.PKG || path.join(__dirname, '..', '..', 'index.js')
const say = (line) => fs.writeSync(1, `${line}\n`)
const mark = (n) => `ACKMARK-${String(n).padStart(6, '0')}-`

async function main() {
  const [dbPath, fsyncArg] = process.argv.slice(2)
  const { useSqliteAuthState } = require(PKG)
  const { state, saveCreds, close } = await useSqliteAuthState({ dbPath }, { fsync: fsyncArg === '1' })
  let n = 0
  const calls = { creds: 0, set: 0 }
  const value = (m, i) => ({ m, i, pub: Buffer.alloc(33, i & 255), note: `${m}${'x'.repeat(i % 50)}` })
  function issue(kind, size = 3) {
    const seq = ++n
    const m = mark(seq)
    let p
    if (kind === 'creds') {
      calls.creds++
      state.creds.ackMark = m
      state.creds.nextPreKeyId = seq
      p = saveCreds()
    } else {
      calls.set++
      // A key of its own that no later call touches: its mark reaches the WAL
      // even when the call shares its commit with later calls that overwrite
      // or delete its other keys.
      const data = { session: {}, 'pre-key': {}, 'sender-key': {}, 'sender-key-memory': { [`mark-${seq}`]: { m } } }
      for (let i = 0; i < size; i++) {
        const type = i % 3 === 0 ? 'session' : i % 3 === 1 ? 'pre-key' : 'sender-key'
        data[type][`${seq}-${i}`] = value(m, i)
      }
      // A delete of a key an earlier call wrote, in the same call.
      if (seq > 1) data.session[`${seq - 1}-0`] = null
      p = state.keys.set(data)
    }
    if (process.env.SQLITE_STRACE_MUTANT === 'early-ack') {
      // Deliberately wrong, for the check that the parent's check can fail:
      // the ACK is written as the call is issued.
      say(`ACK ${seq} ${kind}`)
      return p
    }
    return p.then(() => say(`ACK ${seq} ${kind}`))
  }

  say('PHASE sequential')
  for (let i = 0; i < 8; i++) await issue(i % 3 === 0 ? 'creds' : 'set')
  say('PHASE grouped')
  const group = []
  for (let i = 0; i < 24; i++) group.push(issue(i % 5 === 2 ? 'creds' : 'set', 1 + (i % 4)))
  await Promise.all(group)
  say('PHASE large')
  const mixed = [issue('set', 400)]
  for (let i = 0; i < 7; i++) mixed.push(issue(i % 3 === 0 ? 'creds' : 'set', 2))
  await Promise.all(mixed)
  say('PHASE end')
  await close()
  say(`DONE ${JSON.stringify({ calls: n, ...calls })}`)
}

main().catch((e) => {
  process.stderr.write(`sqlite-strace-child failed: ${e && e.stack}\n`)
  process.exit(3)
})
