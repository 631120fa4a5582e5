'use strict'
// migrateAuthState between real stores: our folder → a plain in-memory store
// (with list) → our folder again; our folder → Baileys' own helper folder
// (both lines, wrapped with withListing) → ours. Values stay equal
// throughout, and with Baileys' proto the files stay byte for byte the same.
// Also: verification finds missing, changed and extra keys; batches and
// progress; migrateAuthFolders.

const fs = require('node:fs')
const path = require('node:path')

const ours = require('..')
const { POSIX, storePath } = require('./support/platform.js')
const { tmpDirs, baileysLines, sampleData, asListed, writeWithBaileys, jsonFiles, collect, firstDifference, keyPair } = require('./support/tools-fixtures.js')

const dir = tmpDirs('migrate')
afterAll(() => dir.cleanup())

let lines
beforeAll(async () => {
  lines = await baileysLines()
})

/** A user's own store: everything in memory, with `list` and `listIds`. */
function memoryStore() {
  const data = {}
  let sets = 0
  const keys = {
    async get(type, ids) {
      const out = {}
      for (const id of ids) out[id] = data[type]?.[id] ?? null
      return out
    },
    async set(d) {
      sets++
      for (const type in d) {
        for (const id in d[type]) {
          const v = d[type][id]
          data[type] ??= {}
          if (v) data[type][id] = v
          else delete data[type][id]
        }
      }
    },
    async *list(type) {
      for (const [id, v] of Object.entries(data[type] ?? {})) yield [id, v]
    },
    async *listIds(type) {
      yield* Object.keys(data[type] ?? {})
    },
  }
  return { state: { creds: {}, keys }, data, sets: () => sets }
}

function expectNoDifferences(summary) {
  expect(summary.differences).toEqual([])
  expect(summary.differenceCount).toBe(0)
}

function countsOf(listed) {
  const counts = {}
  for (const t of ours.KEY_TYPES) counts[t] = Object.keys(listed[t] ?? {}).length
  return counts
}

/** Every key of `listed` reads back from `state` equal to the expected value. */
async function expectHolds(state, listed) {
  for (const [type, byId] of Object.entries(listed)) {
    const got = await state.keys.get(type, Object.keys(byId))
    for (const [id, v] of Object.entries(byId)) expect([type, id, firstDifference(got[id], v)]).toEqual([type, id, null])
  }
}

describe.each(['v6', 'v7'])('with a folder Baileys %s wrote', (line) => {
  let lib
  let source
  let data
  let listed
  beforeAll(async () => {
    lib = lines[line]
    source = path.join(dir(line), 'auth')
    data = sampleData(lib.proto)
    listed = asListed(data)
    await writeWithBaileys(lib, source, data)
  })

  test.each([
    ['with proto: byte for byte', true],
    ['without proto: equal values', false],
  ])('our folder → in-memory store → our folder (%s)', async (_, withProto) => {
    const options = withProto ? { proto: lib.proto, flavor: line } : { flavor: line }
    const from = await ours.useMultiFileAuthState(source, { ...options, lock: false })
    const memory = memoryStore()
    const s1 = await ours.migrateAuthState({ from, to: memory, verify: true })
    expect(s1.creds).toBe(true)
    expect(s1.keys).toEqual(countsOf(listed))
    expect(s1.total).toBe(Object.values(countsOf(listed)).reduce((a, b) => a + b, 0))
    expect(s1.verified).toBe(true)
    expectNoDifferences(s1)
    // No saveCreds: the credentials are in the store's creds object.
    expect(firstDifference(memory.state.creds, from.state.creds)).toBeNull()
    await expectHolds(memory.state, listed)

    const back = path.join(dir(`${line}-back`), 'auth')
    const to = await ours.useMultiFileAuthState(back, options)
    const s2 = await ours.migrateAuthState({ from: memory, to, verify: true })
    expectNoDifferences(s2)
    expect(s2.keys).toEqual(s1.keys)
    const reread = await ours.useMultiFileAuthState(back, { ...options, lock: false })
    expect(firstDifference(reread.state.creds, from.state.creds)).toBeNull()
    await expectHolds(reread.state, listed)
    const a = jsonFiles(source)
    const b = jsonFiles(back)
    expect(Object.keys(b)).toEqual(Object.keys(a))
    for (const name of Object.keys(a)) {
      // Without proto, app-state keys are re-encoded from the plain objects
      // (keyData as a Buffer, timestamp as {low, high}): equal values, other bytes.
      if (!withProto && name.startsWith('app-state-sync-key-')) continue
      expect([name, b[name].equals(a[name])]).toEqual([name, true])
    }
  })

  test("our folder → Baileys' helper folder → our folder, equal throughout", async () => {
    const from = await ours.useMultiFileAuthState(source, { proto: lib.proto, flavor: line, lock: false })
    const middle = path.join(dir(`${line}-baileys`), 'auth')
    const theirs = ours.withListing(middle, await lib.useMultiFileAuthState(middle))
    const s1 = await ours.migrateAuthState({ from, to: theirs, verify: true })
    expectNoDifferences(s1)
    expect(s1.keys).toEqual(countsOf(listed))
    // Baileys' own helper, opened afresh, reads every key and the credentials.
    const check = await lib.useMultiFileAuthState(middle)
    expect(firstDifference(check.state.creds, from.state.creds)).toBeNull()
    await expectHolds(check.state, listed)
    expect(Object.keys(jsonFiles(middle))).toEqual(Object.keys(jsonFiles(source)))

    const last = path.join(dir(`${line}-last`), 'auth')
    const to = await ours.useMultiFileAuthState(last, { proto: lib.proto, flavor: line })
    const s2 = await ours.migrateAuthState({ from: ours.withListing(middle, check), to, verify: true })
    expectNoDifferences(s2)
    expect(s2.keys).toEqual(s1.keys)
    const reread = await ours.useMultiFileAuthState(last, { proto: lib.proto, flavor: line, lock: false })
    await expectHolds(reread.state, listed)
    expect(firstDifference(reread.state.creds, from.state.creds)).toBeNull()
    const a = jsonFiles(source)
    const c = jsonFiles(last)
    expect(Object.keys(c)).toEqual(Object.keys(a))
    for (const name of Object.keys(a)) expect([name, c[name].equals(a[name])]).toEqual([name, true])
  })
})

describe('verification', () => {
  test('finds keys missing, changed (with the path) or extra in the destination', async () => {
    const from = memoryStore()
    from.state.creds = ours.initAuthCreds()
    await from.state.keys.set({
      session: { a: { n: 1, b: Buffer.from([1, 2]) }, b: { n: 2 }, c: { deep: { list: [1, 2, { x: Buffer.from('y') }] } } },
      'pre-key': { 1: keyPair() },
    })
    const to = memoryStore()
    const realSet = to.state.keys.set
    to.state.keys.set = async (d) => {
      await realSet(d)
      // A faulty store: drops one key, changes another, keeps one it had.
      if (d.session) {
        await realSet({ session: { b: null, zz: { n: 9 } } })
        to.data.session.c = { deep: { list: [1, 2, { x: Buffer.from('z') }] } }
      }
    }
    const s = await ours.migrateAuthState({ from, to, verify: true })
    expect(s.keys).toMatchObject({ session: 3, 'pre-key': 1 })
    expect(s.differenceCount).toBe(3)
    expect(s.differences).toEqual(
      expect.arrayContaining([
        { type: 'session', id: 'b', problem: 'missing' },
        { type: 'session', id: 'c', problem: 'value', path: 'deep.list[2].x' },
        { type: 'session', id: 'zz', problem: 'extra' },
      ]),
    )
  })

  test('compares values, not only ids: Buffers as bytes, protobuf messages as their fields, key order ignored', () => {
    expect(firstDifference({ a: Buffer.from('x'), b: 1 }, { b: 1, a: new Uint8Array([0x78]) })).toBeNull()
    expect(firstDifference({ a: Buffer.from('x') }, { a: Buffer.from('y') })).toBe('a')
    expect(firstDifference({ a: [1, 2] }, { a: [1, 2, 3] })).toBe('a.length')
    expect(firstDifference({ a: 1, u: undefined }, { a: 1 })).toBeNull()
    expect(firstDifference({ a: 1 }, { a: 1, b: null })).toBe('b')
    expect(firstDifference({ a: NaN }, { a: NaN })).toBeNull()
    expect(firstDifference({ a: '1' }, { a: 1 })).toBe('a')
    const { proto } = lines.v6
    const m = proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.from('k'), timestamp: 5 })
    expect(firstDifference(m, { keyData: Buffer.from('k'), timestamp: { low: 5, high: 0, unsigned: false } })).toBeNull()
  })
})

describe('batches, progress and shapes', () => {
  test('keys go in batches of batchSize, one set per batch, with progress after each', async () => {
    const from = memoryStore()
    from.state.creds = ours.initAuthCreds()
    const preKeys = {}
    for (let i = 1; i <= 812; i++) preKeys[i] = keyPair()
    await from.state.keys.set({ 'pre-key': preKeys, session: { s: { a: 1 } } })
    const to = memoryStore()
    const events = []
    const s = await ours.migrateAuthState({ from, to, batchSize: 100, onProgress: (p) => events.push(p) })
    expect(to.sets()).toBe(9 + 1)
    expect(s).toMatchObject({ creds: true, total: 813, verified: false, differences: [] })
    const copies = events.filter((e) => e.phase === 'copy')
    expect(copies.map((e) => e.total)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 812, 813])
    expect(copies[8]).toEqual({ phase: 'copy', type: 'pre-key', count: 812, total: 812 })
    expect(events[events.length - 1]).toEqual({ phase: 'creds', total: 813 })
  })

  test("the destination's saveCreds is called with its own creds object, filled in place", async () => {
    const from = memoryStore()
    from.state.creds = ours.initAuthCreds()
    from.state.creds.me = { id: '1:2@s.whatsapp.net' }
    const target = { stale: true, registered: true }
    const saved = []
    const to = { state: { creds: target, keys: memoryStore().state.keys }, saveCreds: async (c) => saved.push(c) }
    await ours.migrateAuthState({ from, to })
    expect(saved).toEqual([target])
    expect(to.state.creds).toBe(target)
    expect('stale' in target).toBe(false)
    expect(Object.keys(target)).toEqual(Object.keys(from.state.creds))
    expect(firstDifference(target, from.state.creds)).toBeNull()
    // A bare AuthenticationState works as well.
    const bare = { creds: undefined, keys: memoryStore().state.keys }
    await ours.migrateAuthState({ from: from.state, to: bare })
    expect(firstDifference(bare.creds, from.state.creds)).toBeNull()
  })

  test('keys first, credentials last; types can be narrowed', async () => {
    const from = memoryStore()
    from.state.creds = ours.initAuthCreds()
    await from.state.keys.set({ session: { s: { a: 1 } }, 'pre-key': { 1: keyPair() } })
    const order = []
    const mem = memoryStore()
    const to = {
      state: { creds: {}, keys: { set: async (d) => (order.push(Object.keys(d)[0]), mem.state.keys.set(d)), get: mem.state.keys.get } },
      saveCreds: async () => order.push('creds'),
    }
    const s = await ours.migrateAuthState({ from, to, types: ['session'], verify: true })
    expect(order).toEqual(['session', 'creds'])
    expect(s.keys).toEqual({ session: 1 })
  })

  test('bad arguments', async () => {
    const from = memoryStore()
    await expect(ours.migrateAuthState({ from: { state: { creds: {}, keys: { get() {} } } }, to: memoryStore() })).rejects.toThrow(/withListing/)
    await expect(ours.migrateAuthState({ from, to: memoryStore(), batchSize: 0 })).rejects.toHaveProperty('name', 'RangeError')
    await expect(ours.migrateAuthState({ from: {}, to: memoryStore() })).rejects.toHaveProperty('name', 'TypeError')
    await expect(ours.migrateAuthState()).rejects.toHaveProperty('name', 'TypeError')
    expect(() => ours.withListing(42, from)).toThrow(/folder must be a string/)
  })
})

describe('migrateAuthFolders', () => {
  test('copies a folder byte for byte without Baileys (app-state keys as on disk) and checks creds.json', async () => {
    const lib = lines.v7
    const src = path.join(dir('folders'), 'auth')
    await writeWithBaileys(lib, src, sampleData(lib.proto))
    const dst = path.join(dir('folders-dst'), 'nested', 'auth')
    const events = []
    const s = await ours.migrateAuthFolders(src, dst, { batchSize: 4, onProgress: (p) => events.push(p) })
    expect(s.from).toBe(storePath(src))
    expect(s.to).toBe(dst)
    expect(s.verified).toBe(true)
    expectNoDifferences(s)
    const a = jsonFiles(src)
    const b = jsonFiles(dst)
    expect(Object.keys(b)).toEqual(Object.keys(a))
    for (const name of Object.keys(a)) expect([name, b[name].equals(a[name])]).toEqual([name, true])
    expect(events.every((e) => e.expected === s.total)).toBe(true)
    expect(events.some((e) => e.phase === 'verify')).toBe(true)
    if (POSIX) expect(fs.statSync(dst).mode & 0o777).toBe(0o700) // (no modes on Windows)
  })

  test('a source without creds.json is refused; clear empties the destination first', async () => {
    const empty = dir('no-creds')
    await expect(ours.migrateAuthFolders(empty, path.join(empty, 'x'))).rejects.toMatchObject({ code: 'ENOCREDS' })
    const src = dir('clear-src')
    await ours.saveCredentials(src, ours.initAuthCreds())
    await ours.saveKeys(src, 'session', 'a', { a: 1 })
    const dst = dir('clear-dst')
    await ours.saveKeys(dst, 'session', 'old', { old: 1 })
    const kept = await ours.migrateAuthFolders(src, dst)
    expect(kept.differences).toEqual([{ type: 'session', id: 'old', problem: 'extra' }])
    const cleared = await ours.migrateAuthFolders(src, dst, { clear: true })
    expectNoDifferences(cleared)
    expect(await collect((await ours.useMultiFileAuthState(dst)).state.keys.listIds('session'))).toEqual(['a'])
  })
})
