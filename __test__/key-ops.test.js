'use strict'
// Key operations on whole folders written by Baileys' own helper (both
// lines): `keys.listIds`, `keys.list`, `keys.clear`, and `withListing` over
// Baileys' helper state. Type prefixes (`sender-key` vs `sender-key-memory`,
// `app-state-sync-key` vs `app-state-sync-version`), ids with `/` and `::`,
// and memory while listing a large folder (in a child process).
//
// The large folder has 20,000 files by default; BIG=1 makes it 100,000.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ours = require('..')
const { tmpDirs, baileysLines, sampleData, listedId, asListed, writeWithBaileys, collect, firstDifference } = require('./support/tools-fixtures.js')

const dir = tmpDirs('keyops')
afterAll(() => dir.cleanup())

let lines
beforeAll(async () => {
  lines = await baileysLines()
})

describe.each(['v6', 'v7'])('a folder written by Baileys %s', (line) => {
  let lib
  let folder
  let data
  let listed
  let mine
  let theirs
  beforeAll(async () => {
    lib = lines[line]
    folder = path.join(dir(line), 'auth')
    data = sampleData(lib.proto)
    listed = asListed(data)
    await writeWithBaileys(lib, folder, data)
    // Files that are not keys of any type must never be listed.
    fs.writeFileSync(path.join(folder, 'notes.json'), '{}')
    fs.writeFileSync(path.join(folder, 'session-old.json.corrupt-1700000000000'), '{')
    fs.writeFileSync(path.join(folder, '.baileys-auth-tmp-999999-1'), '{}')
    mine = await ours.useMultiFileAuthState(folder, { proto: lib.proto, flavor: line, lock: false })
    theirs = await lib.useMultiFileAuthState(folder)
  })

  test('listIds gives every id of each type, and only that type (prefix-safe)', async () => {
    for (const type of ours.KEY_TYPES) {
      const ids = await collect(mine.state.keys.listIds(type))
      expect([type, ids.sort()]).toEqual([type, Object.keys(listed[type] ?? {}).sort()])
    }
    expect(await collect(mine.state.keys.listIds('sender-key'))).not.toContain('memory-120363-456@g.us')
    expect(await collect(mine.state.keys.listIds('app-state-sync-key'))).not.toContain('version-critical_block')
    expect(await collect(mine.state.keys.listIds('no-such-type'))).toEqual([])
  })

  test('ids with / and :: come back exactly; a : of another type comes back as - and still names the file', async () => {
    expect((await collect(mine.state.keys.listIds('app-state-sync-key'))).sort()).toEqual(['AAAAAPS/x+==', 'aB/cD=='])
    expect((await collect(mine.state.keys.listIds('sender-key'))).sort()).toEqual([
      '120363-456@g.us::4915112345678::0',
      '120363-456@g.us::98765432109876@lid::3',
    ])
    expect(await collect(mine.state.keys.listIds('session'))).toContain('4915112345678-4@s.whatsapp.net')
    expect(listedId('session', '4915112345678:4@s.whatsapp.net')).toBe('4915112345678-4@s.whatsapp.net')
    // Baileys reads by the listed id the same file it wrote under the original one.
    const b = await theirs.state.keys.get('session', ['4915112345678-4@s.whatsapp.net'])
    expect(firstDifference(b['4915112345678-4@s.whatsapp.net'], data.session['4915112345678:4@s.whatsapp.net'])).toBeNull()
  })

  test('list gives [id, value] pairs equal to what Baileys reads for each id', async () => {
    for (const type of ours.KEY_TYPES) {
      const entries = await collect(mine.state.keys.list(type))
      const ids = entries.map(([id]) => id)
      expect([type, ids.slice().sort()]).toEqual([type, Object.keys(listed[type] ?? {}).sort()])
      const b = await theirs.state.keys.get(type, ids)
      for (const [id, value] of entries) {
        expect([type, id, firstDifference(value, b[id])]).toEqual([type, id, null])
        expect([type, id, firstDifference(value, listed[type][id])]).toEqual([type, id, null])
      }
    }
    const [[, appKey]] = await collect(mine.state.keys.list('app-state-sync-key'))
    expect(appKey).toBeInstanceOf(lib.proto.Message.AppStateSyncKeyData)
  })

  test("withListing adds list and listIds to Baileys' own helper state; values read by Baileys", async () => {
    const wrapped = ours.withListing(folder, theirs)
    expect(wrapped.state.creds).toBe(theirs.state.creds)
    expect(wrapped.saveCreds).toBe(theirs.saveCreds)
    expect(theirs.state.keys.list).toBeUndefined()
    for (const type of ours.KEY_TYPES) {
      expect([type, await collect(wrapped.state.keys.listIds(type))]).toEqual([type, await collect(mine.state.keys.listIds(type))])
      const a = await collect(wrapped.state.keys.list(type))
      const b = await collect(mine.state.keys.list(type))
      expect(a.map((e) => e[0])).toEqual(b.map((e) => e[0]))
      for (let i = 0; i < a.length; i++) expect([type, a[i][0], firstDifference(a[i][1], b[i][1])]).toEqual([type, a[i][0], null])
    }
    // Baileys' own reviver made these: a v7 app-state key is a proto message from Baileys' get.
    const [[, k]] = await collect(wrapped.state.keys.list('app-state-sync-key'))
    expect(k).toBeInstanceOf(lib.proto.Message.AppStateSyncKeyData)
    // A bare state works too, and get/set still go to Baileys.
    const bare = ours.withListing(folder, theirs.state)
    expect(bare.creds).toBe(theirs.state.creds)
    expect((await collect(bare.keys.listIds('pre-key'))).sort()).toEqual(['1', '2', '812'])
    // A missing folder lists nothing.
    expect(await collect(ours.withListing(path.join(folder, 'nope'), theirs).state.keys.listIds('pre-key'))).toEqual([])
  })

  test('clear deletes every key file; creds.json and other files stay; Baileys then reads nothing', async () => {
    const copy = path.join(dir(`${line}-clear`), 'auth')
    await writeWithBaileys(lib, copy, data)
    fs.writeFileSync(path.join(copy, 'README'), 'keep')
    const state = await ours.useMultiFileAuthState(copy)
    await state.state.keys.clear()
    expect(fs.readdirSync(copy).sort()).toEqual(['.baileys-auth.lock', 'README', 'creds.json'])
    for (const type of ours.KEY_TYPES) expect(await collect(state.state.keys.listIds(type))).toEqual([])
    const b = await lib.useMultiFileAuthState(copy)
    const got = await b.state.keys.get('sender-key', Object.keys(data['sender-key']))
    expect(Object.values(got).every((v) => v === null || v === undefined)).toBe(true)
    expect(b.state.creds.registered).toBe(true)
  })
})

describe('listing a large folder', () => {
  const BIG = process.env.BIG === '1'
  const COUNT = BIG ? 100_000 : 20_000
  const VALUE_BYTES = 4096

  test(`list over ${COUNT.toLocaleString('en-US')} files keeps memory bounded (child process)`, () => {
    const folder = path.join(dir('big'), 'auth')
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', path.join(__dirname, 'support', 'list-rss-child.js'), folder, String(COUNT), String(VALUE_BYTES)],
      { maxBuffer: 1 << 24, env: { ...process.env } },
    )
    const r = JSON.parse(out)
    expect(r.seen).toBe(COUNT)
    expect(r.sumI).toBe((COUNT * (COUNT - 1)) / 2)
    expect(r.bytesOk).toBe(true)
    // Holding every value would take COUNT × 4 KiB (80 MB at 20,000 files):
    // iterating must not grow the resident set by anything like it.
    const base = r.samples[0].rss
    const peak = Math.max(...r.samples.map((s) => s.rss))
    const growth = peak - base
    const held = COUNT * VALUE_BYTES
    expect(growth).toBeLessThan(Math.min(48 * 2 ** 20, held / 2))
    const heapPeak = Math.max(...r.samples.map((s) => s.heap))
    expect(heapPeak - r.samples[0].heap).toBeLessThan(held / 4)
  })
})
