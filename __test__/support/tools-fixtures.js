'use strict'
// Shared fixtures of the tools suites (plain-functions, key-ops, migrate,
// cli): temporary folders, folders written by Baileys' own helper (both
// lines), a child process that owns a folder, and comparisons.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawn } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const PKG = path.join(ROOT, 'index.js')
const { firstDifference } = require(path.join(ROOT, 'lib', 'migrate.js'))

function tmpDirs(tag) {
  const made = []
  const make = (sub) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-tools-${tag}-${sub ?? 'x'}-`))
    made.push(d)
    return d
  }
  make.cleanup = () => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true })
  }
  return make
}

/** Baileys v6 (CommonJS) and v7 (ESM, imported). */
async function baileysLines() {
  return { v6: require('@whiskeysockets/baileys'), v7: await import('baileys') }
}

const rb = (n) => crypto.randomBytes(n)
const keyPair = () => ({ private: rb(32), public: rb(32) })

/**
 * A key of every type, with the ids that matter: `/` (app-state-sync-key),
 * `::` (sender-key), `:` in a session id (irreversible: comes back as `-`),
 * a sender-key-memory next to sender keys of the same group, `__index`.
 */
function sampleData(proto) {
  const appKey = (ts) =>
    proto.Message.AppStateSyncKeyData.fromObject({
      keyData: rb(32),
      fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 1, 5] },
      timestamp: ts,
    })
  return {
    'pre-key': { 1: keyPair(), 2: keyPair(), 812: keyPair() },
    session: {
      '4915112345678.0': { _sessions: { [rb(33).toString('base64')]: { registrationId: 77, rootKey: rb(32), chain: [1, 2, 3] } }, version: 'v1' },
      '4915112345678:4@s.whatsapp.net': { record: rb(300) },
      '98765432109876@lid.1': { record: rb(40) },
    },
    'sender-key': {
      '120363-456@g.us::4915112345678::0': rb(120),
      '120363-456@g.us::98765432109876@lid::3': { chain: rb(64) },
    },
    'sender-key-memory': { '120363-456@g.us': { '4915112345678:0@s.whatsapp.net': true, '98765432109876:3@lid': true } },
    'app-state-sync-key': { 'AAAAAPS/x+==': appKey(1700000000123), 'aB/cD==': appKey(1600000000000) },
    'app-state-sync-version': {
      critical_block: { version: 3, hash: rb(128), indexValueMap: { 'aGFzaA==': { valueMac: rb(32) } } },
      regular_high: { version: 11, hash: rb(128), indexValueMap: {} },
    },
    'lid-mapping': { 4915112345678: '98765432109876', '98765432109876_reverse': '4915112345678' },
    'device-list': { 4915112345678: ['0', '4', '23'] },
    tctoken: { '4915112345678@s.whatsapp.net': { token: rb(16), timestamp: '1700000000' }, __index: { entries: ['4915112345678@s.whatsapp.net'] } },
    'identity-key': { '4915112345678.0': rb(33) },
  }
}

/** The id `list`/`listIds` give back for a key stored under `id` (see core/src/listing.rs). */
function listedId(type, id) {
  const fixed = String(id).replace(/\//g, '__').replace(/:/g, '-')
  if (type === 'sender-key') return fixed.replace(/--/g, '::')
  if (type === 'app-state-sync-key') return fixed.replace(/__/g, '/')
  return fixed
}

/** `data` with every id as `list` gives it back. */
function asListed(data) {
  const out = {}
  for (const [type, byId] of Object.entries(data)) {
    out[type] = {}
    for (const [id, v] of Object.entries(byId)) out[type][listedId(type, id)] = v
  }
  return out
}

/** Writes credentials (registered, with `me`) and `data` through Baileys' own helper. */
async function writeWithBaileys(lib, dir, data) {
  const { state, saveCreds } = await lib.useMultiFileAuthState(dir)
  Object.assign(state.creds, { me: { id: '4915112345678:12@s.whatsapp.net', name: 'Test', lid: '98765432109876:12@lid' }, registered: true })
  await saveCreds()
  await state.keys.set(data)
  return state
}

/** `{ name: bytes }` of the `*.json` files of a folder. */
function jsonFiles(dir) {
  const out = {}
  for (const name of fs.readdirSync(dir).sort()) if (name.endsWith('.json')) out[name] = fs.readFileSync(path.join(dir, name))
  return out
}

/** Collects an async iterable. */
async function collect(iterable) {
  const out = []
  for await (const x of iterable) out.push(x)
  return out
}

/**
 * A child process that opens `folder` with this package (taking its lock)
 * and keeps it until `release()`.
 */
function holdFolder(folder) {
  const code = `
    const pkg = require(${JSON.stringify(PKG)})
    pkg.useMultiFileAuthState(${JSON.stringify(folder)}).then(() => {
      process.stdout.write('ready ' + process.pid + '\\n')
      process.stdin.resume()
      process.stdin.on('end', () => process.exit(0))
    }, (e) => { process.stdout.write('error ' + e.message + '\\n'); process.exit(1) })`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] })
  const ready = new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (!out.includes('\n')) return
      if (out.startsWith('ready')) resolve()
      else reject(new Error(`holder: ${out.trim()}`))
    })
    child.on('exit', (c) => reject(new Error(`holder exited with ${c}`)))
  })
  return ready.then(() => ({
    pid: child.pid,
    release: () =>
      new Promise((resolve) => {
        child.on('exit', resolve)
        child.stdin.end()
      }),
  }))
}

module.exports = {
  ROOT,
  PKG,
  tmpDirs,
  baileysLines,
  sampleData,
  listedId,
  asListed,
  writeWithBaileys,
  jsonFiles,
  collect,
  holdFolder,
  firstDifference,
  keyPair,
  rb,
}
