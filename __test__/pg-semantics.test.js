'use strict'
// Semantics of our PostgreSQL backend (`usePostgresAuthState`), checked on
// the tables themselves (read and tampered with through node-postgres, a
// client of its own, never through the store), on a throw-away server
// (support/pg-server.js) shared by the file's tests, which keep apart by
// account name or table prefix:
// - one `set` is one transaction across every type: a value that cannot be
//   stored (a throwing getter or toJSON, a BigInt, a cycle) rejects the call
//   and nothing of it reaches the tables; a call the server refuses, sent in
//   one group with others, fails alone;
// - falsy values delete; `list` / `listIds` page through a type in byte order
//   of the ids (on a database whose own collation is not bytewise); `clear`
//   empties the keys of its own account only and keeps the credentials;
// - `close()` waits for the calls issued before it (un-awaited ones too),
//   then every call rejects with code `EBAILEYSCLOSED`, and the lease is
//   released at once;
// - opening the account again in the process shares the open store; another
//   process is refused with `AuthFolderLockedError` (`pid`, `host`, `until`)
//   until the last close; a write after another process took the account
//   over rejects with `AuthLeaseLostError` and nothing of it lands;
// - a get issued after an un-awaited set sees it (per-key order);
// - a stored value that is not JSON reads as null with a `logger.warn`, and
//   its bytes are moved to the quarantine table; an unreadable creds row is
//   `AuthFileCorruptError`, the row left as it was;
// - `app-state-sync-key` with `proto` comes back as a true
//   `proto.Message.AppStateSyncKeyData`;
// - a `schema_version` this package does not know is refused, untouched; 8
//   processes creating the tables at once make one schema;
// - account names, types and ids are data, never SQL (fast-check);
// - no key bytes and no password in any error message or logger line.

const crypto = require('node:crypto')
const os = require('node:os')

const fc = require('fast-check')
const baileys = require('@whiskeysockets/baileys')
const { usePostgresAuthState, AuthFileCorruptError, encodeAuthValue } = require('..')

const T = require('./support/sqlite-tools.js') // storeTracker, recordingLogger, asStored: no SQLite involved
const { POSIX, onlyIf, leaseHost } = require('./support/platform.js')
const P = require('./support/pg-tools.js')
const { spawnOwner } = require('./support/pg-child-driver.js')

const { proto, BufferJSON } = baileys
// (declared before the server: jest runs afterAll hooks in declaration
// order, so the stores close while the server still runs)
const { track } = T.storeTracker()
const ctx = P.pgSuite({ icu: true })
const open = track((account, options, connection) => usePostgresAuthState(connection === undefined ? ctx.url : connection, account, options))
const R = P.rowsOf(ctx)
const kp = () => baileys.Curve.generateKeyPair()
const rb = (n) => crypto.randomBytes(n)
const { rejection, collect, accountName } = P

/** An Error of any realm (the addon's errors are of Node's main realm, not jest's). */
const isError = (e) => Object.prototype.toString.call(e) === '[object Error]'

/** A rejection that says what it is: an Error with a message and an `E…` code. */
function expectClean(e, what) {
  expect({ what, isError: isError(e), code: typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code), message: typeof e?.message === 'string' && e.message.length > 0 }).toEqual({
    what,
    isError: true,
    code: true,
    message: true,
  })
}

/** `data[type][id] = value` as own enumerable properties, whatever the names (`__proto__` too). */
function setData(entries) {
  const data = {}
  for (const [type, id, value] of entries) {
    if (!Object.prototype.hasOwnProperty.call(data, type)) Object.defineProperty(data, type, { value: {}, enumerable: true })
    Object.defineProperty(data[type], id, { value, enumerable: true, configurable: true })
  }
  return data
}

/** What Baileys' helper would read back for a value: a trip through its file. */
const roundTrip = (v) => JSON.parse(JSON.stringify(v, BufferJSON.replacer), BufferJSON.reviver)

// ---------------------------------------------------------------- one transaction per set

describe('a set is all-or-nothing across types', () => {
  test('a throwing getter, a throwing toJSON, a BigInt or a cycle anywhere in the call: it rejects and nothing of it is in the tables', async () => {
    const acc = accountName('atomic')
    const other = accountName('atomic-other')
    const s = await open(acc)
    const o = await open(other)
    const { keys } = s.state
    await o.state.keys.set({ 'pre-key': { 1: kp() }, 'sender-key': { g: rb(16) } })
    await keys.set({ 'pre-key': { 1: kp(), 2: kp() }, session: { a: rb(64) }, 'sender-key': { g: rb(16) } })
    await s.saveCreds()
    const before = await R.snapshot(acc)
    const otherBefore = await R.snapshot(other)
    expect(before.keys).toHaveLength(4)
    expect(before.creds).toHaveLength(1)

    const poisons = [
      ['a getter that throws', () => ({ ok: 1, get boom() { throw new Error('getter boom') } }), (e) => expect(e.message).toBe('getter boom')],
      ['a toJSON that throws', () => ({ toJSON() { throw new RangeError('toJSON boom') } }), (e) => expect(e).toBeInstanceOf(RangeError)],
      ['a BigInt', () => ({ n: 1n }), (e) => expect(e.name).toBe('TypeError')],
      ['a nested BigInt in an array', () => [1, [2, [3n]]], (e) => expect(e.name).toBe('TypeError')],
      ['a cycle', () => { const x = { a: {} }; x.a.o = x; return x }, (e) => expect(e.name).toBe('TypeError')], // prettier-ignore
      ['a function (JSON.stringify gives undefined)', () => () => 1, (e) => expect(e.name).toBe('TypeError')],
    ]
    for (const [label, poison, check] of poisons) {
      // deletes, an overwrite and new keys in every type, the poison first or last
      for (const where of ['first', 'last']) {
        const good = { 'pre-key': { 1: null, 2: kp(), 3: kp() }, session: { a: null, b: rb(8) }, 'brand-new': { x: 1 } }
        const data = where === 'first' ? { 'sender-key': { g: poison() }, ...good } : { ...good, 'sender-key': { g: poison() } }
        const e = await rejection(keys.set(data))
        expect({ label, where, rejected: e !== null }).toEqual({ label, where, rejected: true })
        check(e)
        expect({ label, where, tables: await R.snapshot(acc) }).toEqual({ label, where, tables: before })
      }
    }
    // the store is fine afterwards, and a good call beside a rejected one is applied whole
    const pending = keys.set({ 'pre-key': { 9: kp() }, session: { c: rb(4) } })
    await expect(keys.set({ 'pre-key': { 10: kp() }, session: { d: { n: 2n } } })).rejects.toMatchObject({ name: 'TypeError' })
    await pending
    const ids = (await R.keyRows(acc)).map((r) => `${r.type}/${r.id}`)
    expect(ids).toEqual(['pre-key/1', 'pre-key/2', 'pre-key/9', 'sender-key/g', 'session/a', 'session/c'])
    expect(await R.snapshot(other)).toEqual(otherBefore)
  })

  test('a call the server refuses (an id PostgreSQL text cannot hold), issued in one burst with good calls: it fails alone, nothing of it lands, the others commit', async () => {
    const acc = accountName('group')
    const s = await open(acc)
    const { keys } = s.state
    await keys.set({ 'pre-key': { 1: kp() } })
    const committed = s.counters().committedCalls
    // none awaited: they reach the backend together
    const calls = [
      keys.set({ t: { g1: 1 } }),
      keys.set({ t: { bad1: 1, 'bad\u0000id': 2 }, 'pre-key': { 1: null } }),
      keys.set({ t: { g2: 2 }, 'pre-key': { 2: kp() } }),
      s.saveCreds(),
      keys.set({ 'te\u0000st': { x: 1 }, t: { bad2: 1 } }),
      keys.set({ t: { g3: 3 } }),
    ]
    const settled = await Promise.allSettled(calls)
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    for (const r of settled.filter((x) => x.status === 'rejected')) expectClean(r.reason, 'refused call')
    const rows = await R.keyRows(acc)
    expect(rows.map((r) => `${r.type}/${r.id}`)).toEqual(['pre-key/1', 'pre-key/2', 't/g1', 't/g2', 't/g3'])
    expect(rows.slice(2).map((r) => r.value.toString())).toEqual(['1', '2', '3'])
    expect(await R.credsBytes(acc)).toBeDefined()
    expect(s.counters().committedCalls - committed).toBe(4)
    // and the store goes on
    await keys.set({ t: { g4: 4 } })
    expect(await keys.get('t', ['g1', 'bad1', 'g4'])).toEqual({ g1: 1, bad1: null, g4: 4 })
  })
})

test('falsy values delete (null, undefined, 0, -0, "", false, NaN, 0n); truthy ones are stored as JSON.stringify gives them', async () => {
  const acc = accountName('falsy')
  const s = await open(acc)
  const falsy = { a: null, b: undefined, c: 0, d: -0, e: '', f: false, g: NaN, h: 0n }
  const ids = Object.keys(falsy)
  await s.state.keys.set({ t: Object.fromEntries(ids.map((id) => [id, { v: id }])) })
  expect(await R.keyRows(acc)).toHaveLength(ids.length)
  await s.state.keys.set({ t: falsy, other: { never: null } })
  expect(await R.keyRows(acc)).toEqual([])
  expect(Object.values(await s.state.keys.get('t', ids))).toEqual(ids.map(() => null))
  // truthy edge cases are values, not deletes
  await s.state.keys.set({ t: { s0: '0', arr: [], obj: {}, one: 1n > 0n, neg: -1, inf: Infinity } })
  expect((await R.keyRows(acc)).map((r) => [r.id, r.value.toString()])).toEqual([
    ['arr', '[]'],
    ['inf', 'null'],
    ['neg', '-1'],
    ['obj', '{}'],
    ['one', 'true'],
    ['s0', '"0"'],
  ])
  expect(await s.state.keys.get('t', ['s0', 'inf'])).toEqual({ s0: '0', inf: null })
})

test('few round trips (counters): a get of 812 ids is one, a set of 812 keys (puts and deletes) is one, a saveCreds is one', async () => {
  // (a long lease: no heartbeat renewal, itself a round trip, falls inside a measurement)
  const s = await open(accountName('trips'), { leaseTtlMs: 3600000 })
  const ids = Array.from({ length: 812 }, (_, i) => String(i + 1))
  const trips = async (call) => {
    const before = s.counters().roundTrips
    await call()
    return s.counters().roundTrips - before
  }
  expect(await trips(() => s.state.keys.set({ 'pre-key': Object.fromEntries(ids.map((id) => [id, kp()])) }))).toBe(1)
  expect(await trips(() => s.state.keys.get('pre-key', ids))).toBe(1)
  expect(await trips(() => s.state.keys.set({ 'pre-key': Object.fromEntries(ids.map((id, i) => [id, i % 2 ? null : { i }])), session: { a: rb(8) } }))).toBe(1)
  expect(await trips(() => s.saveCreds())).toBe(1)
  // and they did what they say
  const got = await s.state.keys.get('pre-key', ids)
  expect(Object.values(got).filter((v) => v === null)).toHaveLength(406)
  expect(got['813']).toBeUndefined()
  expect(got['3']).toEqual({ i: 2 })
})

// ---------------------------------------------------------------- listing, clear

describe('list, listIds and clear', () => {
  // Ids whose byte order differs from any language's: case, accents, symbols,
  // astral characters, prefixes of each other, a lone surrogate (stored as
  // U+FFFD, as in any UTF-8 text).
  const SEEDS = ['a', 'B', 'é', 'Z', '_', '😀', '\u00ff', '\uffff', 'ß', 'Ω', 'İ', '中', '~', ' ', 'A', 'b', 'a b', 'aB', 'ab', '\ud800', 'e\u0301', '-', '.']
  const idsOf = (n, tag) => Array.from({ length: n }, (_, i) => `${SEEDS[i % SEEDS.length]}${tag}${i % 7 === 0 ? '' : String(i)}${i % 7 === 0 ? String(i).split('').reverse().join('') : ''}`)

  test('list and listIds page through a type in byte order of the ids (more than one page, on a database whose collation is not bytewise)', async () => {
    const RI = P.rowsOf(ctx, { database: ctx.icuDb })
    const acc = accountName('list')
    const s = await open(acc, { proto }, ctx.icuUrl)
    const { keys } = s.state
    const session = {}
    for (const id of idsOf(600, 's')) session[id] = rb(8)
    const exactly = {}
    for (const id of idsOf(512, 'x')) exactly[id] = 1 // two full pages of 256
    const oneMore = {}
    for (const id of idsOf(257, 'y')) oneMore[id] = 1
    const ask = proto.Message.AppStateSyncKeyData.fromObject({ keyData: rb(32), fingerprint: { rawId: 1, currentIndex: 2, deviceIndexes: [0, 1] }, timestamp: Date.now() })
    await keys.set({ session, exact: exactly, 'one-more': oneMore, 'pre-key': { 2: kp(), 10: kp(), 1: kp() }, 'app-state-sync-key': { 'AAAA/w==': ask } })
    s.state.creds.me = { id: '5511987654321:12@s.whatsapp.net' }
    await s.saveCreds()

    const expected = (o) => [...new Set(Object.keys(o).map(T.asStored))].sort(P.bytewise)
    expect(expected(session)).toHaveLength(600)
    // the database's own order is another one: the test can tell
    const icuOrder = (await ctx.query(`SELECT id FROM baileys_keys WHERE account = $1 AND type = 'session' ORDER BY id COLLATE "default"`, [acc], { database: ctx.icuDb })).map((r) => r.id)
    expect(icuOrder).toHaveLength(600)
    expect(icuOrder).not.toEqual(expected(session))

    expect(await collect(keys.listIds('session'))).toEqual(expected(session))
    expect(await collect(keys.listIds('exact'))).toEqual(expected(exactly))
    expect(await collect(keys.listIds('one-more'))).toEqual(expected(oneMore))
    expect(await collect(keys.listIds('pre-key'))).toEqual(['1', '10', '2']) // text order
    expect(await collect(keys.listIds('nothing-here'))).toEqual([])
    const entries = await collect(keys.list('session'))
    expect(entries.map(([id]) => id)).toEqual(expected(session))
    const byStored = new Map(Object.entries(session).map(([id, v]) => [T.asStored(id), v]))
    expect(entries.every(([id, v]) => Buffer.isBuffer(v) && v.equals(byStored.get(id)))).toBe(true)
    const [[askId, askValue]] = await collect(keys.list('app-state-sync-key'))
    expect(askId).toBe('AAAA/w==')
    expect(askValue).toBeInstanceOf(proto.Message.AppStateSyncKeyData)

    const credsBefore = await RI.credsBytes(acc)
    await keys.clear()
    expect(await RI.keyRows(acc)).toEqual([])
    expect((await RI.credsBytes(acc)).equals(credsBefore)).toBe(true)
    expect(await collect(keys.listIds('session'))).toEqual([])
    expect(await keys.get('pre-key', [1, 2])).toEqual({ 1: null, 2: null })
    await keys.set({ 'pre-key': { 5: kp() } })
    expect(await collect(keys.listIds('pre-key'))).toEqual(['5'])
    await s.close()
    const again = await open(acc, undefined, ctx.icuUrl)
    expect(again.state.creds.me).toEqual({ id: '5511987654321:12@s.whatsapp.net' })
  })

  test('clear empties its own account only: accounts named alike (a prefix, another case, a LIKE pattern) in the same tables are untouched', async () => {
    const base = accountName('clear')
    const names = [base, `${base}2`, base.toUpperCase(), `${base}%`, `${base.slice(0, -1)}_`, ` ${base}`]
    const stores = []
    for (const name of names) {
      const s = await open(name)
      await s.state.keys.set({ 'pre-key': { 1: kp(), 2: kp() }, session: { [base]: rb(16) }, 'sender-key-memory': { g: { a: true } } })
      s.state.creds.me = { id: `${name}@s.whatsapp.net` }
      await s.saveCreds()
      stores.push(s)
    }
    const before = await Promise.all(names.map((n) => R.snapshot(n)))
    const leases = await Promise.all(names.map((n) => R.lease(n)))
    await stores[0].state.keys.clear()
    const after = await Promise.all(names.map((n) => R.snapshot(n)))
    expect(after[0].keys).toEqual([])
    expect(after[0].creds).toEqual(before[0].creds)
    expect(after.slice(1)).toEqual(before.slice(1))
    const leasesAfter = await Promise.all(names.map((n) => R.lease(n)))
    expect(leasesAfter.map((l) => [l.token, l.owner_id, l.live])).toEqual(leases.map((l) => [l.token, l.owner_id, true]))
    // the others still read their own
    for (const s of stores.slice(1)) expect(Object.values(await s.state.keys.get('pre-key', [1, 2])).every((v) => Buffer.isBuffer(v?.public))).toBe(true)
  })

  // As in sqlite-semantics.test.js: an answer keyed by id cannot hold an own
  // `__proto__` value; list() reads each page as an array.
  test('list() yields the stored value for an id "__proto__" holding a primitive (number, string, boolean)', async () => {
    const s = await open(accountName('list-proto'))
    const data = setData(
      [['n', 1], ['s', 'text'], ['b', true], ['o', { a: 1 }]].flatMap(([type, value]) => [
        [type, '__proto__', value],
        [type, 'x', 2],
      ]),
    )
    await s.state.keys.set(data)
    const listed = {}
    const isObjectPrototype = (v) => v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, 'hasOwnProperty')
    for (const type of ['n', 's', 'b', 'o']) {
      expect(await collect(s.state.keys.listIds(type))).toEqual(['__proto__', 'x'])
      listed[type] = (await collect(s.state.keys.list(type))).map(([id, v]) => [id, isObjectPrototype(v) ? '<Object.prototype>' : v])
    }
    expect(listed).toEqual({
      n: [['__proto__', 1], ['x', 2]],
      s: [['__proto__', 'text'], ['x', 2]],
      b: [['__proto__', true], ['x', 2]],
      o: [['__proto__', { a: 1 }], ['x', 2]],
    })
  })
})

// ---------------------------------------------------------------- close, sharing, owners

describe('close()', () => {
  test('waits for the calls issued before it, un-awaited ones too; then every call rejects with EBAILEYSCLOSED, and the lease is released at once', async () => {
    const acc = accountName('close')
    const s = await open(acc)
    const { keys } = s.state
    const token = s.counters().token
    expect((await R.lease(acc)).token).toBe(String(token))
    const pending = []
    const written = {}
    for (let i = 0; i < 40; i++) {
      written[i] = rb(32)
      pending.push(keys.set({ session: { [i]: written[i] }, 'pre-key': { [i]: i % 2 ? kp() : null } }))
    }
    s.state.creds.accountSyncCounter = 42
    pending.push(s.saveCreds())
    pending.push(keys.set({ session: { 0: null } }))
    const early = keys.get('session', ['1', '0'])
    pending.push(early)
    const closing = s.close() // none of the above awaited
    const late = rejection(keys.get('session', ['1']))
    await closing
    const settled = await Promise.allSettled(pending)
    expect(settled.map((r) => r.status)).toEqual(pending.map(() => 'fulfilled'))
    const seen = await early // issued after the writes, before close: it saw them
    expect(seen['0']).toBeNull()
    expect(Buffer.isBuffer(seen['1']) && seen['1'].equals(written[1])).toBe(true)
    expect(await late).toMatchObject({ code: 'EBAILEYSCLOSED' })

    const rows = await R.keyRows(acc)
    expect(rows.filter((r) => r.type === 'session')).toHaveLength(39)
    expect(rows.filter((r) => r.type === 'pre-key')).toHaveLength(20)
    for (const r of rows.filter((x) => x.type === 'session')) expect(r.value.toString()).toBe(JSON.stringify(written[r.id], BufferJSON.replacer))
    expect(JSON.parse(await R.credsBytes(acc)).accountSyncCounter).toBe(42)
    // every write committed once; the token is the lease's
    const c = s.counters()
    expect(Object.keys(c).sort()).toEqual(['committedCalls', 'groups', 'largestGroup', 'renewals', 'roundTrips', 'token'])
    expect(c.committedCalls).toBe(42)
    expect(c.token).toBe(token)
    expect(c.groups).toBeGreaterThanOrEqual(1)
    expect(c.groups).toBeLessThanOrEqual(42)
    expect(c.roundTrips).toBeGreaterThanOrEqual(c.groups)

    // released: the row says so, and another process takes the account at once
    const lease = await R.lease(acc)
    expect(lease.expires_text).toBe('-infinity')
    expect(lease.token).toBe(String(token))

    const calls = {
      get: () => keys.get('session', ['1']),
      set: () => keys.set({ session: { 1: null } }),
      saveCreds: () => s.saveCreds(),
      clear: () => keys.clear(),
      listIds: () => keys.listIds('session').next(),
      list: () => keys.list('session').next(),
    }
    for (const [name, call] of Object.entries(calls)) {
      const e = await rejection(call)
      expect({ name, code: e && e.code, error: e && e.name, message: e && e.message }).toEqual({ name, code: 'EBAILEYSCLOSED', error: 'Error', message: 'the auth store is closed' })
    }
    expect(await R.keyRows(acc)).toHaveLength(59)
    await expect(s.close()).resolves.toBeUndefined()
    expect(await P.openInChild(ctx.url, acc)).toEqual({ ok: true })
    expect(Number((await R.lease(acc)).token)).toBe(token + 1)
  })

  test('opening the account again while its close is still running gets a working store with every write', async () => {
    const acc = accountName('reopen-closing')
    const s = await open(acc)
    const writes = []
    for (let i = 0; i < 50; i++) writes.push(s.state.keys.set({ t: { [i]: { i } } }))
    const closing = s.close()
    const [again] = await Promise.all([open(acc), closing, ...writes])
    const got = await again.state.keys.get('t', Array.from({ length: 50 }, (_, i) => i))
    expect(Object.entries(got).map(([id, v]) => [id, v && v.i])).toEqual(Array.from({ length: 50 }, (_, i) => [String(i), i]))
    await again.state.keys.set({ t: { 50: { i: 50 } } })
    expect(await R.keyRows(acc)).toHaveLength(51)
    expect((await R.lease(acc)).live).toBe(true)
  })
})

describe('one owner per account', () => {
  test('the account opened again in the process shares the store; another process is refused (pid, host, until) until the last close', async () => {
    const acc = accountName('shared')
    const s1 = await open(acc)
    const s2 = await open(acc)
    const k = kp()
    // an un-awaited set through one is seen by a get through the other
    const w = s1.state.keys.set({ 'pre-key': { 1: k } })
    expect((await s2.state.keys.get('pre-key', [1]))[1]).toEqual(k)
    await w
    expect(s2.state.creds).not.toBe(s1.state.creds) // each handle has its own creds object
    expect(s2.counters().token).toBe(s1.counters().token)

    const t0 = Date.now()
    const refused = await P.inChild('await ours.usePostgresAuthState(args.url, args.acc)', { url: ctx.url, acc })
    expect(refused.error).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: process.pid, host: leaseHost() })
    // until: the lease's end, by the server's clock (the default lease is 15 s)
    const lease = await R.lease(acc)
    expect(refused.error.until).toBeGreaterThan(t0)
    expect(Math.abs(refused.error.until - lease.expires_ms)).toBeLessThan(16000)
    expect(lease.owner_pid).toBe(process.pid)
    expect(lease.owner_host).toBe(leaseHost())

    await s1.close()
    await expect(s1.state.keys.get('pre-key', [1])).rejects.toMatchObject({ code: 'EBAILEYSCLOSED' })
    expect((await s2.state.keys.get('pre-key', [1]))[1]).toEqual(k) // the other still works
    await s2.state.keys.set({ 'pre-key': { 2: k } })
    expect(await P.openInChild(ctx.url, acc)).toEqual({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED' }) // s2 still holds it
    await s2.close()
    expect(await P.openInChild(ctx.url, acc)).toEqual({ ok: true })
    const s3 = await open(acc)
    expect(Object.keys(await s3.state.keys.get('pre-key', [1, 2]))).toEqual(['1', '2'])
    expect((await s3.state.keys.get('pre-key', [2]))[2]).toEqual(k)
  })

  test('every connection form reaches the same account: a URL, key=value, the object form, and the PG* variables (another process)', async () => {
    const acc = accountName('forms')
    const { pg } = ctx
    const s = await open(acc, undefined, `host=${pg.host} port=${pg.port} user=${pg.user} password='${pg.password}' dbname=${pg.database}`)
    await s.state.keys.set({ t: { kv: 'key=value' } })
    await s.close()
    const o = await open(acc, undefined, { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database })
    expect(await o.state.keys.get('t', ['kv'])).toEqual({ kv: 'key=value' })
    await o.state.keys.set({ t: { obj: 'object' } })
    await o.close()
    const env = { ...process.env, PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGPASSWORD: pg.password, PGDATABASE: pg.database }
    const viaEnv = await P.inChild(
      `const s = await ours.usePostgresAuthState(undefined, args.acc)
       const got = await s.state.keys.get('t', ['kv', 'obj'])
       await s.state.keys.set({ t: { env: 'env' } })
       await s.close()
       return got`,
      { acc },
      { env },
    )
    expect(viaEnv).toEqual({ kv: 'key=value', obj: 'object' })
    const u = await open(acc, undefined, ctx.url)
    expect(await u.state.keys.get('t', ['kv', 'obj', 'env'])).toEqual({ kv: 'key=value', obj: 'object', env: 'env' })
  })

  // The SQLite store shares an open file whatever the path's spelling; here a
  // process that opens its own account with another spelling of the same
  // connection is refused as if another process owned it (its own pid).
  test('the account opened again in the process through another spelling of the same connection shares the store too', async () => {
    const acc = accountName('spelling')
    const { pg } = ctx
    const s = await open(acc, undefined, ctx.url)
    await s.state.keys.set({ t: { a: 1 } })
    const spellings = {
      'key=value': `host=${pg.host} port=${pg.port} user=${pg.user} password=${pg.password} dbname=${pg.database}`,
      object: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database },
      'URL with sslmode=disable': `${ctx.url}?sslmode=disable`,
    }
    const outcomes = {}
    for (const [label, connection] of Object.entries(spellings)) {
      const r = await usePostgresAuthState(connection, acc).then(
        async (o) => {
          const got = await o.state.keys.get('t', ['a'])
          await o.close()
          return got.a === 1 ? 'shared' : 'opened, but without the open store'
        },
        (e) => `refused: ${e.code} (pid ${e.pid === process.pid ? 'of this very process' : e.pid})`,
      )
      outcomes[label] = r
    }
    expect(outcomes).toEqual({ 'key=value': 'shared', object: 'shared', 'URL with sslmode=disable': 'shared' })
  })
})

// ---------------------------------------------------------------- order

test('per-key order: a get issued after un-awaited sets and deletes sees them, through one handle or two of the same account (fast-check)', async () => {
  const acc = accountName('order')
  const h1 = await open(acc)
  const h2 = await open(acc)
  const IDS = ['a', 'b', 'c', 'd']
  const opArb = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('set'), via: fc.nat(1), writes: fc.dictionary(fc.constantFrom(...IDS), fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(null)), { minKeys: 1 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get'), via: fc.nat(1), ids: fc.subarray(IDS, { minLength: 1 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear'), via: fc.nat(1) }) },
  )
  let run = 0
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const type = `t${run++}`
      const model = new Map()
      const expected = []
      const pending = []
      const gets = []
      // the clear empties every type of the account: give each run its own model
      for (const x of ops) {
        const { keys } = (x.via ? h2 : h1).state
        if (x.op === 'set') {
          for (const [id, v] of Object.entries(x.writes)) v === null ? model.delete(id) : model.set(id, v)
          pending.push(keys.set({ [type]: x.writes }))
        } else if (x.op === 'clear') {
          model.clear()
          pending.push(keys.clear())
        } else {
          expected.push(Object.fromEntries(x.ids.map((id) => [id, model.has(id) ? model.get(id) : null])))
          gets.push(keys.get(type, x.ids))
        }
      }
      expect(await Promise.all(gets)).toEqual(expected)
      await Promise.all(pending)
      const rows = (await R.keyRows(acc)).filter((r) => r.type === type)
      expect(rows.map((r) => [r.id, Number(r.value)])).toEqual([...model.entries()].sort(([a], [b]) => P.bytewise(a, b)))
    }),
    { numRuns: 40 },
  )
})

// ---------------------------------------------------------------- damaged values and creds

describe('damaged values and creds', () => {
  test('a stored value that is not JSON reads as null with a logger.warn; its bytes go to the quarantine table and the key heals', async () => {
    const acc = accountName('corrupt')
    const other = accountName('corrupt-other')
    const s = await open(acc)
    await s.state.keys.set({ 'pre-key': { 1: kp(), 2: kp(), 3: kp() }, session: { s: rb(16), t: rb(16), u: rb(16), v: rb(16) } })
    await s.close()
    const o = await open(other)
    await o.state.keys.set({ 'pre-key': { 2: kp() }, session: { s: rb(16) } })
    await o.close()
    const otherBefore = await R.snapshot(other)
    const bad = {
      'pre-key/2': Buffer.from('{"torn":'),
      'session/s': Buffer.from('\ufeff{}'), // a byte order mark: not JSON
      'session/t': Buffer.alloc(0),
      'session/u': Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]), // not even UTF-8, a NUL inside
      'session/v': Buffer.from('{"a":1}garbage'),
    }
    for (const [key, bytes] of Object.entries(bad)) {
      const [type, id] = key.split('/')
      const r = await ctx.query(`UPDATE baileys_keys SET value = $4 WHERE account = $1 AND type = $2 AND id = $3 RETURNING 1`, [acc, type, id, bytes])
      expect(r).toHaveLength(1)
    }
    expect(await R.quarantineRows(acc)).toEqual([])

    const { logger, warnings } = T.recordingLogger()
    const t0 = Date.now()
    const d = await open(acc, { logger })
    const pre = await d.state.keys.get('pre-key', [1, 2, 3])
    const ses = await d.state.keys.get('session', ['s', 't', 'u'])
    expect(pre[2]).toBeNull()
    expect(Buffer.isBuffer(pre[1].public) && Buffer.isBuffer(pre[3].public)).toBe(true)
    expect(ses).toEqual({ s: null, t: null, u: null })
    // list() skips the one it finds, with the same warning
    expect(await collect(d.state.keys.list('session'))).toEqual([])
    expect(warnings).toHaveLength(5)
    const text = warnings.map((w) => w.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')).join('\n')
    expect(text).toMatch(/pre-key/)
    expect(text).toMatch(/"2"/)
    expect(text).toMatch(/"v"/)
    expect(text).toMatch(/corrupt/)
    await d.close() // waits for the quarantine writes

    // moved aside, bytes kept exactly; the good rows untouched
    expect((await R.keyRows(acc)).map((r) => `${r.type}/${r.id}`)).toEqual(['pre-key/1', 'pre-key/3'])
    const aside = await R.quarantineRows(acc)
    expect(aside.map((r) => [`${r.type}/${r.id}`, r.value.toString('hex')])).toEqual(
      Object.entries(bad)
        .sort(([a], [b]) => P.bytewise(a, b))
        .map(([k, v]) => [k, v.toString('hex')]),
    )
    for (const r of aside) {
      expect(typeof r.reason).toBe('string')
      expect(r.reason.length).toBeGreaterThan(0)
      expect(r.at.getTime()).toBeGreaterThanOrEqual(t0 - 60000)
      expect(r.at.getTime()).toBeLessThanOrEqual(Date.now() + 60000)
    }
    console.log(`quarantine rows as observed:\n${aside.map((r) => `  ${r.type}/${r.id} ${r.value.toString('hex')} reason=${JSON.stringify(r.reason)}`).join('\n')}\nwarnings:\n  ${text.split('\n').join('\n  ')}`)
    expect(await R.snapshot(other)).toEqual(otherBefore)

    // healed: a plain miss now, no warning; the key can be written again
    const { logger: quiet, warnings: none } = T.recordingLogger()
    const again = await open(acc, { logger: quiet })
    expect(await again.state.keys.get('pre-key', [2])).toEqual({ 2: null })
    expect(none).toEqual([])
    const k = kp()
    await again.state.keys.set({ 'pre-key': { 2: k } })
    expect((await again.state.keys.get('pre-key', [2]))[2]).toEqual(k)
  })

  test('a creds row that cannot be read is AuthFileCorruptError, never fresh credentials; the row is left as it was and the lease released', async () => {
    for (const [label, bytes] of [
      ['torn JSON', Buffer.from('{"noiseKey":')],
      ['not UTF-8', Buffer.from([0xff, 0x00, 0x7b])],
      ['empty', Buffer.alloc(0)],
    ]) {
      const acc = accountName('creds')
      const s = await open(acc)
      await s.state.keys.set({ 'pre-key': { 1: kp() } })
      await s.saveCreds()
      await s.close()
      await ctx.query('UPDATE baileys_creds SET value = $2 WHERE account = $1', [acc, bytes])
      const before = await R.snapshot(acc)
      const e = await rejection(open(acc))
      expect({ label, corrupt: e instanceof AuthFileCorruptError, code: e?.code }).toEqual({ label, corrupt: true, code: 'EBAILEYSCORRUPT' })
      expect(await R.snapshot(acc)).toEqual(before)
      expect((await R.credsBytes(acc)).equals(bytes)).toBe(true)
      // the failed open did not keep the account: another process gets the same answer, not a lock
      expect((await R.lease(acc)).live).toBe(false)
      expect(await P.openInChild(ctx.url, acc)).toEqual({ name: 'AuthFileCorruptError', code: 'EBAILEYSCORRUPT' })
    }
  })
})

test('app-state-sync-key with proto: a true proto.Message.AppStateSyncKeyData (get and list); without proto an equal plain object', async () => {
  const acc = accountName('ask')
  const original = proto.Message.AppStateSyncKeyData.fromObject({
    keyData: rb(32),
    fingerprint: { rawId: 7, currentIndex: 3, deviceIndexes: [0, 1, 5] },
    timestamp: 1732000123456,
  })
  const s = await open(acc, { proto })
  await s.state.keys.set({ 'app-state-sync-key': { 'AAAAAFbC/w==': original } })
  expect((await R.row(acc, 'app-state-sync-key', 'AAAAAFbC/w==')).toString()).toBe(JSON.stringify(original, BufferJSON.replacer))
  await s.close()

  const o = await open(acc, { proto })
  const { 'AAAAAFbC/w==': got } = await o.state.keys.get('app-state-sync-key', ['AAAAAFbC/w=='])
  expect(got).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
  expect(got.fingerprint).toBeInstanceOf(proto.Message.AppStateSyncKeyFingerprint)
  expect(Buffer.isBuffer(got.keyData)).toBe(true)
  expect(got.keyData.equals(original.keyData)).toBe(true)
  expect(got.timestamp.toString()).toBe('1732000123456') // a Long
  expect(got.toJSON()).toEqual(original.toJSON())
  expect(Buffer.from(proto.Message.AppStateSyncKeyData.encode(got).finish()).equals(Buffer.from(proto.Message.AppStateSyncKeyData.encode(original).finish()))).toBe(true)
  const listed = await collect(o.state.keys.list('app-state-sync-key'))
  expect(listed[0][1]).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
  await o.close()

  const plain = await open(acc)
  const { 'AAAAAFbC/w==': p } = await plain.state.keys.get('app-state-sync-key', ['AAAAAFbC/w=='])
  expect(p).not.toBeInstanceOf(proto.Message.AppStateSyncKeyData)
  expect(Buffer.isBuffer(p.keyData)).toBe(true)
  expect(proto.Message.AppStateSyncKeyData.fromObject(p).toJSON()).toEqual(original.toJSON())
})

// ---------------------------------------------------------------- the schema

const prefixOf = (tag) => `${tag}_${crypto.randomBytes(3).toString('hex')}_`
/** The tables whose names start with `prefix`, in any schema, with their schema. */
const tablesNamed = async (prefix) =>
  (await ctx.query(`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE starts_with(table_name, $1) ORDER BY 1`, [prefix])).map((r) => r.t)

describe('the schema', () => {
  test('a schema_version this package does not know (99, or not a number): open rejects and nothing is changed', async () => {
    for (const [version, code] of [
      ['99', 'EBAILEYSVERSION'],
      ['2', 'EBAILEYSVERSION'],
      ['abc', 'EBAILEYSCORRUPT'],
    ]) {
      const prefix = prefixOf('ver')
      await ctx.query(`CREATE TABLE ${prefix}meta (name text PRIMARY KEY, value text NOT NULL)`)
      await ctx.query(`INSERT INTO ${prefix}meta VALUES ('schema_version', $1), ('left', 'alone')`, [version])
      const e = await rejection(open(accountName('ver'), { tablePrefix: prefix }))
      expect({ version, code: e?.code }).toEqual({ version, code })
      expect(await tablesNamed(prefix)).toEqual([`public.${prefix}meta`])
      expect(await ctx.query(`SELECT name, value FROM ${prefix}meta ORDER BY name`)).toEqual([
        { name: 'left', value: 'alone' },
        { name: 'schema_version', value: version },
      ])
      // another process: the same
      expect(await P.openInChild(ctx.url, 'x', { tablePrefix: prefix })).toMatchObject({ code })
    }
  })

  test('tables of this version bumped to 99 by a newer package: a new process refuses them, rows untouched', async () => {
    const prefix = prefixOf('bump')
    const acc = accountName('bump')
    const s = await open(acc, { tablePrefix: prefix })
    await s.state.keys.set({ t: { a: 1 } })
    await s.saveCreds()
    await s.close()
    expect(await ctx.query(`SELECT name, value FROM ${prefix}meta`)).toEqual([{ name: 'schema_version', value: '1' }])
    await ctx.query(`UPDATE ${prefix}meta SET value = '99' WHERE name = 'schema_version'`)
    const R2 = P.rowsOf(ctx, { prefix })
    const before = await R2.snapshot(acc)
    expect(await P.openInChild(ctx.url, acc, { tablePrefix: prefix })).toEqual({ name: 'Error', code: 'EBAILEYSVERSION' })
    expect(await R2.snapshot(acc)).toEqual(before)
    expect((await R2.lease(acc)).expires_text).toBe('-infinity') // the lease was not taken
  })

  test('8 processes starting at once on a fresh prefix: no error, one schema (5 tables, one version row), every account written', async () => {
    const prefix = prefixOf('conc')
    const children = await Promise.all(Array.from({ length: 8 }, () => spawnOwner()))
    const accounts = children.map((_, i) => `conc-${i}`)
    try {
      // every child is up (its modules loaded): the opens go out together
      const results = await Promise.allSettled(
        children.map((c, i) =>
          c
            .call('open', { connection: ctx.url, account: accounts[i], options: { tablePrefix: prefix } })
            .then(() => c.call('set', { data: JSON.stringify({ t: { k: `v${i}` } }) }))
            .then(() => c.call('saveCreds', { patch: { me: { id: `${i}@s.whatsapp.net` } } }))
            .then(() => c.call('close')),
        ),
      )
      expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : `${r.reason.code}: ${r.reason.message}`))).toEqual(accounts.map(() => 'ok'))
    } finally {
      await Promise.all(children.map((c) => c.end()))
    }
    expect(await tablesNamed(prefix)).toEqual(['creds', 'keys', 'leases', 'meta', 'quarantine'].map((t) => `public.${prefix}${t}`))
    expect(await ctx.query(`SELECT name, value FROM ${prefix}meta`)).toEqual([{ name: 'schema_version', value: '1' }])
    const R2 = P.rowsOf(ctx, { prefix })
    for (const [i, acc] of accounts.entries()) {
      expect((await R2.keyRows(acc)).map((r) => [r.type, r.id, r.value.toString()])).toEqual([['t', 'k', `"v${i}"`]])
      expect(JSON.parse(await R2.credsBytes(acc)).me).toEqual({ id: `${i}@s.whatsapp.net` })
    }
  })

  test('8 processes opening the same account at once (tables not there yet): exactly one owns it, the others are refused naming it', async () => {
    const prefix = prefixOf('race')
    const children = await Promise.all(Array.from({ length: 8 }, () => spawnOwner()))
    try {
      const results = await Promise.allSettled(children.map((c) => c.call('open', { connection: ctx.url, account: 'the-one', options: { tablePrefix: prefix } })))
      const won = results.map((r, i) => [r, children[i]]).filter(([r]) => r.status === 'fulfilled')
      expect(won).toHaveLength(1)
      const [[, owner]] = won
      for (const r of results.filter((x) => x.status === 'rejected')) expect(r.reason).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: owner.pid, host: leaseHost() })
      const lease = await P.rowsOf(ctx, { prefix }).lease('the-one')
      expect(lease.owner_pid).toBe(owner.pid)
      expect(lease.token).toBe('1')
      // its close lets the next one in at once
      await owner.call('close')
      const next = children.find((c) => c !== owner)
      await expect(next.call('open', { connection: ctx.url, account: 'the-one', options: { tablePrefix: prefix } })).resolves.toEqual({ token: 2 })
      await next.call('close')
    } finally {
      await Promise.all(children.map((c) => c.end()))
    }
  })

  test('a schema of its own (schema option) keeps its tables apart; a prefix or schema that is not a plain identifier is refused before any SQL', async () => {
    const acc = accountName('schema')
    const schema = `tenant_${crypto.randomBytes(3).toString('hex')}`
    const s = await open(acc, { schema, tablePrefix: 'p_' })
    await s.state.keys.set({ t: { a: 'in the schema' } })
    await s.close()
    expect(await tablesNamed('p_')).toEqual(['creds', 'keys', 'leases', 'meta', 'quarantine'].map((t) => `${schema}.p_${t}`))
    expect(await ctx.query(`SELECT account, id, value FROM "${schema}".p_keys`)).toEqual([{ account: acc, id: 'a', value: Buffer.from('"in the schema"') }])
    expect(await R.keyRows(acc)).toEqual([])

    const before = await ctx.query(`SELECT count(*)::int AS n FROM information_schema.tables`)
    for (const [what, options] of [
      ['prefix with a quote', { tablePrefix: 'x"; DROP TABLE baileys_keys; --' }],
      ['prefix with a space', { tablePrefix: 'a b' }],
      ['prefix starting with a digit', { tablePrefix: '1x' }],
      ['schema with a quote', { schema: 'public"."x' }],
      ['empty schema', { schema: '' }],
      ['long prefix', { tablePrefix: 'p'.repeat(41) }],
    ]) {
      const e = await rejection(open(accountName('bad-ident'), options))
      expect({ what, name: e?.name, code: e?.code }).toEqual({ what, name: 'TypeError', code: 'EBAILEYSINVALID' })
    }
    expect(await ctx.query(`SELECT count(*)::int AS n FROM information_schema.tables`)).toEqual(before)
  })
})

// ---------------------------------------------------------------- names are data

const settle = (p) =>
  Promise.resolve()
    .then(() => (typeof p === 'function' ? p() : p))
    .then(
      (value) => ({ value }),
      (error) => ({ error }),
    )
const hasNul = (s) => T.asStored(s).includes('\u0000')
const bytesOf = (s) => Buffer.byteLength(T.asStored(s))

/** `n` code units from a seeded generator: text that does not compress. */
function noise(seed, n) {
  let x = seed >>> 0 || 1
  let out = ''
  while (out.length < n) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out += String.fromCharCode(0x21 + ((x >>> 0) % (0xd7ff - 0x21)))
  }
  return out
}

const PAYLOADS = [
  "'",
  "''",
  '"',
  '\\',
  "\\'",
  "'; DROP TABLE x; --",
  '"; DROP TABLE baileys_keys; --',
  "x'); DELETE FROM fz_keys; --",
  "' OR '1'='1",
  '$1',
  '$$',
  '$tag$',
  '%',
  '_',
  '*',
  '/*',
  '*/',
  '--',
  ';',
  '\u0000',
  '\\x00',
  "E'\\x00'",
  'é',
  '😀',
  '\ud800',
  '\udfff',
  '\u2028',
  '\ufeff',
  'NULL',
  '',
  ' ',
  'İ',
  '\r\n',
  '\t',
  '{}',
  '[',
  '\\u0000',
]
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PAYLOADS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
)
const nameArb = fc.oneof(
  { weight: 10, arbitrary: fc.array(piece, { maxLength: 6 }).map((a) => a.join('')) },
  // 10 KB: one that compresses (fits the index), one that does not
  { weight: 1, arbitrary: fc.tuple(piece, fc.constantFrom('x', 'é', '😀', "'")).map(([p, c]) => p + c.repeat(Math.ceil(10240 / c.length))) },
  { weight: 1, arbitrary: fc.tuple(piece, fc.integer()).map(([p, seed]) => p + noise(seed, 10240)) },
)
const caseArb = fc.record({ account: nameArb, type: nameArb, id: nameArb, text: nameArb, n: fc.integer() })

describe('account names, types and ids are data, never SQL', () => {
  const PREFIX = 'fz_'
  const RUNS = 60

  test(`fast-check (${RUNS} cases): quotes, backslashes, SQL, unicode, 10 KB names, NUL: every value round-trips or is rejected cleanly with nothing written; other accounts and tables untouched`, async () => {
    const RF = P.rowsOf(ctx, { prefix: PREFIX })
    await ctx.query('CREATE TABLE IF NOT EXISTS x (a int)')
    await ctx.query('INSERT INTO x VALUES (1)')
    const canary = await open('canary', { tablePrefix: PREFIX })
    await canary.state.keys.set({ t: { a: 1 }, "'": { "'": "'" }, '\\': { '\\': '\\' } })
    await canary.saveCreds()
    const canaryBefore = await RF.snapshot('canary')
    const counts = async () =>
      (
        await ctx.query(
          `SELECT (SELECT count(*) FROM fz_keys)::int AS keys, (SELECT count(*) FROM fz_creds)::int AS creds,
                  (SELECT count(*) FROM fz_leases)::int AS leases, (SELECT count(*) FROM fz_quarantine)::int AS quarantine`,
        )
      )[0]
    const seen = { stored: 0, refusedKey: 0, refusedAccount: 0 }
    let n = 0
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const account = `${c.account}#${n++}`
        const accountStorable = !hasNul(account) && bytesOf(account) < 2400
        const keyStorable = accountStorable && !hasNul(c.type) && !hasNul(c.id) && bytesOf(account) + bytesOf(c.type) + bytesOf(c.id) < 2400
        const before = await counts()
        const opened = await settle(open(account, { tablePrefix: PREFIX }))
        if (opened.error) {
          expectClean(opened.error, 'open')
          if (accountStorable) throw new Error(`open refused an account it can hold: ${opened.error.code} ${opened.error.message}`)
          expect(await counts()).toEqual(before)
          seen.refusedAccount++
        } else {
          if (hasNul(account)) throw new Error('an account with a NUL was opened')
          const s = opened.value
          const value = { s: c.text, n: c.n, b: Buffer.from(c.text) }
          const r = await settle(s.state.keys.set(setData([[c.type, c.id, value]])))
          if (r.error) {
            expectClean(r.error, 'set')
            if (keyStorable) throw new Error(`set refused a key it can hold: ${r.error.code} ${r.error.message}`)
            expect(await RF.keyRows(account)).toEqual([])
            seen.refusedKey++
          } else {
            if (hasNul(c.type) || hasNul(c.id)) throw new Error('a type or id with a NUL was stored')
            const got = await s.state.keys.get(c.type, [c.id])
            expect(JSON.stringify(got[c.id], BufferJSON.replacer)).toBe(JSON.stringify(roundTrip(value), BufferJSON.replacer))
            expect(Buffer.isBuffer(got[c.id].b)).toBe(true)
            expect(await collect(s.state.keys.listIds(c.type))).toEqual([T.asStored(c.id)])
            const rows = await RF.keyRows(account)
            expect(rows.map((x) => [x.type, x.id])).toEqual([[T.asStored(c.type), T.asStored(c.id)]])
            expect(rows[0].value.toString('latin1')).toBe(Buffer.from(JSON.stringify(value, BufferJSON.replacer)).toString('latin1'))
            seen.stored++
          }
          await s.saveCreds()
          expect((await RF.credsBytes(account)).equals(encodeAuthValue(s.state.creds))).toBe(true)
          await s.close()
          expect((await RF.lease(account)).expires_text).toBe('-infinity')
          const after = await counts()
          expect(after).toEqual({ keys: before.keys + (r.error ? 0 : 1), creds: before.creds + 1, leases: before.leases + 1, quarantine: before.quarantine })
        }
        expect(await RF.snapshot('canary')).toEqual(canaryBefore)
      }),
      { numRuns: RUNS },
    )
    // the payloads named tables: they are all still there, and so is what they hold
    expect(await ctx.query('SELECT a FROM x')).toEqual([{ a: 1 }])
    expect(await tablesNamed(PREFIX)).toEqual(['creds', 'keys', 'leases', 'meta', 'quarantine'].map((t) => `public.${PREFIX}${t}`))
    expect(await canary.state.keys.get("'", ["'"])).toEqual({ "'": "'" })
    console.log(`names fuzz: ${JSON.stringify(seen)}`)
    // the generators reached every branch
    expect(seen.stored).toBeGreaterThan(RUNS / 3)
    expect(seen.refusedKey + seen.refusedAccount).toBeGreaterThan(0)
  })

  test('the plain cases: quotes, backslashes, SQL and a 10 KB name as account, type and id, all round trip', async () => {
    const names = ["'", "''", '"', '\\', "\\'", "'; DROP TABLE x; --", '"; DROP TABLE baileys_keys; --', '$1', '%', '_', 'é😀\u2028', 'x'.repeat(10240)]
    for (const name of names) {
      const s = await open(name)
      const data = setData([
        [name, name, { name }],
        ['t', name, 1],
        [name, 'i', 2],
      ])
      await s.state.keys.set(data)
      expect(await s.state.keys.get(name, [name, 'i'])).toEqual({ [name]: { name }, i: 2 })
      expect(await collect(s.state.keys.listIds(name))).toEqual([name, 'i'].sort(P.bytewise))
      expect((await R.keyRows(name)).map((r) => [r.type, r.id])).toEqual(
        [
          [name, name],
          ['t', name],
          [name, 'i'],
        ].sort((a, b) => P.bytewise(a[0], b[0]) || P.bytewise(a[1], b[1])),
      )
      await s.state.keys.clear()
      expect(await R.keyRows(name)).toEqual([])
      await s.close()
    }
    expect(await ctx.query('SELECT to_regclass($1) AS t', ['baileys_keys'])).toEqual([{ t: 'baileys_keys' }])
  })

  // PostgreSQL text cannot hold U+0000 (the SQLite store can): the call must
  // say the input is what is wrong, as the store's other invalid inputs do
  // (a bad tablePrefix: TypeError, EBAILEYSINVALID), not report an I/O error.
  test('a NUL in an account, a type or an id is refused as invalid input (TypeError, EBAILEYSINVALID), nothing written', async () => {
    const acc = accountName('nul')
    const s = await open(acc)
    await s.state.keys.set({ t: { a: 1 } })
    const before = await R.snapshot(acc)
    const what = async (call) => {
      const r = await settle(call)
      return r.error ? `${r.error.name} ${r.error.code}` : 'resolved'
    }
    const writes = {
      'set, an id': await what(() => s.state.keys.set({ t: { 'a\u0000b': 1 } })),
      'set, a type': await what(() => s.state.keys.set({ 't\u0000': { a: 1 } })),
      'open, an account': await what(() => open(`${acc}\u0000x`)),
    }
    expect(writes).toEqual({ 'set, an id': 'TypeError EBAILEYSINVALID', 'set, a type': 'TypeError EBAILEYSINVALID', 'open, an account': 'TypeError EBAILEYSINVALID' })
    // a read of what cannot exist: nothing there, or the same refusal
    const get = await settle(() => s.state.keys.get('t', ['a\u0000b', 'a']))
    expect(get.error ? `${get.error.name} ${get.error.code}` : JSON.stringify(get.value)).toMatch(/^(\{"a\\u0000b":null,"a":1\}|TypeError EBAILEYSINVALID)$/)
    const list = await settle(() => collect(s.state.keys.listIds('t\u0000')))
    expect(list.error ? `${list.error.name} ${list.error.code}` : JSON.stringify(list.value)).toMatch(/^(\[\]|TypeError EBAILEYSINVALID)$/)
    expect(await R.snapshot(acc)).toEqual(before)
  })
})

// ---------------------------------------------------------------- secrets

/** A logger that records every line at every level. */
function fullLogger() {
  const lines = []
  const rec = (level) => (...args) => lines.push({ level, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a, (k, v) => (typeof v === 'bigint' ? String(v) : v)))).join(' ') })
  const logger = { level: 'trace', trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), fatal: rec('fatal') }
  logger.child = () => logger
  return { logger, lines }
}

/** Everything an error says: message, stack, String(), and every own property. */
function errorText(e) {
  if (!e) return ''
  const props = {}
  for (const k of Object.getOwnPropertyNames(e)) props[k] = String(e[k])
  return [e.message, e.stack, String(e), JSON.stringify(props), e.cause ? errorText(e.cause) : ''].join('\n')
}

test('no key bytes and no password in any error message or logger line', async () => {
  const { pg } = ctx
  const { logger, lines } = fullLogger()
  const errors = []
  const expectRejects = async (label, call) => {
    const e = await rejection(call)
    expect({ label, rejected: isError(e) }).toEqual({ label, rejected: true })
    errors.push([label, e])
    return e
  }
  const secrets = [pg.password]
  const keySecrets = (bytes) => [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('base64').slice(0, 24)]

  // wrong passwords, in every connection form (and one with characters a URL escapes)
  const wrong = `Wr0ng-${crypto.randomBytes(6).toString('hex')}`
  const wrongOdd = `${wrong}'@:/?#%`
  secrets.push(wrong, encodeURIComponent(wrongOdd))
  await expectRejects('wrong password, URL', () => usePostgresAuthState(`postgres://${pg.user}:${encodeURIComponent(wrongOdd)}@${pg.host}:${pg.port}/${pg.database}`, 'acc', { logger }))
  await expectRejects('wrong password, key=value', () => usePostgresAuthState(`host=${pg.host} port=${pg.port} user=${pg.user} password='${wrong}' dbname=${pg.database}`, 'acc', { logger }))
  await expectRejects('wrong password, object', () => usePostgresAuthState({ host: pg.host, port: pg.port, user: pg.user, password: wrong, database: pg.database }, 'acc', { logger }))
  const viaEnv = await P.inChild('await ours.usePostgresAuthState(undefined, "acc")', {}, { env: { ...process.env, PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGPASSWORD: wrong, PGDATABASE: pg.database } })
  expect(viaEnv.error).toBeDefined()
  errors.push(['wrong password, PGPASSWORD', viaEnv.error])
  // the right password, but no such database, no such user, nobody listening
  await expectRejects('no such database', () => usePostgresAuthState(ctx.urlOf('no_such_db'), 'acc', { logger }))
  await expectRejects('no such user', () => usePostgresAuthState(`postgres://nobody:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${pg.database}`, 'acc', { logger }))
  await expectRejects('nobody listening', () => usePostgresAuthState({ host: '127.0.0.1', port: 1, user: pg.user, password: pg.password, database: pg.database }, 'acc', { logger, timeoutMs: 2000 }))
  await expectRejects('bad setting beside the password', () => usePostgresAuthState(`host=${pg.host} password=${pg.password} sslmode=maybe`, 'acc', { logger }))
  await expectRejects('unknown setting beside the password', () => usePostgresAuthState(`host=${pg.host} password=${pg.password} nonsense=1`, 'acc', { logger }))

  // key material in every call that fails
  const acc = accountName('secrets')
  const s = await open(acc, { logger })
  for (const k of [s.state.creds.noiseKey.private, s.state.creds.signedIdentityKey.private, s.state.creds.signedPreKey.keyPair.private]) secrets.push(...keySecrets(k))
  secrets.push(s.state.creds.advSecretKey)
  const pair = kp()
  secrets.push(...keySecrets(pair.private))
  await s.state.keys.set({ 'pre-key': { 1: pair } })
  await s.saveCreds()
  await expectRejects('a NUL id beside a key pair', () => s.state.keys.set({ 'pre-key': { 2: pair, 'x\u0000': pair } }))
  await expectRejects('a BigInt beside a key pair', () => s.state.keys.set({ 'pre-key': { 2: pair, 3: { ...pair, n: 1n } } }))
  await expectRejects('an id too large for the index beside a key pair', () => s.state.keys.set({ 'pre-key': { 2: pair, [noise(7, 10240)]: pair } }))
  await s.close()

  // stored values torn in the middle of the key bytes, then read
  const torn = JSON.stringify(pair, BufferJSON.replacer)
  await ctx.query(`UPDATE baileys_keys SET value = $2 WHERE account = $1 AND type = 'pre-key' AND id = '1'`, [acc, Buffer.from(torn.slice(0, torn.length - 3))])
  const d = await open(acc, { logger })
  expect(await d.state.keys.get('pre-key', ['1'])).toEqual({ 1: null })
  await d.close()
  const aside = await R.quarantineRows(acc)
  expect(aside.map((r) => r.value.toString())).toEqual([torn.slice(0, torn.length - 3)]) // the secret was really in play
  expect(aside[0].value.toString()).toContain(pair.private.toString('base64'))
  // credentials torn right after a private key
  const creds = (await R.credsBytes(acc)).toString()
  const cut = creds.indexOf(s.state.creds.noiseKey.private.toString('base64')) + 44
  await ctx.query('UPDATE baileys_creds SET value = $2 WHERE account = $1', [acc, Buffer.from(`${creds.slice(0, cut)}\u0001`)])
  await expectRejects('torn creds', () => open(acc, { logger }))

  // a write refused after a takeover, carrying a key pair
  const fenced = accountName('secrets-fenced')
  const f = await open(fenced, { logger })
  await ctx.query(`UPDATE baileys_leases SET expires_at = now() - interval '1 second' WHERE account = $1`, [fenced])
  expect(await P.openInChild(ctx.url, fenced)).toEqual({ ok: true })
  await expectRejects('a fenced write', () => f.state.keys.set({ 'pre-key': { 5: pair } }))
  await expectRejects('a fenced saveCreds', () => f.saveCreds())

  expect(errors.length).toBeGreaterThanOrEqual(15)
  expect(lines.some((l) => l.level === 'warn')).toBe(true) // the quarantine
  expect(lines.some((l) => l.level === 'error')).toBe(true) // the lease lost
  const leaks = []
  for (const [label, e] of errors) {
    const text = typeof e.message === 'string' && !e.stack ? JSON.stringify(e) : errorText(e)
    for (const secret of secrets) if (text.includes(secret)) leaks.push(`${label}: ${JSON.stringify(secret)} in ${JSON.stringify(e.message)}`)
  }
  for (const l of lines) for (const secret of secrets) if (l.text.includes(secret)) leaks.push(`logger.${l.level}: ${JSON.stringify(secret)} in ${JSON.stringify(l.text)}`)
  expect(leaks).toEqual([])
  console.log(`errors as observed:\n${errors.map(([label, e]) => `  ${label}: ${e.name} ${e.code} ${e.message}`).join('\n')}\nlogger lines:\n${lines.map((l) => `  ${l.level} ${l.text}`).join('\n')}`)
})

// ---------------------------------------------------------------- takeover

describe('takeover and fencing', () => {
  // (Windows has no SIGSTOP/SIGCONT)
  onlyIf(POSIX)('an owner stopped (SIGSTOP) past its lease is taken over with a higher token; once it runs again its writes reject with AuthLeaseLostError and nothing of them lands', async () => {
    const acc = accountName('fence')
    const child = await spawnOwner()
    let s
    let before
    const { token: t1 } = await child.call('open', { connection: ctx.url, account: acc, options: { leaseTtlMs: 1000 } })
    await child.call('set', { data: JSON.stringify({ t: { k1: 'first owner' } }) })
    await child.call('saveCreds', { patch: { me: { id: 'first@s.whatsapp.net' } } })
    // while it runs it renews: refused, naming it
    await expect(open(acc)).rejects.toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: child.pid, host: leaseHost() })
    child.signal('SIGSTOP')
    try {
      // refused until the lease runs out by the server's clock, then ours
      const started = Date.now()
      while (!s) {
        const r = await settle(open(acc))
        if (r.value) s = r.value
        else {
          expect(r.error).toMatchObject({ code: 'EBAILEYSLOCKED', pid: child.pid })
          if (Date.now() - started > 60000) throw new Error('the stopped owner kept its lease for a minute')
          await P.sleep(100)
        }
      }
      expect(s.counters().token).toBe(t1 + 1)
      expect(await s.state.keys.get('t', ['k1'])).toEqual({ k1: 'first owner' })
      expect(s.state.creds.me).toEqual({ id: 'first@s.whatsapp.net' })
      await s.state.keys.set({ t: { k2: 'second owner' } })
      before = await R.snapshot(acc)
    } finally {
      child.signal('SIGCONT')
    }
    // the first owner runs again: everything it sends is refused, reads too
    const refused = {
      set: await rejection(child.call('set', { data: JSON.stringify({ t: { k3: 'stale', k1: null } }) })),
      saveCreds: await rejection(child.call('saveCreds', { patch: { me: { id: 'stale' } } })),
      clear: await rejection(child.call('clear')),
      get: await rejection(child.call('get', { type: 't', ids: ['k1'] })),
    }
    for (const [name, e] of Object.entries(refused)) expect({ name, error: e?.name, code: e?.code }).toEqual({ name, error: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
    expect(await R.snapshot(acc)).toEqual(before)
    const { logs } = await child.call('logs')
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(1) // told once
    expect(logs.find((l) => l.level === 'error').args.join(' ')).toMatch(/EBAILEYSFENCED/)
    // its close does not end our lease
    await child.call('close')
    await child.end()
    const lease = await R.lease(acc)
    expect({ token: lease.token, pid: lease.owner_pid, live: lease.live }).toEqual({ token: String(t1 + 1), pid: process.pid, live: true })
    await s.state.keys.set({ t: { k4: 'still ours' } })
    expect((await R.keyRows(acc)).map((r) => `${r.id}=${r.value}`)).toEqual(['k1="first owner"', 'k2="second owner"', 'k4="still ours"'])
  })

  test('this process fenced (its lease ran out by the server clock, another process took over): every later call rejects with AuthLeaseLostError, logger.error told once, a burst of writes lands nothing', async () => {
    const acc = accountName('fenced-here')
    const { logger, lines } = fullLogger()
    const s = await open(acc, { logger, leaseTtlMs: 60000 })
    await s.state.keys.set({ t: { mine: 1 } })
    const t1 = s.counters().token
    // the lease as an owner that stopped renewing leaves it
    await ctx.query(`UPDATE baileys_leases SET expires_at = now() - interval '1 second' WHERE account = $1`, [acc])
    const child = await spawnOwner()
    try {
      expect(await child.call('open', { connection: ctx.url, account: acc })).toEqual({ token: t1 + 1 })
      await child.call('set', { data: JSON.stringify({ t: { theirs: 2 } }) })
      const before = await R.snapshot(acc)
      const burst = [s.state.keys.set({ t: { a: 1 } }), s.state.keys.set({ t: { mine: null } }), s.saveCreds(), s.state.keys.clear(), s.state.keys.set({ u: { b: 2 } })]
      const settled = await Promise.allSettled(burst)
      expect(settled.map((r) => r.status)).toEqual(burst.map(() => 'rejected'))
      for (const r of settled) expect(r.reason).toMatchObject({ name: 'AuthLeaseLostError', code: 'EBAILEYSFENCED' })
      await expect(s.state.keys.get('t', ['mine'])).rejects.toMatchObject({ code: 'EBAILEYSFENCED' })
      await expect(collect(s.state.keys.listIds('t'))).rejects.toMatchObject({ code: 'EBAILEYSFENCED' })
      expect(await R.snapshot(acc)).toEqual(before)
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1)
      expect(lines.find((l) => l.level === 'error').text).toMatch(/EBAILEYSFENCED/)
      await expect(s.close()).resolves.toBeUndefined()
      const lease = await R.lease(acc)
      expect({ token: lease.token, pid: lease.owner_pid, live: lease.live }).toEqual({ token: String(t1 + 1), pid: child.pid, live: true })
      expect(await child.call('get', { type: 't', ids: ['mine', 'theirs', 'a'] })).toEqual({ values: { mine: 1, theirs: 2, a: null } })
      await child.call('close')
    } finally {
      await child.end()
    }
    // taken back: a new open of this process
    const again = await open(acc)
    expect(again.counters().token).toBe(t1 + 2)
    expect(await again.state.keys.get('t', ['mine', 'theirs'])).toEqual({ mine: 1, theirs: 2 })
  })
})

// ---------------------------------------------------------------- the server away (last: it restarts the server)

describe('the server away', () => {
  test('the store survives a server restart and an outage longer than its lease: calls meanwhile reject saying the server is unavailable; nobody took over, so the account is still ours after', async () => {
    const acc = accountName('outage')
    const s = await open(acc, { leaseTtlMs: 1500, timeoutMs: 3000 })
    await s.state.keys.set({ t: { a: 1 } })
    const token = s.counters().token
    await ctx.pg.restart()
    // the pool's connections ended with the server: new ones are made
    await s.state.keys.set({ t: { b: 2 } })
    expect(await s.state.keys.get('t', ['a', 'b'])).toEqual({ a: 1, b: 2 })

    await ctx.pg.stopServerOnly()
    let down
    try {
      down = { get: await rejection(s.state.keys.get('t', ['a'])), set: await rejection(s.state.keys.set({ t: { c: 3 } })), saveCreds: await rejection(s.saveCreds()) }
      await P.sleep(2500) // the lease runs out meanwhile
    } finally {
      await ctx.pg.startServerOnly()
    }
    await s.state.keys.set({ t: { d: 4 } })
    expect((await R.keyRows(acc)).map((r) => `${r.id}=${r.value}`)).toEqual(['a=1', 'b=2', 'd=4'])
    const lease = await R.lease(acc)
    expect({ token: lease.token, pid: lease.owner_pid, live: lease.live }).toEqual({ token: String(token), pid: process.pid, live: true })
    expect(s.counters().token).toBe(token)
    // what a bot's reconnect logic looks at: the server is not there (as Node's
    // own sockets say it), not an unknown failure
    expect(Object.fromEntries(Object.entries(down).map(([k, e]) => [k, e?.code]))).toEqual({
      get: expect.stringMatching(/^(ECONNREFUSED|EBAILEYSUNAVAILABLE)$/),
      set: expect.stringMatching(/^(ECONNREFUSED|EBAILEYSUNAVAILABLE)$/),
      saveCreds: expect.stringMatching(/^(ECONNREFUSED|EBAILEYSUNAVAILABLE)$/),
    })
  })
})
