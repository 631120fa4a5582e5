'use strict'
// Ordering and argument handling of the key store: per file, operations take
// effect in the order they were issued (across get/set/delete, across calls
// and across instances on one folder in one process), big batches work, and
// bad arguments give rejected promises, never synchronous throws, with
// nothing written by the failing call.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')

const { useMultiFileAuthState } = require('..')

const roots = []
function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-order-${tag}-`))
  roots.push(d)
  return d
}
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
})

function jsonFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
}

const readJson = (dir, name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'))

/** Calls `f`, returning either `{ threw }` or `{ promise }`. */
function callSync(f) {
  try {
    return { promise: f() }
  } catch (e) {
    return { threw: e }
  }
}

/** Asserts that `f()` does not throw, returns a promise, and that it rejects; resolves to the reason. */
async function expectRejection(f) {
  const r = callSync(f)
  expect(r.threw).toBeUndefined()
  expect(r.promise).toBeDefined()
  expect(typeof r.promise.then).toBe('function')
  let outcome = 'resolved'
  let reason
  await r.promise.then(
    () => {},
    (e) => {
      outcome = 'rejected'
      reason = e
    },
  )
  expect(outcome).toBe('rejected')
  return reason
}

const value = (seq) => ({ seq, mac: crypto.createHash('sha256').update(String(seq)).digest() })

describe('one instance', () => {
  test('an un-awaited set followed by a get of the same key sees the new value', async () => {
    const dir = tmpDir('set-get')
    const { state } = await useMultiFileAuthState(dir)
    for (let round = 0; round < 50; round++) {
      const id = `5511987654321:${round % 5}@s.whatsapp.net`
      const v = value(round)
      const setP = state.keys.set({ session: { [id]: v } })
      const getP = state.keys.get('session', [id])
      const got = (await getP)[id]
      expect(got).toEqual(v)
      expect(Buffer.isBuffer(got.mac)).toBe(true)
      await setP
    }
  })

  test('a get issued before an un-awaited set sees the old value', async () => {
    const dir = tmpDir('get-set')
    const { state } = await useMultiFileAuthState(dir)
    await state.keys.set({ 'pre-key': { 7: value(1) } })
    const g1 = state.keys.get('pre-key', [7])
    const s = state.keys.set({ 'pre-key': { 7: value(2) } })
    const g2 = state.keys.get('pre-key', [7])
    const d = state.keys.set({ 'pre-key': { 7: null } })
    const g3 = state.keys.get('pre-key', ['7'])
    await Promise.all([s, d])
    expect((await g1)[7]).toEqual(value(1))
    expect((await g2)[7]).toEqual(value(2))
    expect((await g3)[7]).toBeNull()
  })

  test('set, get, delete, get, set, get issued together: each get sees the op before it', async () => {
    const dir = tmpDir('chain')
    const { state } = await useMultiFileAuthState(dir)
    const id = '123-456@g.us::789::0'
    const v1 = value(1)
    const v2 = value(2)
    const ps = [
      state.keys.set({ 'sender-key': { [id]: v1 } }),
      state.keys.get('sender-key', [id]),
      state.keys.set({ 'sender-key': { [id]: null } }),
      state.keys.get('sender-key', [id]),
      state.keys.set({ 'sender-key': { [id]: v2 } }),
      state.keys.get('sender-key', [id]),
      state.keys.set({ 'sender-key': { [id]: 0 } }),
      state.keys.get('sender-key', [id]),
    ]
    const r = await Promise.all(ps)
    expect(r[1][id]).toEqual(v1)
    expect(r[3][id]).toBeNull()
    expect(r[5][id]).toEqual(v2)
    expect(r[7][id]).toBeNull()
    expect(jsonFiles(dir)).toEqual([])
  })

  test.each([
    ['a write', (i) => i % 7 === 3 && i !== 999],
    ['a delete', (i) => i % 7 === 3 || i === 999],
  ])('1,000 interleaved un-awaited writes and deletes to one key: the last one (%s) wins', async (_label, isDelete) => {
    const dir = tmpDir('many')
    const { state } = await useMultiFileAuthState(dir)
    const id = 'AAAAAFbC/w=='
    const ps = []
    const checks = []
    let last = null
    for (let i = 0; i < 1000; i++) {
      const v = isDelete(i) ? (i % 2 ? null : false) : value(i)
      last = v || null
      ps.push(state.keys.set({ 'app-state-sync-version': { [id]: v } }))
      if (i % 10 === 9) {
        const expected = last
        checks.push(state.keys.get('app-state-sync-version', [id]).then((r) => ({ i, got: r[id], expected })))
      }
    }
    const finalGet = state.keys.get('app-state-sync-version', [id])
    await Promise.all(ps)
    for (const c of await Promise.all(checks)) expect({ i: c.i, got: c.got }).toEqual({ i: c.i, got: c.expected })
    const file = 'app-state-sync-version-AAAAAFbC__w==.json'
    if (last === null) {
      expect((await finalGet)[id]).toBeNull()
      expect(jsonFiles(dir)).toEqual([])
    } else {
      expect((await finalGet)[id]).toEqual(last)
      expect(readJson(dir, file).seq).toBe(999)
      expect(jsonFiles(dir)).toEqual([file])
    }
  })

  test('many keys written in one call, with overwrites of one key in later un-awaited calls', async () => {
    const dir = tmpDir('batch-order')
    const { state } = await useMultiFileAuthState(dir)
    const batch = {}
    for (let i = 0; i < 200; i++) batch[i] = value(i)
    const p1 = state.keys.set({ 'pre-key': batch })
    const p2 = state.keys.set({ 'pre-key': { 17: value(1017), 18: null } })
    const g = state.keys.get('pre-key', [16, 17, 18])
    await Promise.all([p1, p2])
    const r = await g
    expect(r[16]).toEqual(value(16))
    expect(r[17]).toEqual(value(1017))
    expect(r[18]).toBeNull()
    expect(jsonFiles(dir)).toHaveLength(199)
  })
})

describe('two instances on one folder in one process', () => {
  test('order holds across instances opened through different spellings of the path', async () => {
    const dir = tmpDir('two')
    fs.mkdirSync(path.join(dir, 'sub'))
    const spellings = [dir, `${dir}/./`, `${dir}//sub/..`]
    const insts = []
    for (const s of spellings) insts.push((await useMultiFileAuthState(s)).state.keys)
    const id = '5511987654321.0'
    const ps = []
    const checks = []
    let last = null
    for (let i = 0; i < 600; i++) {
      const keys = insts[i % insts.length]
      const v = i % 11 === 4 ? null : value(i)
      last = v
      ps.push(keys.set({ session: { [id]: v } }))
      const reader = insts[(i + 1) % insts.length]
      const expected = last
      checks.push(reader.get('session', [id]).then((r) => ({ i, got: r[id], expected })))
    }
    await Promise.all(ps)
    for (const c of await Promise.all(checks)) expect({ i: c.i, got: c.got }).toEqual({ i: c.i, got: c.expected })
    expect(readJson(dir, 'session-5511987654321.0.json').seq).toBe(599)
    for (const keys of insts) expect((await keys.get('session', [id]))[id]).toEqual(value(599))
  })

  test('saveCreds of one instance and a fresh open through another spelling see each other', async () => {
    const dir = tmpDir('creds-two')
    const a = await useMultiFileAuthState(dir)
    a.state.creds.me = { id: '5511987654321:1@s.whatsapp.net', name: 'first' }
    const save = a.saveCreds()
    const b = await useMultiFileAuthState(`${dir}/./`)
    await save
    // the open was issued after the save: it reads the saved creds
    expect(b.state.creds.me).toEqual({ id: '5511987654321:1@s.whatsapp.net', name: 'first' })
    b.state.creds.me.name = 'second'
    await b.saveCreds()
    expect(readJson(dir, 'creds.json').me.name).toBe('second')
  })
})

describe('saveCreds', () => {
  test('200 un-awaited saveCreds with in-place mutations between: the file ends with the last state', async () => {
    const dir = tmpDir('creds-many')
    const a = await useMultiFileAuthState(dir)
    const ps = []
    for (let i = 0; i < 200; i++) {
      Object.assign(a.state.creds, { nextPreKeyId: i + 1, firstUnuploadedPreKeyId: i + 1, lastAccountSyncTimestamp: 1732000000 + i })
      ps.push(a.saveCreds())
    }
    // an open issued now, through another spelling, is ordered after those saves
    const b = useMultiFileAuthState(`${dir}/./`)
    await Promise.all(ps)
    const creds = (await b).state.creds
    expect(creds.nextPreKeyId).toBe(200)
    expect(creds.lastAccountSyncTimestamp).toBe(1732000199)
    expect(readJson(dir, 'creds.json').firstUnuploadedPreKeyId).toBe(200)
  })
})

describe('sizes', () => {
  test('a get of 10,000 ids: missing ones are null, present ones correct', async () => {
    const dir = tmpDir('10k')
    const { state } = await useMultiFileAuthState(dir)
    const present = {}
    for (let i = 0; i < 10000; i += 3) present[`${i}`] = { n: i, key: Buffer.from([i & 255, i >> 8]) }
    await state.keys.set({ 'pre-key': present })
    const ids = []
    for (let i = 0; i < 10000; i++) ids.push(i % 2 ? i : String(i))
    const r = await state.keys.get('pre-key', ids)
    expect(Object.keys(r)).toHaveLength(10000)
    let seen = 0
    for (let i = 0; i < 10000; i++) {
      const v = r[i]
      if (i % 3 === 0) {
        seen++
        if (!(v && v.n === i && Buffer.isBuffer(v.key) && v.key[0] === (i & 255) && v.key[1] === i >> 8)) {
          throw new Error(`id ${i}: ${JSON.stringify(v)}`)
        }
      } else if (v !== null) {
        throw new Error(`id ${i} should be null, got ${JSON.stringify(v)}`)
      }
    }
    expect(seen).toBe(3334)
  })

  test('set with 0 entries resolves and writes nothing; get of no ids gives {}', async () => {
    const dir = tmpDir('empty')
    const { state } = await useMultiFileAuthState(dir)
    for (const data of [{}, { 'pre-key': {} }, { 'pre-key': null }, { 'pre-key': undefined }, undefined, null]) {
      await expect(state.keys.set(data)).resolves.toBeUndefined()
    }
    expect(await state.keys.get('pre-key', [])).toEqual({})
    expect(jsonFiles(dir)).toEqual([])
  })
})

describe('bad arguments: rejected promises, never synchronous throws, nothing written', () => {
  let dir
  let state
  let saveCreds
  beforeAll(async () => {
    dir = tmpDir('bad')
    ;({ state, saveCreds } = await useMultiFileAuthState(dir))
    await state.keys.set({ 'pre-key': { 1: { v: 'old' } } })
  })

  test.each([
    ['a string', 'abc'],
    ['undefined', undefined],
    ['a number', 5],
    ['null', null],
    ['an array-like object', { length: 1, 0: '1' }],
  ])('get with ids that are %s', async (_label, ids) => {
    const e = await expectRejection(() => state.keys.get('pre-key', ids))
    expect(e.name).toBe('TypeError')
  })

  test('get with an ids array whose element getter throws', async () => {
    const ids = ['1']
    Object.defineProperty(ids, 1, {
      enumerable: true,
      get() {
        throw new Error('id boom')
      },
    })
    const e = await expectRejection(() => state.keys.get('pre-key', ids))
    expect(e.message).toMatch(/id boom/)
  })

  // Baileys runs `ids.map(...)`, which skips holes: one entry per id that is in the array.
  test('get with a sparse ids array skips the holes, as ids.map does', async () => {
    await state.keys.set({ 'pre-key': { undefined: { v: 'undefined-file' } } })
    const ids = [, '1', , '9'] // eslint-disable-line no-sparse-arrays
    const r = await state.keys.get('pre-key', ids)
    await state.keys.set({ 'pre-key': { undefined: null } })
    expect(Object.keys(r).sort()).toEqual(['1', '9'])
    expect(r[9]).toBeNull()
  })

  test('get with a Symbol as type or id', async () => {
    const e1 = await expectRejection(() => state.keys.get(Symbol('t'), ['1']))
    expect(e1.name).toBe('TypeError')
    const e2 = await expectRejection(() => state.keys.get('pre-key', ['1', Symbol('id')]))
    expect(e2.name).toBe('TypeError')
  })

  const bigint = { n: 10n }
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  const cyclicArray = [1]
  cyclicArray.push({ back: cyclicArray })
  const throwingGetter = {}
  Object.defineProperty(throwingGetter, 'x', {
    enumerable: true,
    get() {
      throw new Error('getter boom')
    },
  })

  test.each([
    ['a BigInt value', 10n],
    ['a BigInt inside a value', bigint],
    ['a cyclic value', cyclic],
    ['a cyclic array', cyclicArray],
    ['a value with a throwing getter', throwingGetter],
  ])('set with %s: rejects, and nothing of that call is written', async (_label, bad) => {
    const before = jsonFiles(dir)
    const data = {
      'pre-key': { 1: { v: 'new' }, 2: { v: 'two' }, 3: bad, 4: { v: 'four' } },
      session: { 'x:1@s.whatsapp.net': Buffer.from('session') },
    }
    const setP = callSync(() => state.keys.set(data))
    // a get issued right after still answers (with the old values)
    const getP = state.keys.get('pre-key', ['1', '2', '3', '4'])
    expect(setP.threw).toBeUndefined()
    let rejected = false
    await setP.promise.catch(() => (rejected = true))
    expect(rejected).toBe(true)
    const r = await getP
    expect(r[1]).toEqual({ v: 'old' })
    expect(r[2]).toBeNull()
    expect(r[3]).toBeNull()
    expect(r[4]).toBeNull()
    expect(jsonFiles(dir)).toEqual(before)
    expect(readJson(dir, 'pre-key-1.json')).toEqual({ v: 'old' })
  })

  test('a throwing getter on the data object itself rejects', async () => {
    const data = {}
    Object.defineProperty(data, 'pre-key', {
      enumerable: true,
      get() {
        throw new Error('category boom')
      },
    })
    const e = await expectRejection(() => state.keys.set(data))
    expect(e.message).toMatch(/category boom/)
    expect(readJson(dir, 'pre-key-1.json')).toEqual({ v: 'old' })
  })

  test('saveCreds with a cyclic or BigInt creds rejects and leaves creds.json as it was', async () => {
    await saveCreds()
    const before = fs.readFileSync(path.join(dir, 'creds.json'))
    state.creds.loop = state.creds
    await expectRejection(() => saveCreds())
    delete state.creds.loop
    state.creds.big = 1n
    await expectRejection(() => saveCreds())
    delete state.creds.big
    expect(fs.readFileSync(path.join(dir, 'creds.json')).equals(before)).toBe(true)
    // and the store goes on working
    state.creds.platform = 'smba'
    await saveCreds()
    expect(readJson(dir, 'creds.json').platform).toBe('smba')
  })

  test('after the rejections the store still works and keeps order', async () => {
    const p = state.keys.set({ 'pre-key': { 1: { v: 'after' } } })
    const g = state.keys.get('pre-key', ['1'])
    await p
    expect((await g)[1]).toEqual({ v: 'after' })
  })
})
