// npm run demo — baileys-auth-native doing a linked device's storage work in
// ./auth_info_baileys, checked by Baileys' own helper, timed beside it.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'

import { useMultiFileAuthState as baileysHelper } from 'baileys'

import { useMultiFileAuthState } from '../index.mjs'

const FOLDER = path.resolve('auth_info_baileys')
const PRE_KEYS = 812 // what Baileys v7 uploads on first connect
const SESSIONS = 300

const ms = (t) => `${t.toFixed(1)} ms`
async function timed(fn) {
  const t = performance.now()
  const result = await fn()
  return [performance.now() - t, result]
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

const existed = fs.existsSync(path.join(FOLDER, 'creds.json'))
console.log('baileys-auth-native demo\n')
const data = workload()

const ours = await run(useMultiFileAuthState, FOLDER, data)
const { creds } = ours.state
console.log(
  existed
    ? `Loaded the existing credentials in ${FOLDER} (registered: ${creds.registered ? 'yes' : 'no'}, registrationId ${creds.registrationId}).`
    : `No credentials in ${FOLDER}: created fresh ones (registrationId ${creds.registrationId}) and saved them.`,
)
console.log(`Stored and read back ${PRE_KEYS} pre-keys and ${SESSIONS} sessions of 2 KiB.\n`)

// Baileys' own helper reads the same folder: nothing is locked in.
const check = await baileysHelper(FOLDER)
const preKeys = await check.state.keys.get('pre-key', Object.keys(data.preKeys))
const sessions = await check.state.keys.get('session', Object.keys(data.sessions))
const sameKeys =
  Object.entries(data.preKeys).every(([id, v]) => isDeepStrictEqual(preKeys[id], v)) &&
  Object.entries(data.sessions).every(([id, v]) => Buffer.compare(sessions[id], v) === 0)
const sameCreds = isDeepStrictEqual(JSON.parse(JSON.stringify(check.state.creds)), JSON.parse(JSON.stringify(creds)))
console.log(`Baileys' own useMultiFileAuthState read the folder back: keys ${sameKeys ? 'all equal ✓' : 'DIFFERENT ✗'}, credentials ${sameCreds ? 'equal ✓' : 'DIFFERENT ✗'}\n`)

// The same steps with Baileys' helper on a scratch folder, for the timing table.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-helper-'))
const theirs = await run(baileysHelper, scratch, data)
fs.rmSync(scratch, { recursive: true, force: true })

const rows = [
  ['open folder', 'open'],
  ['saveCreds', 'saveCreds'],
  [`set ${PRE_KEYS} pre-keys`, 'setPreKeys'],
  [`get ${PRE_KEYS} pre-keys`, 'getPreKeys'],
  [`set ${SESSIONS} sessions`, 'setSessions'],
  [`get ${SESSIONS} sessions`, 'getSessions'],
  ['get 1000 missing ids', 'getMissing'],
]
const pad = (s, n) => String(s).padEnd(n)
console.log(`${pad('step', 24)}${pad('this package', 15)}${pad("Baileys' helper", 17)}faster`)
for (const [label, key] of rows) {
  const a = ours.times[key]
  const b = theirs.times[key]
  console.log(`${pad(label, 24)}${pad(ms(a), 15)}${pad(ms(b), 17)}${(b / a).toFixed(1)}×`)
}
console.log('\n(one run; `npm run bench` measures properly, with medians over interleaved rounds)')
if (!sameKeys || !sameCreds) process.exit(1)
