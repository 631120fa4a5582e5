'use strict'
// Moving an account between the folder store and the SQLite file, from code
// (migrateAuthStores) and from the command line: a folder Baileys' own helper
// wrote (all ten key types, paired creds) goes into auth.db, which a store
// following Baileys' SQLite contract (bench/sqlite-reference.mjs) reads to
// the same values; back out into a folder, every file is byte for byte the
// one Baileys wrote.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const baileys = require('@whiskeysockets/baileys')

const ours = require('..')
const { makeParityFixtures, pairedCreds, sessionWithBuffers, sessionSerialized, senderKeyStates, dump } = require('./support/parity-cases.js')

const CLI = path.join(__dirname, '..', 'bin', 'baileys-auth-native.js')
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-sqlite-migrate-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const at = (...p) => path.join(root, ...p)

const { makeKeyData } = makeParityFixtures({
  baileys,
  keyData: { sessionForms: [sessionWithBuffers, sessionSerialized], senderKey: senderKeyStates, olderSenderKey: senderKeyStates, extraIdentityKeys: () => ({}) },
})

/**
 * The id a key gets back from its file name: Baileys' fixFileName (`/` →
 * `__`, `:` → `-`) undone where the type's ids allow (sender-key `::`,
 * app-state-sync-key `/`). Any other `:` stays `-` (old `user:device@server`
 * session ids; today's Signal addresses are `user.device`): such a key reaches
 * the file under that spelling, as the folder has it.
 */
function spelled(type, id) {
  const fixed = String(id).replace(/\//g, '__').replace(/:/g, '-')
  if (type === 'sender-key') return fixed.replace(/--/g, '::')
  if (type === 'app-state-sync-key') return fixed.replace(/__/g, '/')
  return fixed
}

/** Every file of a folder but the lock, name → bytes. */
function files(folder) {
  const out = {}
  for (const name of fs.readdirSync(folder).sort()) if (!name.startsWith('.')) out[name] = fs.readFileSync(path.join(folder, name))
  return out
}

let source
let data
beforeAll(async () => {
  source = at('baileys-folder')
  const b = await baileys.useMultiFileAuthState(source)
  Object.assign(b.state.creds, pairedCreds(baileys))
  await b.saveCreds()
  data = makeKeyData()
  await b.state.keys.set(data)
})

test('folder → auth.db → folder: every file byte for byte as Baileys wrote it', async () => {
  const events = []
  const there = await ours.migrateAuthStores(source, at('one.db'), { onProgress: (p) => events.push(p) })
  expect(there.differenceCount).toBe(0)
  expect(there.total).toBe(Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0))
  expect(events.some((e) => e.phase === 'copy') && events.some((e) => e.phase === 'verify')).toBe(true)

  const back = await ours.migrateAuthStores(at('one.db'), at('back-folder'))
  expect(back.differenceCount).toBe(0)
  expect(files(at('back-folder'))).toEqual(files(source))
})

test("auth.db made from Baileys' folder reads, in the contract's SQLite store, as Baileys' helper reads the folder", async () => {
  await ours.migrateAuthStores(source, at('two.db'))
  const { useReferenceSqliteAuthState } = await import('../bench/sqlite-reference.mjs')
  const ref = await useReferenceSqliteAuthState({ dbPath: at('two.db'), baileys, Driver: require('./support/sqlite-tools.js').betterSqlite() })
  const helper = await baileys.useMultiFileAuthState(source)
  try {
    expect(dump(ref.state.creds)).toEqual(dump(helper.state.creds))
    for (const [type, byId] of Object.entries(data)) {
      const ids = Object.keys(byId)
      const want = await helper.state.keys.get(type, ids)
      const got = await ref.state.keys.get(type, ids.map((id) => spelled(type, id)))
      for (const id of ids) expect([type, id, dump(got[spelled(type, id)])]).toEqual([type, id, dump(want[id])])
    }
  } finally {
    await ref.close()
  }
})

test('the command line moves a folder into sqlite:PATH and back, refuses a full destination without --force, and verify checks the file', () => {
  const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  const db = at('three.sqlite3')
  let r = cli('migrate', '--json', source, `sqlite:${db}`)
  expect([r.status, r.stderr]).toEqual([0, ''])
  expect(JSON.parse(r.stdout).differenceCount).toBe(0)

  r = cli('migrate', source, db)
  expect(r.status).toBe(3)
  expect(r.stderr).toMatch(/already holds auth data/)

  r = cli('verify', '--json', db)
  expect(r.status).toBe(0)
  const report = JSON.parse(r.stdout)
  expect(report.findings).toEqual([])
  expect(report.hasCreds).toBe(true)
  expect(report.registered).toBe(true)
  expect(report.verified).toBe(Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0))

  r = cli('stats', '--json', db)
  expect(r.status).toBe(0)
  const stats = JSON.parse(r.stdout)
  for (const [type, byId] of Object.entries(data)) expect([type, stats.byType[type].keys]).toEqual([type, Object.keys(byId).length])

  r = cli('migrate', db, at('cli-back'))
  expect(r.status).toBe(0)
  expect(files(at('cli-back'))).toEqual(files(source))
})

test('verify of a file finds a value that cannot be decoded, and changes nothing', () => {
  const db = at('four.db')
  expect(spawnSync(process.execPath, [CLI, 'migrate', source, db]).status).toBe(0)
  const Database = require('./support/sqlite-tools.js').betterSqlite()
  const conn = new Database(db)
  conn.prepare("UPDATE signal_keys SET value = '{\"torn' WHERE type = 'pre-key' AND id = '1'").run()
  conn.close()
  const before = fs.readFileSync(db)
  const r = spawnSync(process.execPath, [CLI, 'verify', '--json', db], { encoding: 'utf8' })
  expect(r.status).toBe(1)
  expect(JSON.parse(r.stdout).findings).toEqual([expect.objectContaining({ type: 'pre-key', id: '1', problem: 'corrupt' })])
  expect(fs.readFileSync(db).equals(before)).toBe(true)
})
