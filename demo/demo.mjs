// npm run demo — baileys-auth-native doing a linked device's storage work:
//   1. ./auth_info_baileys: credentials, 812 pre-keys, 300 sessions, read back
//      by Baileys' own helper;
//   2. two devices talking end to end through Baileys' own Signal code on
//      folders this package keeps: 1:1 and group messages, a restart from
//      disk, then one folder handed to Baileys' own helper;
//   3. one SQLite file: ./auth_info_baileys copied to ./auth.db with
//      migrateAuthStores (verified, and back to a folder byte for byte; auth.db
//      is re-created from the folder on every run, as the CLI's --force does);
//      then the conversation of part 2 carries on over SQLite: each device's
//      folder migrated to a .db file mid-conversation, the devices on
//      useSqliteAuthState, 1:1 and group messages, close() and reopen, more
//      messages;
//   4. the storage steps timed: the folder store, the SQLite store (durable
//      default, fsync: true) and Baileys' helper, on fresh scratch paths;
//   5. where PostgreSQL's server binaries are installed: a throw-away local
//      server (the tests' own), ./auth.db migrated to an account on it, read
//      back; one owner across processes (a second process is refused, then
//      takes the account over after close(); the first one's writes are then
//      fenced), and the storage steps timed against postgres-baileys.
// No network: the WhatsApp server's part is played in-process
// (demo/signal-devices.mjs). Everything but ./auth_info_baileys and ./auth.db
// (with its auth.db.lock) lives under os.tmpdir() and is removed at the end.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { execFileSync } from 'node:child_process'

import * as baileys from 'baileys'

import { migrateAuthStores, useMultiFileAuthState, usePostgresAuthState, useSqliteAuthState } from '../index.mjs'
import { Conversation, SignalDevice, SignalServer } from './signal-devices.mjs'
import { compareFolders, copied, size, sqliteDevices, verification } from './sqlite-stores.mjs'

const { useMultiFileAuthState: baileysHelper } = baileys
const require = createRequire(import.meta.url)
const BAILEYS_VERSION = require('baileys/package.json').version

const FOLDER = path.resolve('auth_info_baileys')
const AUTH_DB = path.resolve('auth.db')
const PRE_KEYS = 812 // what Baileys v7 uploads on first connect
const SESSIONS = 300
const SAVES = 100 // sequential saveCreds in part 4, as a busy socket emits creds.update

const ms = (t) => `${t.toFixed(1)} ms`
const pad = (s, n) => String(s).padEnd(n)
const check = (ok) => (ok ? '✓' : '✗')
async function timed(fn) {
  const t = performance.now()
  const result = await fn()
  return [performance.now() - t, result]
}
let failed = false
function expectTrue(ok, what) {
  if (!ok) {
    failed = true
    console.log(`   ✗ ${what}`)
  }
  return ok
}

function workload() {
  const preKeys = {}
  for (let id = 1; id <= PRE_KEYS; id++) {
    preKeys[id] = { private: randomBytes(32), public: randomBytes(32) }
  }
  // Session ids as Baileys names them: the peer's Signal address, user.device.
  const sessions = {}
  for (let i = 0; i < SESSIONS; i++) sessions[`${4915100000000 + i}.${i % 4}`] = randomBytes(2048)
  return { preKeys, sessions }
}

/**
 * The same steps through one implementation; returns the timings. `saves`:
 * that many more saveCreds, each after a change to the credentials (as every
 * creds.update brings one; SQLite writes nothing for an unchanged row).
 */
async function run(open, folder, data, { saves = 0 } = {}) {
  const times = {}
  let opened
  ;[times.open, opened] = await timed(() => open(folder))
  const { state, saveCreds } = opened
  ;[times.saveCreds] = await timed(() => saveCreds())
  ;[times.setPreKeys] = await timed(() => state.keys.set({ 'pre-key': data.preKeys }))
  let got
  ;[times.getPreKeys, got] = await timed(() => state.keys.get('pre-key', Object.keys(data.preKeys)))
  if (Object.values(got).some((v) => !v)) throw new Error('a pre-key did not come back')
  ;[times.setSessions] = await timed(() => state.keys.set({ session: data.sessions }))
  ;[times.getSessions] = await timed(() => state.keys.get('session', Object.keys(data.sessions)))
  const missing = Array.from({ length: 1000 }, (_, i) => `${i}@lid`)
  ;[times.getMissing] = await timed(() => state.keys.get('session', missing))
  ;[times.saves] = await timed(async () => {
    for (let i = 1; i <= saves; i++) {
      state.creds.accountSyncCounter = i
      await saveCreds()
    }
  })
  if (typeof opened.close === 'function') await opened.close() // a SQLite store: release the file
  return { times, state }
}

console.log('baileys-auth-native demo\n')

// ------------------------------------------------------------ 1. one folder

console.log(`1. A linked device's folder: ${FOLDER}`)
const existed = fs.existsSync(path.join(FOLDER, 'creds.json'))
const data = workload()

const ours = await run(useMultiFileAuthState, FOLDER, data)
const { creds } = ours.state
console.log(
  existed
    ? `   Loaded the existing credentials (registered: ${creds.registered ? 'yes' : 'no'}, registrationId ${creds.registrationId}).`
    : `   No credentials yet: created fresh ones (registrationId ${creds.registrationId}) and saved them.`,
)
console.log(`   Stored and read back ${PRE_KEYS} pre-keys and ${SESSIONS} sessions of 2 KiB.`)

// Baileys' own helper reads the same folder: nothing is locked in.
{
  const theirs = await baileysHelper(FOLDER)
  const preKeys = await theirs.state.keys.get('pre-key', Object.keys(data.preKeys))
  const sessions = await theirs.state.keys.get('session', Object.keys(data.sessions))
  const sameKeys =
    Object.entries(data.preKeys).every(([id, v]) => isDeepStrictEqual(preKeys[id], v)) &&
    Object.entries(data.sessions).every(([id, v]) => Buffer.compare(sessions[id], v) === 0)
  const sameCreds = isDeepStrictEqual(
    JSON.parse(JSON.stringify(theirs.state.creds)),
    JSON.parse(JSON.stringify(creds)),
  )
  console.log(
    `   Baileys' own useMultiFileAuthState read the folder back: keys ${sameKeys ? 'all equal ✓' : 'DIFFERENT ✗'}, credentials ${sameCreds ? 'equal ✓' : 'DIFFERENT ✗'}\n`,
  )
  expectTrue(sameKeys && sameCreds, "Baileys' helper read something else")
}

// ------------------------------------------------------------ 2. two devices

const GROUP = '120363025246125888@g.us'
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-auth-native-demo-'))
const removeRoot = () => fs.rmSync(root, { recursive: true, force: true })
process.on('exit', removeRoot) // also when a check stops the demo early
console.log(`2. Two devices talking through Baileys' own Signal code (baileys ${BAILEYS_VERSION}),`)
console.log(`   each on a folder kept by this package: ${root}/{alice,bob}`)

const OURS = { openName: 'baileys-auth-native', open: (folder) => useMultiFileAuthState(folder) }
const THEIRS = { openName: "Baileys' own useMultiFileAuthState", open: (folder) => baileysHelper(folder) }
const server = new SignalServer(baileys)
const alice = new SignalDevice(baileys, server, {
  name: 'Alice',
  jid: '4915111111111:2@s.whatsapp.net',
  lid: '204512345678901:2@lid',
  folder: path.join(root, 'alice'),
  ...OURS,
})
const bob = new SignalDevice(baileys, server, {
  name: 'Bob',
  jid: '4915122222222:4@s.whatsapp.net',
  lid: '177223456789012:4@lid',
  folder: path.join(root, 'bob'),
  ...OURS,
})
let chat = new Conversation() // part 3 counts its messages apart
const t0 = performance.now()

await alice.boot()
await bob.boot()
await alice.register()
await bob.register()
console.log(`   Each device stored ${baileys.INITIAL_PREKEY_COUNT} one-time pre-keys and uploaded them (Baileys' getNextPreKeysNode).`)

async function say(from, to, text) {
  const type = await chat.send(from, to, text)
  console.log(`     ${pad(`${from.name} → ${to.name}`, 15)}${pad(type, 14)}"${text}"  ✓`)
}
async function toGroup(from, members, text) {
  const types = await chat.sendGroup(from, GROUP, members, text)
  const how = types[0].length > 1 ? `skmsg + key` : 'skmsg'
  console.log(`     ${pad(`${from.name} → group`, 15)}${pad(how, 14)}"${text}"  ✓`)
}

await say(alice, bob, "Hi Bob, it's Alice")
const [usedPreKey] = server.handedOut.get(bob.jid)
const preKeyFile = path.join(bob.folder, `pre-key-${usedPreKey}.json`)
console.log(
  `     (Alice built the session from Bob's bundle with one-time pre-key #${usedPreKey}; Bob's copy of it is deleted: ${check(!fs.existsSync(preKeyFile))})`,
)
await say(bob, alice, 'Hi Alice! Got it.')
await say(alice, bob, 'Shall we make a group?')
await toGroup(alice, [bob], 'Welcome to the group, Bob')
await toGroup(alice, [bob], 'Second group message: no key needed now')

const aliceIdentity = Buffer.from(alice.creds.signedIdentityKey.public).toString('hex')
const bobIdentity = Buffer.from(bob.creds.signedIdentityKey.public).toString('hex')
await alice.restart()
await bob.restart()
{
  const sameIds =
    Buffer.from(alice.creds.signedIdentityKey.public).toString('hex') === aliceIdentity &&
    Buffer.from(bob.creds.signedIdentityKey.public).toString('hex') === bobIdentity
  const session = (await alice.state.keys.get('session', [alice.sessionAddressOf(bob)]))[alice.sessionAddressOf(bob)]
  const preKeyGone = (await bob.state.keys.get('pre-key', [String(usedPreKey)]))[usedPreKey] === null
  console.log('   ↻ Both restarted from their folders: new auth state, new caches, new Signal repositories.')
  console.log(
    `     identities unchanged ${check(sameIds)}   Alice's session with Bob on disk ${check(!!session)}   pre-key #${usedPreKey} still gone ${check(preKeyGone)}`,
  )
  expectTrue(sameIds && session && preKeyGone, 'state did not survive the restart')
}
await say(bob, alice, 'Still there after the restart?')
await say(alice, bob, 'Yes, same sessions, read from disk')
await toGroup(alice, [bob], 'Group still works after the restart')

await bob.restart(THEIRS)
console.log(`   ↻ Bob's folder now opened by ${THEIRS.openName} (same folder, no conversion):`)
await say(bob, alice, "I'm on Baileys' own helper now")
await say(alice, bob, 'Nothing changed on my side')
await toGroup(alice, [bob], 'And the group too')

const { pkmsg, msg, skmsg, skdm, total } = chat.counts
const sent = chat.log.length
const toGroupCount = chat.log.filter((m) => m.to.endsWith('in group')).length
console.log(
  `   ${sent} messages (${sent - toGroupCount} one-to-one, ${toGroupCount} to the group), all decrypted to their plaintext, in ${ms(performance.now() - t0)}:\n` +
    `   ${total} Signal payloads: ${pkmsg} pkmsg, ${msg} msg (${skdm} of them carrying the group's sender key), ${skmsg} skmsg.\n`,
)

// ------------------------------------------------------------ 3. one SQLite file

console.log(`3. The SQLite store, useSqliteAuthState: part 1's folder migrated to one file, ${AUTH_DB}`)
// auth.db is re-created from the folder on every run. On a second run it
// already holds the first run's copy: clear: true (what the CLI's --force
// does) deletes its keys first and the migration replaces its credentials.
const dbExisted = fs.existsSync(AUTH_DB)
console.log(
  dbExisted
    ? "   auth.db is there from an earlier run: re-created from the folder (clear: true, as the CLI's --force:\n" +
        '   its keys deleted first, its credentials replaced).'
    : '   No auth.db yet: created from the folder (every run re-creates it from the folder).',
)
{
  let took, summary
  try {
    ;[took, summary] = await timed(() => migrateAuthStores(FOLDER, AUTH_DB, { clear: dbExisted }))
  } catch (err) {
    console.log(`   ✗ migrateAuthStores(auth_info_baileys → auth.db) failed: ${err.message}`)
    process.exit(1)
  }
  const [ok, verified] = verification(summary)
  console.log(`   migrateAuthStores('auth_info_baileys', 'auth.db') in ${ms(took)}: ${copied(summary)},`)
  console.log(ok ? "     verified: every key and the credentials read back from auth.db equal the folder's ✓" : `     ${verified}`)
  expectTrue(ok, 'the migration to auth.db did not verify')

  // The file as a user opens it.
  const db = await useSqliteAuthState({ dbPath: AUTH_DB })
  const preKeys = await db.state.keys.get('pre-key', Object.keys(data.preKeys))
  const sessions = await db.state.keys.get('session', Object.keys(data.sessions))
  const sameKeys =
    Object.entries(data.preKeys).every(([id, v]) => isDeepStrictEqual(preKeys[id], v)) &&
    Object.entries(data.sessions).every(([id, v]) => sessions[id] && Buffer.compare(sessions[id], v) === 0)
  const sameCreds = isDeepStrictEqual(JSON.parse(JSON.stringify(db.state.creds)), JSON.parse(JSON.stringify(creds)))
  await db.close()
  console.log(
    `   useSqliteAuthState('auth.db') reads part 1's keys ${sameKeys ? 'all equal ✓' : 'DIFFERENT ✗'}, credentials ${sameCreds ? 'equal ✓' : 'DIFFERENT ✗'} (then close())`,
  )
  expectTrue(sameKeys && sameCreds, 'auth.db holds something else than part 1 wrote')

  // And back: nothing is locked in.
  const back = path.join(root, 'auth_info_baileys-back')
  await migrateAuthStores(AUTH_DB, back)
  const same = compareFolders(FOLDER, back)
  console.log(`   auth.db: one file of ${size(fs.statSync(AUTH_DB).size)} instead of ${same.files}.`)
  console.log(
    `   And back, auth.db → a scratch folder with migrateAuthStores: ${same.files} files, byte for byte the folder's ${check(same.same)}`,
  )
  expectTrue(same.same, `folder → auth.db → folder changed: ${same.differing.slice(0, 5).join(', ')}`)
  console.log('   (from the command line: npx baileys-auth-native migrate auth_info_baileys auth.db --force)\n')
}

// The conversation of part 2 goes on: each device's folder is migrated to a
// database file between two messages, and the device restarts on it.
console.log(`   The conversation of part 2 carries on over SQLite: ${root}/{alice,bob}.db`)
const files = sqliteDevices(useSqliteAuthState)
const identityOf = (d) => `${d.creds.registrationId}:${Buffer.from(d.creds.signedIdentityKey.public).toString('hex')}`
chat = new Conversation()
const t1 = performance.now()

async function moveToSqlite(device) {
  const before = identityOf(device)
  const dbPath = path.join(root, `${device.name.toLowerCase()}.db`)
  const [took, summary] = await timed(() => migrateAuthStores(device.folder, dbPath))
  const [ok, verified] = verification(summary)
  console.log(`   ${device.name}'s folder (kept by ${device.openName}) → ${path.basename(dbPath)}, migrateAuthStores in ${ms(took)}:`)
  console.log(`     ${copied(summary)}, ${verified}`)
  device.folder = dbPath // where SignalDevice opens its store: from now on the database file
  await device.restart(files.impl)
  const same = identityOf(device) === before
  console.log(`   ↻ ${device.name} restarted on useSqliteAuthState('${path.basename(dbPath)}'): same identity and registrationId ${check(same)}`)
  expectTrue(ok && same, `${device.name}'s move to SQLite`)
}

await moveToSqlite(bob)
console.log('     (Alice is still on her folder)')
await say(bob, alice, 'I moved into one SQLite file')
await say(alice, bob, 'Reads the same from here')
await toGroup(bob, [alice], 'My first group message, from SQLite')
await toGroup(alice, [bob], 'Got it')

await moveToSqlite(alice)
await say(alice, bob, 'Me too, now')
await toGroup(alice, [bob], 'Both of us on SQLite')

// A restart: close() waits for the pending writes and releases the file.
{
  const ids = { alice: identityOf(alice), bob: identityOf(bob) }
  await files.close(alice.folder)
  const closedBob = await files.close(bob.folder)
  const rejects = await closedBob.state.keys.get('session', [bob.sessionAddressOf(alice)]).then(
    () => false,
    (err) => err.code === 'EBAILEYSCLOSED',
  )
  await alice.restart()
  await bob.restart()
  const sameIds = identityOf(alice) === ids.alice && identityOf(bob) === ids.bob
  const session = (await alice.state.keys.get('session', [alice.sessionAddressOf(bob)]))[alice.sessionAddressOf(bob)]
  const [usedPreKey] = server.handedOut.get(bob.jid)
  const preKeyGone = (await bob.state.keys.get('pre-key', [String(usedPreKey)]))[usedPreKey] === null
  const memory = (await bob.state.keys.get('sender-key-memory', [GROUP]))[GROUP]
  const remembers = memory?.[alice.jid] === true
  console.log('   ↻ Both close()d their files and opened them again (a restart):')
  console.log(
    `     a call after close() rejects ${check(rejects)}   identities unchanged ${check(sameIds)}   sessions in the file ${check(!!session)}`,
  )
  console.log(
    `     pre-key #${usedPreKey} still gone ${check(preKeyGone)}   Bob remembers Alice has his sender key ${check(remembers)}`,
  )
  expectTrue(rejects && sameIds && session && preKeyGone && remembers, 'the SQLite state did not survive the restart')
}
await say(bob, alice, 'Back after the restart')
await say(alice, bob, 'Same sessions, read from the file')
await toGroup(bob, [alice], 'No key needed for my group messages now')
await toGroup(alice, [bob], 'See you')

{
  const { pkmsg, msg, skmsg, skdm, total } = chat.counts
  const sent = chat.log.length
  const toGroupCount = chat.log.filter((m) => m.to.endsWith('in group')).length
  console.log(
    `   ${sent} more messages (${sent - toGroupCount} one-to-one, ${toGroupCount} to the group), all decrypted to their plaintext, in ${ms(performance.now() - t1)}:\n` +
      `   ${total} Signal payloads: ${pkmsg} pkmsg, ${msg} msg (${skdm} of them carrying a sender key), ${skmsg} skmsg.\n`,
  )
}
await files.closeAll()
removeRoot()

// ------------------------------------------------------------ 4. timings

// The three stores on fresh scratch paths side by side (part 1's folder may
// already hold keys, which makes its writes overwrites): a few rounds, the
// order rotated each round so that each store runs first, second and third
// once; medians. The scratch paths are removed only at the end, so that no
// round pays for the files an earlier one freed.
const ROUNDS = 3
console.log("4. The storage steps of part 1 timed: this package's folder store and SQLite store beside Baileys' helper")
console.log(`   (fresh scratch paths, median of ${ROUNDS} rounds in rotating order)`)
const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-auth-native-timing-'))
process.on('exit', () => fs.rmSync(scratchRoot, { recursive: true, force: true }))
const implementations = {
  folder: (folder) => useMultiFileAuthState(folder),
  sqlite: (place) => useSqliteAuthState({ dbPath: `${place}.db` }), // the durable default, fsync: true
  theirs: baileysHelper,
}
const names = Object.keys(implementations)
const samples = Object.fromEntries(names.map((who) => [who, []]))
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length])
  for (const who of order) {
    const { times } = await run(implementations[who], path.join(scratchRoot, `${who}-${round}`), data, { saves: SAVES })
    samples[who].push(times)
  }
}
fs.rmSync(scratchRoot, { recursive: true, force: true })
const median = (who, key) => {
  const sorted = samples[who].map((t) => t[key]).sort((a, b) => a - b)
  return sorted[sorted.length >> 1]
}

const rows = [
  ['open', 'open'],
  [`set ${PRE_KEYS} pre-keys`, 'setPreKeys'],
  [`get ${PRE_KEYS} pre-keys`, 'getPreKeys'],
  [`set ${SESSIONS} sessions`, 'setSessions'],
  [`get ${SESSIONS} sessions`, 'getSessions'],
  ['get 1000 missing ids', 'getMissing'],
  [`saveCreds ×${SAVES}`, 'saves'],
]
console.log(`   ${pad('', 24)}${pad('folder', 12)}${pad('SQLite*', 12)}${pad("Baileys'", 12)}faster than Baileys'`)
console.log(`   ${pad('step', 24)}${pad('store', 12)}${pad('store', 12)}${pad('helper', 12)}${pad('folder', 9)}SQLite`)
const times = (x) => `${x.toFixed(1)}×`
for (const [label, key] of rows) {
  const [f, q, b] = names.map((who) => median(who, key))
  console.log(`   ${pad(label, 24)}${pad(ms(f), 12)}${pad(ms(q), 12)}${pad(ms(b), 12)}${pad(times(b / f), 9)}${times(b / q)}`)
}
console.log(
  '   * as useSqliteAuthState opens by default, fsync: true (synchronous = FULL): every acknowledged call\n' +
    '     is on disk and survives a power loss; each set and each saveCreds pays an fsync here. The folder\n' +
    "     store (fsync: false by default) and Baileys' helper never fsync: a crash of the machine can lose\n" +
    '     their last writes.',
)
console.log(
  '\n(a quick look; `npm run bench` measures properly: more rounds, more workloads, and a file-system floor)',
)
// ------------------------------------------------------------ 5. PostgreSQL

console.log('\n5. The PostgreSQL store, usePostgresAuthState: auth.db moved to an account on a throw-away local server')
let pg = null
try {
  const { startPostgres } = require('../__test__/support/pg-server.js')
  pg = await startPostgres()
} catch (err) {
  console.log(`   skipped: no PostgreSQL server here (${String(err.message).split('\n')[0]})`)
}
if (pg) {
  try {
    await postgresPart(pg)
  } finally {
    await pg.stop()
  }
}

async function postgresPart(pg) {
  const ACCOUNT = 'demo-bot'
  const spec = { kind: 'postgres', connection: pg.url, account: ACCOUNT }
  console.log(`   server: PostgreSQL on 127.0.0.1:${pg.port} (initdb in a temporary folder, stopped at the end)`)
  const [took, summary] = await timed(() => migrateAuthStores(AUTH_DB, spec))
  const [ok, verified] = verification(summary)
  console.log(`   migrateAuthStores('auth.db', { kind: 'postgres', account: '${ACCOUNT}' }) in ${ms(took)}: ${copied(summary)},`)
  console.log(ok ? '     verified: every key and the credentials read back equal ✓' : `     ${verified}`)
  expectTrue(ok, 'the migration to PostgreSQL did not verify')

  const owner = await usePostgresAuthState(pg.url, ACCOUNT, { leaseTtlMs: 2000 })
  const preKeys = await owner.state.keys.get('pre-key', Object.keys(data.preKeys))
  const same = Object.entries(data.preKeys).every(([id, v]) => isDeepStrictEqual(preKeys[id], v))
  console.log(`   usePostgresAuthState(url, '${ACCOUNT}') reads part 1's ${PRE_KEYS} pre-keys ${same ? 'all equal ✓' : 'DIFFERENT ✗'}`)
  expectTrue(same, 'the PostgreSQL account holds something else than part 1 wrote')

  // Another process, as another host would be: refused while we own it.
  const other = (script) =>
    JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', `import { usePostgresAuthState as open } from ${JSON.stringify(new URL('../index.mjs', import.meta.url).href)}\n${script}`], {
        encoding: 'utf8',
      }),
    )
  const refused = other(`
    const t = performance.now()
    const r = await open(${JSON.stringify(pg.url)}, '${ACCOUNT}').then(() => ({ opened: true }), (e) => ({ name: e.name, pid: e.pid, host: e.host, until: e.until }))
    console.log(JSON.stringify({ ...r, ms: performance.now() - t }))`)
  const refusedRight = refused.name === 'AuthFolderLockedError' && refused.pid === process.pid
  console.log(`   another process opening it: ${refused.name} in ${ms(refused.ms)}, owner pid ${refused.pid} on ${refused.host} ${check(refusedRight)}`)
  expectTrue(refusedRight, 'a second process was not refused with the owner named')

  // Moving the account: close() here, open there at once; then the old state is fenced.
  await owner.close()
  const takeover = other(`
    const t = performance.now()
    const s = await open(${JSON.stringify(pg.url)}, '${ACCOUNT}')
    const opened = performance.now() - t
    await s.state.keys.set({ session: { 'moved.0': { host: 'the other process' } } })
    await s.close()
    console.log(JSON.stringify({ opened, token: s.counters().token }))`)
  console.log(`   after close() here, the other process opened it in ${ms(takeover.opened)} (fencing token ${takeover.token}) and wrote a session`)
  const back = await usePostgresAuthState(pg.url, ACCOUNT)
  const moved = (await back.state.keys.get('session', ['moved.0']))['moved.0']
  const tokenUp = back.counters().token > takeover.token
  console.log(`   back here: the other process's session is there ${check(moved?.host === 'the other process')}, token ${back.counters().token} ${check(tokenUp)}`)
  expectTrue(moved?.host === 'the other process' && tokenUp, 'the account did not move between processes')
  await back.close()

  // The storage steps of part 4, against postgres-baileys (the store fleets run today).
  let reference = null
  try {
    const { Pool } = require('pg')
    const { usePostgreSQLAuthState } = require('postgres-baileys')
    const pool = new Pool({ connectionString: pg.url, max: 10 })
    pool.on('error', () => {})
    // Its own CREATE TABLE is not awaited (the first call can race it): made here first.
    await pool.query('CREATE TABLE IF NOT EXISTS auth_data (session_key VARCHAR(255) PRIMARY KEY, data TEXT NOT NULL)')
    reference = { pool, open: (name) => usePostgreSQLAuthState(pool, name) }
  } catch (err) {
    console.log(`   (postgres-baileys not installed: no comparison; ${err.message.split('\n')[0]})`)
  }
  const ours = (name) => usePostgresAuthState(pg.url, name)
  const rounds = reference ? 3 : 1
  const results = { ours: [], theirs: [] }
  for (let round = 0; round < rounds; round++) {
    results.ours.push((await run(ours, `timing-ours-${round}`, data, { saves: SAVES })).times)
    if (reference) results.theirs.push((await run(reference.open, `timing-theirs-${round}`, data, { saves: SAVES })).times)
  }
  if (reference) await reference.pool.end()
  const med = (list, key) => list.map((t) => t[key]).sort((a, b) => a - b)[list.length >> 1]
  console.log(`   ${pad('step', 24)}${pad('ours', 12)}${reference ? `${pad('postgres-', 12)}faster` : ''}`)
  if (reference) console.log(`   ${pad('', 24)}${pad('', 12)}${pad('baileys', 12)}`)
  for (const [label, key] of [
    [`set ${PRE_KEYS} pre-keys`, 'setPreKeys'],
    [`get ${PRE_KEYS} pre-keys`, 'getPreKeys'],
    [`set ${SESSIONS} sessions`, 'setSessions'],
    [`get ${SESSIONS} sessions`, 'getSessions'],
    [`saveCreds ×${SAVES}`, 'saves'],
  ]) {
    const o = med(results.ours, key)
    const line = reference ? `${pad(ms(med(results.theirs, key)), 12)}${(med(results.theirs, key) / o).toFixed(1)}×` : ''
    console.log(`   ${pad(label, 24)}${pad(ms(o), 12)}${line}`)
  }
  console.log('   (both on the same local server, fsync on; `npm run bench:postgres` measures properly)')
}

if (failed) process.exit(1)
