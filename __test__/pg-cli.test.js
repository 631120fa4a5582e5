'use strict'
// PostgreSQL in the command line (`bin/baileys-auth-native.js`, run as a real
// process) and in `migrateAuthStores`, on a throw-away server, with a folder
// written by Baileys' own helper (v7) as the reference:
// - `migrate` folder → account → folder gives Baileys' files byte for byte
//   (but our `.baileys-auth.lock`); so do folder → account → SQLite → folder
//   and account → account (`--from-account` / `--to-account`);
// - a destination account that holds data is refused without `--force`;
// - `stats URL` lists the accounts, their keys and lease holders;
//   `stats URL --account A` and `verify URL --account A` report the account
//   as its rows are (read with node-postgres); verify exits 1 on a corrupt
//   value planted with SQL, and only reads;
// - the migration source is read without its lease: migrating from an
//   account a live process owns gives a snapshot, and the owner keeps its
//   lease (same token, another process still refused) and still writes;
// - `--schema` / `--table-prefix` put the tables where they say;
// - the password appears in no output (stdout and stderr of every call are
//   checked), labels print `postgres://user:***@host:port/db`;
// - `--json` output shapes.

const { execFile } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ours = require('..')
const { leaseHost, storePath } = require('./support/platform.js')

const T = require('./support/sqlite-tools.js') // storeTracker, tmpDirs, keyRows
const P = require('./support/pg-tools.js')
const F = require('./support/tools-fixtures.js')

const BIN = path.join(__dirname, '..', 'bin', 'baileys-auth-native.js')

// (declared before the server: afterAll hooks run in declaration order, so
// the stores close while the server still runs)
const { track } = T.storeTracker()
const ctx = P.pgSuite()
const R = P.rowsOf(ctx)
const tmp = T.tmpDirs('ban-pg-cli')
const openPg = track((account, options) => ours.usePostgresAuthState(ctx.url, account, options))
const { accountName, rejection } = P

/** Every secret a CLI output must not hold (the test server's password, in every spelling used). */
const secrets = () => [ctx.pg.password, encodeURIComponent(ctx.pg.password), ...extraSecrets]
const extraSecrets = []

/** Runs the CLI: `{ code, stdout, stderr }` (stdin closed, stderr not a TTY). */
function run(args) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr })
    })
    child.stdin.end()
  })
}

/** `run`, and no password may be in stdout or stderr, whatever the outcome. */
async function cli(...args) {
  const r = await run(args)
  const shown = args.map((a) => secrets().reduce((x, s) => x.split(s).join('<pw>'), a)).join(' ')
  for (const s of secrets()) expect([shown, (r.stdout + r.stderr).includes(s) ? `${r.stdout}${r.stderr}` : 'clean']).toEqual([shown, 'clean'])
  return r
}

/** The label the CLI prints for an account of the test server. */
const label = (account) => `postgres://${ctx.pg.user}:***@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database} account ${JSON.stringify(account)}`

/** Every file of a folder but our lock, name → bytes (as text, for readable diffs). */
function filesOf(folder) {
  const out = {}
  for (const name of fs.readdirSync(folder).sort()) if (name !== '.baileys-auth.lock') out[name] = fs.readFileSync(path.join(folder, name)).toString('latin1')
  return out
}

/** The account's keys and creds as hex, for exact comparisons. */
async function rowsOf(account, r = R) {
  const keys = (await r.keyRows(account)).map((x) => [x.type, x.id, x.value.toString('hex')])
  const creds = await r.credsBytes(account)
  return { keys, creds: creds && creds.toString('hex') }
}

let src // Baileys' folder
let total // its keys
let lib
beforeAll(async () => {
  lib = (await F.baileysLines()).v7
  src = path.join(tmp('src'), 'auth')
  const data = F.sampleData(lib.proto)
  for (let i = 3; i <= 40; i++) data['pre-key'][i] = lib.Curve.generateKeyPair()
  await F.writeWithBaileys(lib, src, data)
  total = Object.values(data).reduce((n, byId) => n + Object.keys(byId).length, 0)
})

/** Baileys' file name of a key. */
const fileOf = T.fileOf

// ---------------------------------------------------------------- migrate

describe('migrate', () => {
  test("folder → URL --account A, then URL → folder: Baileys' folder byte for byte; the rows are the exact bytes of its files", async () => {
    const account = accountName('fold')
    const there = await cli('migrate', src, ctx.url, '--account', account)
    expect([there.code, there.stderr]).toEqual([0, ''])
    expect(there.stdout).toContain(`migrated ${storePath(src)} → ${label(account)}\n`)
    expect(there.stdout).toContain(`keys          ${total} (`)
    expect(there.stdout).toContain('verified      every key and the credentials read back equal')
    const rows = await R.keyRows(account)
    expect(rows.length).toBe(total)
    for (const r of rows) expect([r.type, r.id, r.value.toString('latin1')]).toEqual([r.type, r.id, fs.readFileSync(path.join(src, fileOf(r.type, r.id))).toString('latin1')])
    expect((await R.credsBytes(account)).equals(fs.readFileSync(path.join(src, 'creds.json')))).toBe(true)

    const back = path.join(tmp('back'), 'auth')
    const r = await cli('migrate', ctx.url, back, '--account', account)
    expect([r.code, r.stderr]).toEqual([0, ''])
    expect(r.stdout).toContain(`migrated ${label(account)} → ${path.resolve(back)}\n`)
    expect(filesOf(back)).toEqual(filesOf(src))
    expect(fs.readdirSync(back).filter((n) => n.startsWith('.'))).toEqual(['.baileys-auth.lock'])
  })

  test("folder → account → SQLite file → folder, all through the CLI: Baileys' folder byte for byte", async () => {
    const account = accountName('chain')
    const dir = tmp('chain')
    const db = path.join(dir, 'auth.db')
    for (const args of [
      [src, ctx.url, '--account', account],
      [ctx.url, db, '--account', account],
      [db, path.join(dir, 'out')],
    ]) {
      const r = await cli('migrate', '--json', ...args)
      expect([args[0] === ctx.url ? 'URL' : args[0], r.code, r.stderr]).toEqual([args[0] === ctx.url ? 'URL' : args[0], 0, ''])
      expect(JSON.parse(r.stdout)).toMatchObject({ total, verified: true, differenceCount: 0, differences: [] })
    }
    expect(T.keyRows(db).length).toBe(total)
    expect(filesOf(path.join(dir, 'out'))).toEqual(filesOf(src))
  })

  test('account → account (--from-account / --to-account): the same rows byte for byte; the --json summary', async () => {
    const a = accountName('from')
    const b = accountName('to')
    expect((await cli('migrate', src, ctx.url, '--account', a)).code).toBe(0)
    const r = await cli('migrate', '--json', ctx.url, ctx.url, '--from-account', a, '--to-account', b)
    expect([r.code, r.stderr]).toEqual([0, ''])
    const j = JSON.parse(r.stdout)
    expect(Object.keys(j).sort()).toEqual(['creds', 'differenceCount', 'differences', 'from', 'keys', 'to', 'total', 'verified'])
    expect(j).toEqual({ from: label(a), to: label(b), creds: true, keys: expect.any(Object), total, verified: true, differences: [], differenceCount: 0 })
    expect(Object.keys(j.keys)).toEqual([...ours.KEY_TYPES])
    const counts = {}
    for (const x of await R.keyRows(a)) counts[x.type] = (counts[x.type] || 0) + 1
    for (const t of ours.KEY_TYPES) expect([t, j.keys[t]]).toEqual([t, counts[t] || 0])
    expect(await rowsOf(b)).toEqual(await rowsOf(a))
    // text form
    const c = accountName('to-text')
    const t = await cli('migrate', ctx.url, ctx.url, '--from-account', a, '--to-account', c)
    expect(t.code).toBe(0)
    expect(t.stdout).toContain(`migrated ${label(a)} → ${label(c)}\n`)
    // --account is both sides: the same store
    const same = await cli('migrate', ctx.url, ctx.url, '--account', a)
    expect(same.code).toBe(2)
    expect(same.stderr).toContain('<from> and <to> are the same store')
  })

  test('a destination account that holds data (creds, or keys only) is refused without --force and left as it was; --force makes it an exact copy (its other keys deleted)', async () => {
    const dest = accountName('full')
    expect((await cli('migrate', src, ctx.url, '--account', dest)).code).toBe(0)
    const wanted = await rowsOf(dest)
    await R.writeRows(dest, { rows: [['session', 'only-here.0', '{"x":1}']] })
    const before = await R.snapshot(dest)
    const r = await cli('migrate', src, ctx.url, '--account', dest)
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`${label(dest)} already holds auth data (credentials); use --force`)
    const j = await cli('migrate', '--json', src, ctx.url, '--account', dest)
    expect(j.code).toBe(3)
    expect(JSON.parse(j.stdout)).toEqual({ error: { name: 'Error', code: 'EEXIST', message: expect.stringContaining('already holds auth data') } })
    expect(await R.snapshot(dest)).toEqual(before)

    const keysOnly = accountName('keys-only')
    await R.writeRows(keysOnly, { rows: [['pre-key', '1', '{"a":1}']] })
    const k = await cli('migrate', src, ctx.url, '--account', keysOnly)
    expect(k.code).toBe(3)
    expect(k.stderr).toContain('already holds auth data (keys)')

    const forced = await cli('migrate', '--force', src, ctx.url, '--account', dest)
    expect([forced.code, forced.stderr]).toEqual([0, ''])
    expect(await rowsOf(dest)).toEqual(wanted)
    expect(await R.row(dest, 'session', 'only-here.0')).toBeUndefined()
  })

  test('usage: a postgres:// store needs an account; verify needs --account and takes no --fix (exit 2, nothing written)', async () => {
    const folder = path.join(tmp('usage'), 'out')
    for (const args of [
      ['migrate', ctx.url, folder],
      ['migrate', src, ctx.url],
      ['migrate', ctx.url, ctx.url, '--from-account', 'x'],
      ['verify', ctx.url],
      ['verify', '--fix', ctx.url, '--account', 'x'],
      ['stats', ctx.url, '--from-account', 'x'],
    ]) {
      const r = await cli(...args)
      expect([args.map((a) => (a === ctx.url ? 'URL' : a)), r.code, r.stdout]).toEqual([args.map((a) => (a === ctx.url ? 'URL' : a)), 2, ''])
      expect(r.stderr).toContain('Usage: baileys-auth-native')
    }
    expect(fs.existsSync(folder)).toBe(false)
  })

  test('from an encrypted account (the CLI has no key): exit 3 with AuthKeyError, nothing created', async () => {
    const account = accountName('sealed')
    await ours.migrateAuthStores(src, { kind: 'postgres', connection: ctx.url, account, encryptionKey: Buffer.alloc(32, 7) })
    const out = path.join(tmp('sealed'), 'out')
    const r = await cli('migrate', '--json', ctx.url, out, '--account', account)
    expect(r.code).toBe(3)
    expect(JSON.parse(r.stdout).error).toMatchObject({ name: 'AuthKeyError', code: 'EBAILEYSKEY' })
    expect(fs.existsSync(out)).toBe(false)
  })
})

// ---------------------------------------------------------------- stats and verify

/** Keys and bytes by type of an account, from its rows. */
async function byTypeOf(account, r = R) {
  const rows = await ctx.query(`SELECT type, count(*)::int AS keys, sum(octet_length(value))::int AS bytes FROM ${r.tables.keys} WHERE account = $1 GROUP BY type`, [account])
  return Object.fromEntries(rows.map((x) => [x.type, { keys: x.keys, bytes: x.bytes }]))
}

describe('stats and verify', () => {
  test('stats URL lists every account of the tables with its keys, creds and lease holder (text and --json); --table-prefix picks the tables', async () => {
    const prefix = 'st_'
    const RP = P.rowsOf(ctx, { prefix })
    const held = accountName('held')
    const closed = accountName('closed')
    const keysOnly = accountName('nocreds')
    for (const a of [held, closed]) expect((await cli('migrate', src, ctx.url, '--account', a, '--table-prefix', prefix)).code).toBe(0)
    await RP.writeRows(keysOnly, { rows: [['pre-key', '1', '{"a":1}'], ['pre-key', '2', '{"a":2}']] })
    const owner = await openPg(held, { tablePrefix: prefix })
    const token = owner.counters().token

    const j = await cli('stats', '--json', ctx.url, '--table-prefix', prefix)
    expect([j.code, j.stderr]).toEqual([0, ''])
    const report = JSON.parse(j.stdout)
    expect(Object.keys(report)).toEqual(['accounts'])
    const byName = Object.fromEntries(report.accounts.map((a) => [a.account, a]))
    expect(Object.keys(byName).sort()).toEqual([held, closed, keysOnly].sort())
    const lease = await RP.lease(held)
    expect(byName[held]).toEqual({ account: held, keys: total, hasCreds: true, lease: { token, host: leaseHost(), pid: process.pid, until: expect.any(Number), held: true } })
    expect(Number(lease.token)).toBe(token)
    expect(byName[closed]).toMatchObject({ account: closed, keys: total, hasCreds: true, lease: { held: false, until: null, host: leaseHost() } })
    expect(byName[keysOnly]).toEqual({ account: keysOnly, keys: 2, hasCreds: false, lease: null })

    const t = await cli('stats', ctx.url, '--table-prefix', prefix)
    expect([t.code, t.stderr]).toEqual([0, ''])
    const lines = t.stdout.split('\n')
    expect(lines[0]).toBe(`postgres://${ctx.pg.user}:***@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}: 3 accounts`)
    expect(lines[1]).toMatch(/^\s+account\s+keys\s+creds\s+lease$/)
    const line = (a) => lines.find((l) => l.trim().startsWith(`${a} `))
    expect(line(held)).toMatch(new RegExp(`^\\s+${held}\\s+${total}\\s+yes\\s+held by ${leaseHost()} pid ${process.pid} until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(token ${token}\\)$`))
    expect(line(closed)).toMatch(new RegExp(`^\\s+${closed}\\s+${total}\\s+yes\\s+free \\(released by ${leaseHost()} pid \\d+, token \\d+\\)$`))
    expect(line(keysOnly)).toMatch(new RegExp(`^\\s+${keysOnly}\\s+2\\s+no\\s+never taken$`))

    // the default tables do not hold these accounts
    const d = JSON.parse((await cli('stats', '--json', ctx.url)).stdout)
    expect(d.accounts.map((a) => a.account)).not.toContain(held)
    // stats took nothing: the owner's lease is as it was
    expect(await RP.lease(held)).toMatchObject({ token: lease.token, owner_pid: process.pid, live: true })
    expect(owner.counters().token).toBe(token)
    await owner.close()
  })

  test('stats URL --account A: creds, keys and bytes by type as the rows hold them, the lease (text and --json); an unknown account is empty', async () => {
    const account = accountName('stats')
    expect((await cli('migrate', src, ctx.url, '--account', account)).code).toBe(0)
    const byType = await byTypeOf(account)
    const j = await cli('stats', '--json', ctx.url, '--account', account)
    expect([j.code, j.stderr]).toEqual([0, ''])
    const r = JSON.parse(j.stdout)
    expect(Object.keys(r).sort()).toEqual(['account', 'accountId', 'byType', 'findings', 'hasCreds', 'lease', 'quarantined', 'registered', 'sealed', 'verified'])
    expect(r).toMatchObject({ account, hasCreds: true, registered: true, accountId: '4915112345678:12@s.whatsapp.net', quarantined: 0, findings: [] })
    expect(r.byType).toEqual(byType)
    expect(r.lease).toMatchObject({ held: false, until: null })

    const t = await cli('stats', ctx.url, '--account', account)
    expect([t.code, t.stderr]).toEqual([0, ''])
    expect(t.stdout).toContain(`account       ${label(account)}\n`)
    expect(t.stdout).toContain('credentials   registered as 4915112345678:12@s.whatsapp.net\n')
    expect(t.stdout).toMatch(new RegExp(`^keys\\s+${total} \\(`, 'm'))
    for (const [type, c] of Object.entries(byType)) expect(t.stdout).toMatch(new RegExp(`^\\s+${type}\\s+${c.keys}\\s+[\\d.]+ (B|KiB)$`, 'm'))
    expect(t.stdout).toMatch(/^lease\s+free \(released by /m)
    expect(t.stdout).toMatch(/^kept aside\s+0$/m)

    const none = await cli('stats', '--json', ctx.url, '--account', accountName('nobody'))
    expect(none.code).toBe(0)
    expect(JSON.parse(none.stdout)).toMatchObject({ hasCreds: false, registered: null, byType: {}, lease: null })
  })

  test('verify URL --account A: exit 0 when every value decodes; a corrupt value and corrupt creds planted with SQL: exit 1, listed; verify only reads (rows, quarantine and the owner lease unchanged)', async () => {
    const account = accountName('verify')
    expect((await cli('migrate', src, ctx.url, '--account', account)).code).toBe(0)
    const ok = await cli('verify', ctx.url, '--account', account)
    expect([ok.code, ok.stderr]).toEqual([0, ''])
    expect(ok.stdout).toBe(`checked ${total} values in ${label(account)}\nevery value reads back; no problems found\n`)

    await R.writeRows(account, { rows: [['pre-key', '7', '{"private":{"type":"Buffer","data":"AAAA']] })
    const owner = await openPg(account)
    const leaseBefore = await R.lease(account)
    const before = await R.snapshot(account)
    const bad = await cli('verify', ctx.url, '--account', account)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/^\s+corrupt\s+pre-key 7\s+\S/m)
    expect(bad.stdout).toMatch(/^1 problem found$/m)
    const j = await cli('verify', '--json', ctx.url, '--account', account)
    expect(j.code).toBe(1)
    const report = JSON.parse(j.stdout)
    expect(report.verified).toBe(total)
    expect(report.findings).toEqual([{ type: 'pre-key', id: '7', problem: 'corrupt', detail: expect.any(String) }])

    await R.writeRows(account, { creds: '{"noiseKey":' })
    const c = await cli('verify', '--json', ctx.url, '--account', account)
    expect(c.code).toBe(1)
    const creds = JSON.parse(c.stdout)
    expect(creds.findings).toEqual(expect.arrayContaining([expect.objectContaining({ type: null, id: null, problem: 'creds' }), expect.objectContaining({ type: 'pre-key', id: '7', problem: 'corrupt' })]))
    const s = await cli('stats', ctx.url, '--account', account)
    expect(s.stdout).toContain('credentials   present but unreadable')

    const after = await R.snapshot(account)
    expect(after.keys).toEqual(before.keys)
    expect(after.quarantine).toEqual([])
    expect(await R.lease(account)).toEqual({ ...leaseBefore, expires_text: expect.any(String), expires_ms: expect.any(Number) })
    expect(owner.counters().token).toBe(Number(leaseBefore.token))
    await owner.state.keys.set({ 'pre-key': { 8: lib.Curve.generateKeyPair() } })
    await owner.close()
  })

  test('verify of an encrypted account does not claim that values it could not decode read back', async () => {
    const account = accountName('verify-sealed')
    const key = Buffer.alloc(32, 9)
    await ours.migrateAuthStores(src, { kind: 'postgres', connection: ctx.url, account, encryptionKey: key })
    const t = await cli('verify', ctx.url, '--account', account)
    const j = JSON.parse((await cli('verify', '--json', ctx.url, '--account', account)).stdout)
    // the report's `verified` counts values decoded (index.d.ts): none can be, without the key
    expect([t.stdout.includes('every value reads back'), j.verified]).toEqual([false, 0])
  })
})

// ---------------------------------------------------------------- beside a live owner

describe('beside a live owner', () => {
  test('migrating FROM an account a live process owns gives a snapshot; the owner keeps its lease (same token, others still refused) and still writes', async () => {
    const account = accountName('live')
    expect((await cli('migrate', src, ctx.url, '--account', account)).code).toBe(0)
    const owner = await openPg(account, { leaseTtlMs: 30000 })
    const token = owner.counters().token
    const lease = await R.lease(account)
    expect(lease).toMatchObject({ owner_pid: process.pid, live: true })

    const out = path.join(tmp('live'), 'auth')
    const r = await cli('migrate', ctx.url, out, '--account', account)
    expect([r.code, r.stderr]).toEqual([0, ''])
    expect(filesOf(out)).toEqual(filesOf(src))
    const toSqlite = await cli('migrate', ctx.url, path.join(tmp('live-db'), 'auth.db'), '--account', account)
    expect(toSqlite.code).toBe(0)

    const after = await R.lease(account)
    expect(after).toMatchObject({ token: lease.token, owner_pid: process.pid, owner_host: lease.owner_host, live: true })
    expect(owner.counters().token).toBe(token)
    expect(await P.openInChild(ctx.url, account)).toEqual({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED' })
    // the owner writes, and it lands
    const kp = lib.Curve.generateKeyPair()
    await owner.state.keys.set({ 'pre-key': { 4242: kp } })
    owner.state.creds.accountSyncCounter = 77
    await owner.saveCreds()
    expect((await R.row(account, 'pre-key', '4242')).equals(ours.encodeAuthValue(kp))).toBe(true)
    expect(JSON.parse((await R.credsBytes(account)).toString()).accountSyncCounter).toBe(77)
    // and the migration was a snapshot: the folder has not followed
    expect(fs.existsSync(path.join(out, 'pre-key-4242.json'))).toBe(false)

    // migrate TO the held account is refused, the owner undisturbed
    const before = await R.snapshot(account)
    const to = await cli('migrate', '--force', '--json', src, ctx.url, '--account', account)
    expect(to.code).toBe(3)
    expect(JSON.parse(to.stdout).error).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED' })
    expect(await R.snapshot(account)).toEqual(before)
    await owner.state.keys.set({ 'pre-key': { 4243: kp } })
    expect(await R.row(account, 'pre-key', '4243')).toBeDefined()
    await owner.close()
  })

  test('migrateAuthStores from a held account (lock: false underneath), in this process and in another: a snapshot, the owner keeps its lease; another process is refused it as destination', async () => {
    const account = accountName('live-api')
    await ours.migrateAuthStores(src, { kind: 'postgres', connection: ctx.url, account })
    const owner = await openPg(account)
    const token = owner.counters().token
    const db = path.join(tmp('live-api'), 'auth.db')
    const r = await ours.migrateAuthStores({ kind: 'postgres', connection: ctx.url, account }, db)
    expect([r.total, r.differenceCount]).toEqual([total, 0])
    expect(await R.lease(account)).toMatchObject({ token: expect.anything(), owner_pid: process.pid, live: true })
    expect(Number((await R.lease(account)).token)).toBe(token)
    await owner.state.keys.set({ session: { 'x.0': { ok: true } } })
    expect(await R.row(account, 'session', 'x.0')).toBeDefined()
    // (in this process a second open shares the owner's store; another process is refused as destination)
    const other = await P.inChild(`return ours.migrateAuthStores(args.src, { kind: 'postgres', connection: args.url, account: args.account }, { clear: true })`, { src, url: ctx.url, account })
    expect(other.error).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: process.pid })
    expect(await R.row(account, 'session', 'x.0')).toBeDefined()
    // and a source in another process is read beside the owner
    const snap = await P.inChild(`const r = await ours.migrateAuthStores({ kind: 'postgres', connection: args.url, account: args.account }, args.db); return [r.total, r.differenceCount]`, {
      url: ctx.url,
      account,
      db: path.join(tmp('live-api-2'), 'auth.db'),
    })
    expect(snap).toEqual([total + 1, 0])
    expect(Number((await R.lease(account)).token)).toBe(token)
    await owner.close()
  })
})

// ---------------------------------------------------------------- --schema and --table-prefix

describe('--schema and --table-prefix', () => {
  test('the tables go into that schema with that prefix; the default tables never see the account; back out byte for byte', async () => {
    await ctx.pg.psql('CREATE SCHEMA IF NOT EXISTS cli_s')
    const account = accountName('schema')
    const flags = ['--schema', 'cli_s', '--table-prefix', 'ban_cli_']
    const r = await cli('migrate', src, ctx.url, '--account', account, ...flags)
    expect([r.code, r.stderr]).toEqual([0, ''])
    const RS = P.rowsOf(ctx, { prefix: 'cli_s.ban_cli_' })
    expect((await RS.keyRows(account)).length).toBe(total)
    expect((await ctx.query("SELECT to_regclass('cli_s.ban_cli_keys') IS NOT NULL AS there"))[0].there).toBe(true)
    expect(await R.keyRows(account)).toEqual([])
    expect(JSON.parse((await cli('stats', '--json', ctx.url, '--account', account)).stdout)).toMatchObject({ hasCreds: false, byType: {} })
    const s = JSON.parse((await cli('stats', '--json', ctx.url, '--account', account, ...flags)).stdout)
    expect(s).toMatchObject({ hasCreds: true, registered: true })
    expect(Object.values(s.byType).reduce((n, c) => n + c.keys, 0)).toBe(total)
    const listed = JSON.parse((await cli('stats', '--json', ctx.url, ...flags)).stdout)
    expect(listed.accounts.map((a) => a.account)).toEqual([account])
    expect((await cli('verify', ctx.url, '--account', account, ...flags)).code).toBe(0)
    const back = path.join(tmp('schema-back'), 'auth')
    expect((await cli('migrate', ctx.url, back, '--account', account, ...flags)).code).toBe(0)
    expect(filesOf(back)).toEqual(filesOf(src))
  })
})

// ---------------------------------------------------------------- the password

describe('the password', () => {
  let odd // { url, password }
  beforeAll(async () => {
    const password = 'Sekr3t/p@ss:w?rd&x=y%z#q'
    extraSecrets.push(password, encodeURIComponent(password), 'Sekr3t')
    await ctx.pg.psql(`CREATE ROLE cli_odd LOGIN SUPERUSER PASSWORD '${password}'`)
    odd = { password, url: `postgres://cli_odd:${encodeURIComponent(password)}@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}` }
  })

  test('never printed: every command, success or failure, text or --json, URL userinfo or ?password=; the label is postgres://user:***@host:port/db', async () => {
    const account = accountName('pw')
    const masked = `postgres://cli_odd:***@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}`
    const m = await cli('migrate', src, odd.url, '--account', account)
    expect(m.code).toBe(0)
    expect(m.stdout).toContain(`→ ${masked} account ${JSON.stringify(account)}\n`)
    const query = `postgres://cli_odd@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}?password=${encodeURIComponent(odd.password)}`
    const q = await cli('stats', query, '--account', account)
    expect(q.code).toBe(0)
    expect(q.stdout).toContain(`account       postgres://cli_odd@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}?password=*** account ${JSON.stringify(account)}\n`)
    const wrongPw = `postgres://cli_odd:${encodeURIComponent('Sekr3tWRONG')}@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}`
    const cases = [
      ['stats', odd.url],
      ['stats', '--json', odd.url],
      ['stats', odd.url, '--account', account],
      ['verify', odd.url, '--account', account],
      ['verify', '--json', odd.url, '--account', account],
      ['migrate', '--json', odd.url, path.join(tmp('pw'), 'out'), '--account', account],
      ['migrate', src, odd.url, '--account', account], // EEXIST
      ['migrate', '--json', src, odd.url, '--account', account],
      ['migrate', odd.url, path.join(tmp('pw2'), 'out'), '--account', accountName('missing')], // ENOENT
      ['stats', wrongPw],
      ['stats', '--json', wrongPw, '--account', account],
      ['stats', odd.url.replace(`/${ctx.pg.database}`, '/no_such_db')],
      ['stats', '--json', odd.url.replace(`:${ctx.pg.port}/`, ':1/')],
      ['stats', `${odd.url}?sslmode=bogus`],
      ['stats', `${odd.url}?sslmode=require`],
      ['stats', odd.url.replace('postgres://', 'postgresql://')],
      ['migrate', odd.url, ctx.url, '--from-account', account, '--to-account', accountName('pw-to')],
      ['stats', odd.url, '--account', account, '--bogus'],
    ]
    for (const args of cases) {
      const r = await cli(...args) // cli() fails the test on any password in the output
      const all = r.stdout + r.stderr
      expect(all.length).toBeGreaterThan(0)
      if (all.includes('cli_odd:')) expect(all).toContain('cli_odd:***@')
    }
  })

  test('a password holding a raw "@" (the URL not percent-encoded, which the connection parser accepts) is masked whole', async () => {
    await ctx.pg.psql("CREATE ROLE cli_at LOGIN SUPERUSER PASSWORD 'open@sesame'")
    extraSecrets.push('sesame')
    const url = `postgres://cli_at:open@sesame@${ctx.pg.host}:${ctx.pg.port}/${ctx.pg.database}`
    const r = await cli('stats', url) // the output must hold no part of the password
    expect(r.code).toBe(0)
  })
})
