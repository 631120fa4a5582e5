// npm run demo — baileys-auth-native doing a linked device's storage work:
//   1. ./auth_info_baileys: credentials, 812 pre-keys, 300 sessions, read back
//      by Baileys' own helper;
//   2. two devices talking end to end through Baileys' own Signal code on
//      folders this package keeps: 1:1 and group messages, a restart from
//      disk, then one folder handed to Baileys' own helper;
//   3. the same storage steps timed beside Baileys' helper.
// No network: the WhatsApp server's part is played in-process
// (demo/signal-devices.mjs).
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'

import * as baileys from 'baileys'

import { useMultiFileAuthState } from '../index.mjs'
import { Conversation, SignalDevice, SignalServer } from './signal-devices.mjs'

const { useMultiFileAuthState: baileysHelper } = baileys
const require = createRequire(import.meta.url)
const BAILEYS_VERSION = require('baileys/package.json').version

const FOLDER = path.resolve('auth_info_baileys')
const PRE_KEYS = 812 // what Baileys v7 uploads on first connect
const SESSIONS = 300

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
  const sessions = {}
  for (let i = 0; i < SESSIONS; i++) {
    sessions[`${4915100000000 + i}.0:${i % 4}@s.whatsapp.net`.replace('.0:', ':')] = randomBytes(2048)
  }
  return { preKeys, sessions }
}

/** The same steps through one implementation; returns the timings. */
async function run(open, folder, data) {
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
const chat = new Conversation()
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
fs.rmSync(root, { recursive: true, force: true })

// ------------------------------------------------------------ 3. timings

// Both implementations on fresh folders side by side (part 1's folder may
// already hold keys, which makes its writes overwrites): a few rounds in
// alternating order, medians. The folders are removed only at the end, so
// that no round pays for the files an earlier one freed.
const ROUNDS = 3
console.log(`3. The storage steps of part 1, timed beside Baileys' helper (fresh scratch folders, median of ${ROUNDS} rounds)`)
const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-auth-native-timing-'))
const samples = { ours: [], theirs: [] }
const implementations = { ours: useMultiFileAuthState, theirs: baileysHelper }
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours']
  for (const who of order) {
    const { times } = await run(implementations[who], path.join(scratchRoot, `${who}-${round}`), data)
    samples[who].push(times)
  }
}
fs.rmSync(scratchRoot, { recursive: true, force: true })
const median = (who, key) => {
  const sorted = samples[who].map((t) => t[key]).sort((a, b) => a - b)
  return sorted[sorted.length >> 1]
}

const rows = [
  ['open folder', 'open'],
  ['saveCreds', 'saveCreds'],
  [`set ${PRE_KEYS} pre-keys`, 'setPreKeys'],
  [`get ${PRE_KEYS} pre-keys`, 'getPreKeys'],
  [`set ${SESSIONS} sessions`, 'setSessions'],
  [`get ${SESSIONS} sessions`, 'getSessions'],
  ['get 1000 missing ids', 'getMissing'],
]
console.log(`   ${pad('step', 24)}${pad('this package', 15)}${pad("Baileys' helper", 17)}faster`)
for (const [label, key] of rows) {
  const a = median('ours', key)
  const b = median('theirs', key)
  console.log(`   ${pad(label, 24)}${pad(ms(a), 15)}${pad(ms(b), 17)}${(b / a).toFixed(1)}×`)
}
console.log('\n(a quick look; `npm run bench` measures properly: more rounds, more workloads, and a file-system floor)')
if (failed) process.exit(1)
