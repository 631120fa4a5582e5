'use strict'
// Differential property tests of our SQLite backend (`useSqliteAuthState`)
// against the real Baileys packages: the values of support/arbitraries.js
// (the generators of differential.test.js), stored through ours and read
// back, for each line:
// - what `get` answers equals `JSON.parse(JSON.stringify(v, BufferJSON.replacer), BufferJSON.reviver)`
//   of that line (or null, where that line's reviver throws, as its released
//   helper answers), and a falsy value deletes;
// - the stored `value` is, byte for byte, `JSON.stringify(v, BufferJSON.replacer)`
//   (the database is read with better-sqlite3 directly);
// - a `set` that also holds a value JSON.stringify refuses rejects, and
//   nothing of it reaches the database;
// and random ids (weird unicode, lone surrogates, '/', ':', NUL, very long)
// and types round trip: `listIds` gives exactly the ids as stored (no
// fixFileName; lone surrogates become U+FFFD, as in any UTF-8 TEXT), in
// SQLite's order (bytewise), and `get` finds every one.
//
//   node --experimental-vm-modules node_modules/jest/bin/jest.js __test__/sqlite-differential.test.js
//
// Cases per run: SQLITE_DIFF_CASES (default 10,000): 80% values (half per
// line), 20% ids, in `set` calls of BATCH keys each.
// Realms: as in differential.test.js (values are built in jest's realm,
// boxed primitives with the main realm's constructors, compared with `dump`).

const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')

const A = require('./support/arbitraries.js')
const T = require('./support/sqlite-tools.js')
const { fc } = A

const BATCH = 50
const CASES = (() => {
  const n = Number(process.env.SQLITE_DIFF_CASES)
  return Number.isFinite(n) && n >= 4 * BATCH ? Math.floor(n) : 10000
})()
const VALUE_RUNS = Math.max(1, Math.round((CASES * 0.4) / BATCH)) // per line
const ID_RUNS = Math.max(1, Math.round((CASES * 0.2) / BATCH))

let native, lines, tmpRoot
beforeAll(async () => {
  native = require('../index.js')
  lines = { v6: require('@whiskeysockets/baileys'), v7: await import('baileys') }
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-sqlite-diff-'))
})
afterAll(() => {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true })
})

/** Our store on a new file (durability is not what is tested here), and a better-sqlite3 reader beside it. */
async function openPair(tag, options) {
  const dbPath = path.join(tmpRoot, `${tag}.db`)
  const store = await native.useSqliteAuthState({ dbPath }, { fsync: false, ...options })
  const db = new (T.betterSqlite())(dbPath, { readonly: true })
  const row = db.prepare('SELECT CAST(value AS BLOB) AS value FROM signal_keys WHERE type = ? AND id = ?')
  const count = db.prepare('SELECT count(*) AS n FROM signal_keys')
  return {
    store,
    dbPath,
    rowOf: (type, id) => row.get(type, id)?.value,
    rowCount: () => count.get().n,
    all: () => db.prepare('SELECT type, id, hex(value) AS value FROM signal_keys ORDER BY type, id').all(),
    async close() {
      db.close()
      await store.close()
    },
  }
}

/** One batch of `[type, id, valueRecipe, where]`, deduplicated by the key as stored. */
const valueBatchArb = fc
  .array(fc.tuple(fc.constantFrom(...A.KEY_TYPES), A.idArb, A.storeValueArb, fc.constantFrom('own', 'own', 'own', 'inherited')), {
    minLength: BATCH,
    maxLength: BATCH,
  })
  .map((entries) => {
    const seen = new Set()
    return entries.filter(([type, id]) => {
      // an id `__proto__` makes `get`'s answer set its prototype (as Baileys'
      // `data[id] = value` does): listIds covers it, below
      if (id === '__proto__') return false
      const k = `${type}\u0000${T.asStored(id)}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
  })

describe.each(['v6', 'v7'])('SQLite backend, flavor %s: random values, batched', (line) => {
  let pair
  beforeAll(async () => {
    pair = await openPair(`values-${line}`, { flavor: line })
  })
  afterAll(async () => {
    if (pair) await pair.close()
  })

  test(`get(set(v)) equals JSON.parse(JSON.stringify(v, replacer), reviver) and the row is JSON.stringify's bytes (${VALUE_RUNS} sets of ${BATCH})`, async () => {
    const { BufferJSON } = lines[line]
    // What Baileys' helper writes for a recipe (undefined where it would not write), built fresh.
    const textOf = (spec) => {
      const r = A.outcome(() => {
        const v = A.build(spec)
        return v ? JSON.stringify(v, BufferJSON.replacer) : null
      }, (x) => x)
      return r[0] === 'ok' ? r[1] : undefined
    }
    let stored = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(valueBatchArb, async (batch) => {
        // Values JSON.stringify refuses (a BigInt, a cycle, a throwing getter,
        // a top-level undefined) and the few huge-`length` ones (a known
        // departure, see arbitraries.js) are kept out of the batch …
        const unstorable = []
        const plan = batch.map(([type, id, spec, where]) => {
          const truthy = A.outcome(() => Boolean(A.build(spec)), String)
          if (truthy[0] === 'ok' && truthy[1] === 'false') return { type, id, spec, where, text: null }
          const text = textOf(spec)
          if (text === undefined || text === null) {
            unstorable.push([type, id, spec, where])
            return { type, id, spec: ['null'], where, text: null }
          }
          if (A.hugeLength(text)) return { type, id, spec: ['null'], where, text: null }
          return { type, id, spec, where, text }
        })
        const toSet = plan.map((p) => [p.type, p.id, p.spec, p.where])

        // … and one of them, added to the batch, makes the whole call reject, writing nothing.
        if (unstorable.length) {
          refused++
          const before = pair.all()
          const data = A.buildSetData([...toSet, [unstorable[0][0], `refused-${unstorable[0][1]}`, unstorable[0][2], 'own']], A.build)
          await expect(pair.store.state.keys.set(data)).rejects.toBeDefined()
          expect(pair.all()).toEqual(before)
        }

        await pair.store.state.keys.set(A.buildSetData(toSet, A.build))

        const byType = new Map()
        for (const p of plan) byType.set(p.type, [...(byType.get(p.type) || []), p])
        for (const [type, ps] of byType) {
          const got = await pair.store.state.keys.get(
            type,
            ps.map((p) => p.id),
          )
          for (const p of ps) {
            let expected = 'null'
            if (p.text !== null) {
              const r = A.outcome(() => JSON.parse(p.text, BufferJSON.reviver))
              expected = r[0] === 'ok' ? r[1] : 'null' // the released helper answers null where its reviver throws
              stored++
            }
            const actual = A.dump(got[p.id])
            if (actual !== expected) throw new A.DifferenceError(`get differs for ${type} ${JSON.stringify(p.id)}`, actual, expected)
            const bytes = pair.rowOf(type, T.asStored(p.id))
            if (p.text === null) {
              if (bytes !== undefined) throw new A.DifferenceError(`a deleted key has a row: ${type} ${JSON.stringify(p.id)}`, bytes.toString('latin1'), null)
            } else if (!bytes || !bytes.equals(Buffer.from(p.text))) {
              throw new A.DifferenceError(`stored bytes differ for ${type} ${JSON.stringify(p.id)}`, bytes && bytes.toString('latin1'), p.text)
            }
          }
        }
      }),
      { numRuns: VALUE_RUNS },
    )
    // the generators did reach both sides of the property
    expect(stored).toBeGreaterThan(VALUE_RUNS * 10)
    expect(refused).toBeGreaterThan(0)
  })
})

// Ids (and types) as unusual as a JS string gets.
const oddUnit = fc.oneof(
  { weight: 6, arbitrary: A.codeUnitArb },
  { weight: 2, arbitrary: A.astralArb },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', '/', ':', '::', '__', '-', '.', '@', '\\', '%', "'", '"', ' ', '\u2028', '\ufeff', 'e\u0301', '🏳️‍🌈') },
)
const oddIdArb = fc.oneof(
  { weight: 3, arbitrary: A.idArb },
  { weight: 4, arbitrary: fc.array(oddUnit, { maxLength: 16 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u0000', 'a\u0000b', '\u0000\u0000', '/', ':', '../..', 'x'.repeat(2000), '\ud83d\ude00\u0000😀', '__proto__', 'constructor', 'hasOwnProperty') },
)
const idBatchArb = fc.record({
  typeTail: fc.array(oddUnit, { maxLength: 6 }).map((a) => a.join('')),
  ids: fc.uniqueArray(oddIdArb, { minLength: BATCH, maxLength: BATCH, selector: T.asStored }),
})

/** SQLite's TEXT order (BINARY collation on UTF-8): bytewise. */
const bytewise = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))

test(`random ids and types: listIds gives exactly the ids as stored, in SQLite's order, and get finds each (${ID_RUNS} sets of ${BATCH})`, async () => {
  const pair = await openPair('ids')
  const { keys } = pair.store.state
  let n = 0
  // every case's ids also go into one shared type, listed at the end: many pages of the wrapper's paging
  const PAGED = 'paged'
  const pagedIds = new Set()
  try {
    await fc.assert(
      fc.asyncProperty(idBatchArb, async ({ typeTail, ids }) => {
        // a type of its own per case (types are stored as given too)
        const type = `t${n++}/${typeTail}`
        const data = {}
        Object.defineProperty(data, type, { value: {}, enumerable: true })
        ids.forEach((id, i) => Object.defineProperty(data[type], id, { value: { i, b: Buffer.from([i]) }, enumerable: true }))
        Object.defineProperty(data, PAGED, { value: {}, enumerable: true })
        for (const id of ids) {
          Object.defineProperty(data[PAGED], id, { value: 1, enumerable: true })
          pagedIds.add(T.asStored(id))
        }
        await keys.set(data)

        const listed = []
        for await (const id of keys.listIds(type)) listed.push(id)
        const expected = ids.map(T.asStored).sort(bytewise)
        if (JSON.stringify(listed) !== JSON.stringify(expected)) throw new A.DifferenceError(`listIds(${JSON.stringify(type)})`, listed, expected)
        // a row per id, type and id exactly as stored
        for (const id of ids) if (!pair.rowOf(T.asStored(type), T.asStored(id))) throw new A.DifferenceError(`no row for ${JSON.stringify(id)}`, null, id)

        // get with the ids as given, and with the ids listIds gave
        const asked = ids.filter((id) => id !== '__proto__')
        const got = await keys.get(type, asked)
        for (const id of asked) {
          const i = ids.indexOf(id)
          if (A.dump(got[id]) !== A.dump({ i, b: Buffer.from([i]) })) throw new A.DifferenceError(`get(${JSON.stringify(id)})`, A.dump(got[id]), i)
        }
        const again = await keys.get(
          type,
          listed.filter((id) => id !== '__proto__'),
        )
        for (const id of listed.filter((x) => x !== '__proto__')) if (!again[id] || !Buffer.isBuffer(again[id].b)) throw new A.DifferenceError(`get(listed ${JSON.stringify(id)})`, A.dump(again[id]), 'a value')

        // deleting every other id leaves exactly the rest
        const gone = {}
        ids.forEach((id, i) => i % 2 === 0 && Object.defineProperty(gone, id, { value: null, enumerable: true }))
        const del = {}
        Object.defineProperty(del, type, { value: gone, enumerable: true })
        await keys.set(del)
        const left = []
        for await (const id of keys.listIds(type)) left.push(id)
        const kept = ids.filter((_, i) => i % 2 === 1).map(T.asStored).sort(bytewise)
        if (JSON.stringify(left) !== JSON.stringify(kept)) throw new A.DifferenceError(`listIds after deletes`, left, kept)
      }),
      { numRuns: ID_RUNS },
    )
    const listed = []
    for await (const id of keys.listIds(PAGED)) listed.push(id)
    expect(listed.length).toBe(pagedIds.size)
    expect(listed).toEqual([...pagedIds].sort(bytewise))
    // list() gives every listed id with its value (`__proto__` included)
    const entries = []
    for await (const [id, v] of keys.list(PAGED)) if (v === 1) entries.push(id)
    expect(entries).toEqual(listed)
    expect(T.integrity(pair.dbPath)).toEqual(['ok'])
  } finally {
    await pair.close()
  }
})
