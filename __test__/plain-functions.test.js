'use strict'
// The plain functions (loadCredentials, saveCredentials, loadKeys, saveKeys,
// deleteKeys) on real folders written by Baileys' own helper, both lines: what
// they read equals what Baileys reads, what they write Baileys reads back
// (byte for byte as Baileys writes it), the folder lock, the default folder
// and the arity rule.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ours = require('..')
const { POSIX, holderPid, storePath } = require('./support/platform.js')
const {
  PKG,
  tmpDirs,
  baileysLines,
  sampleData,
  writeWithBaileys,
  holdFolder,
  firstDifference,
  keyPair,
  rb,
} = require('./support/tools-fixtures.js')

const dir = tmpDirs('plain')
afterAll(() => dir.cleanup())

let lines
beforeAll(async () => {
  lines = await baileysLines()
})

describe.each(['v6', 'v7'])('against Baileys %s', (line) => {
  let lib
  let folder
  let data
  beforeAll(async () => {
    lib = lines[line]
    folder = path.join(dir(line), 'auth')
    data = sampleData(lib.proto)
    await writeWithBaileys(lib, folder, data)
  })

  test('loadCredentials reads what Baileys saved, equal to what Baileys reads', async () => {
    const creds = await ours.loadCredentials(folder, { flavor: line })
    const { state } = await lib.useMultiFileAuthState(folder)
    expect(firstDifference(creds, state.creds)).toBeNull()
    expect(creds.me.id).toBe('4915112345678:12@s.whatsapp.net')
    expect(Buffer.isBuffer(creds.noiseKey.private)).toBe(true)
  })

  test('loadKeys reads every key Baileys wrote, equal to what Baileys reads (ids with / and ::)', async () => {
    const { state } = await lib.useMultiFileAuthState(folder)
    for (const [type, byId] of Object.entries(data)) {
      const theirs = await state.keys.get(type, Object.keys(byId))
      for (const id of Object.keys(byId)) {
        const mine = await ours.loadKeys(folder, type, id, { proto: lib.proto, flavor: line })
        expect([type, id, firstDifference(mine, theirs[id])]).toEqual([type, id, null])
        expect([type, id, firstDifference(mine, byId[id])]).toEqual([type, id, null])
      }
    }
    const appKey = await ours.loadKeys(folder, 'app-state-sync-key', 'AAAAAPS/x+==', { proto: lib.proto })
    expect(appKey).toBeInstanceOf(lib.proto.Message.AppStateSyncKeyData)
    expect(Buffer.isBuffer(appKey.keyData)).toBe(true)
    // Without proto: an equal plain object whose keyData is bytes.
    const plainKey = await ours.loadKeys(folder, 'app-state-sync-key', 'AAAAAPS/x+==')
    expect(Buffer.isBuffer(plainKey.keyData)).toBe(true)
    expect(firstDifference(plainKey, appKey)).toBeNull()
    // The sender-key-memory file is not a sender key of the same group.
    expect(await ours.loadKeys(folder, 'sender-key', '120363-456@g.us')).toBeNull()
    expect(await ours.loadKeys(folder, 'sender-key-memory', '120363-456@g.us')).toEqual(data['sender-key-memory']['120363-456@g.us'])
    expect(await ours.loadKeys(folder, 'pre-key', 999)).toBeNull()
    // `String(id)`, as Baileys' template literal.
    expect(firstDifference(await ours.loadKeys(folder, 'pre-key', 812), data['pre-key'][812])).toBeNull()
  })

  test('saveKeys / deleteKeys write what Baileys reads, byte for byte as Baileys writes', async () => {
    const mine = path.join(dir(`${line}-w`), 'auth')
    const theirs = path.join(dir(`${line}-w`), 'auth')
    const b = await lib.useMultiFileAuthState(theirs)
    for (const [type, byId] of Object.entries(data)) {
      for (const [id, value] of Object.entries(byId)) await ours.saveKeys(mine, type, id, value)
    }
    await b.state.keys.set(data)
    const names = fs.readdirSync(theirs).filter((n) => n.endsWith('.json') && n !== 'creds.json').sort()
    expect(fs.readdirSync(mine).filter((n) => n.endsWith('.json')).sort()).toEqual(names)
    for (const n of names) expect([n, fs.readFileSync(path.join(mine, n)).equals(fs.readFileSync(path.join(theirs, n)))]).toEqual([n, true])
    // Baileys reads our files.
    const reader = await lib.useMultiFileAuthState(mine)
    const got = await reader.state.keys.get('sender-key', Object.keys(data['sender-key']))
    for (const id of Object.keys(data['sender-key'])) expect(firstDifference(got[id], data['sender-key'][id])).toBeNull()

    await ours.deleteKeys(mine, 'sender-key', '120363-456@g.us::4915112345678::0')
    await ours.deleteKeys(mine, 'sender-key', 'never-there') // missing: not an error
    expect(fs.existsSync(path.join(mine, 'sender-key-120363-456@g.us--4915112345678--0.json'))).toBe(false)
    expect(fs.existsSync(path.join(mine, 'sender-key-memory-120363-456@g.us.json'))).toBe(true)
    // A falsy value deletes, as keys.set does.
    await ours.saveKeys(mine, 'pre-key', 1, null)
    expect(await ours.loadKeys(mine, 'pre-key', 1)).toBeNull()
    expect((await reader.state.keys.get('pre-key', ['1']))['1']).toBeFalsy()
  })

  test('saveCredentials writes creds.json as Baileys saveCreds does', async () => {
    const theirs = path.join(dir(`${line}-c`), 'auth')
    const mine = path.join(dir(`${line}-c`), 'auth')
    const b = await lib.useMultiFileAuthState(theirs)
    b.state.creds.me = { id: '1:2@s.whatsapp.net' }
    await b.saveCreds()
    await ours.saveCredentials(mine, b.state.creds)
    expect(fs.readFileSync(path.join(mine, 'creds.json')).equals(fs.readFileSync(path.join(theirs, 'creds.json')))).toBe(true)
    const back = await lib.useMultiFileAuthState(mine)
    expect(firstDifference(back.state.creds, b.state.creds)).toBeNull()
    // (Windows has no modes)
    if (POSIX) expect(fs.statSync(path.join(mine, 'creds.json')).mode & 0o777).toBe(0o600)
  })
})

describe('credentials', () => {
  test('a missing folder gives fresh credentials and is not created', async () => {
    const folder = path.join(dir('fresh'), 'not', 'there')
    const creds = await ours.loadCredentials(folder)
    expect(creds.registered).toBe(false)
    expect(creds.signedPreKey.keyId).toBe(1)
    expect(Buffer.isBuffer(creds.signedIdentityKey.public)).toBe(true)
    expect(fs.existsSync(folder)).toBe(false)
    expect(await ours.loadKeys(folder, 'session', 'x')).toBeNull()
    await ours.deleteKeys(folder, 'session', 'x')
    await ours.saveKeys(folder, 'session', 'x', null)
    expect(fs.existsSync(folder)).toBe(false)
    // The v6 key set with flavor v6.
    expect('additionalData' in (await ours.loadCredentials(folder, { flavor: 'v6' }))).toBe(false)
  })

  test('a corrupt creds.json rejects with AuthFileCorruptError and is left as it was', async () => {
    const folder = dir('corrupt')
    fs.writeFileSync(path.join(folder, 'creds.json'), '{"noiseKey":{"private":{"type":"Buf')
    const err = await ours.loadCredentials(folder).catch((e) => e)
    expect(err).toBeInstanceOf(ours.AuthFileCorruptError)
    expect(err.path).toBe(path.join(storePath(folder), 'creds.json'))
    expect(fs.readFileSync(path.join(folder, 'creds.json'), 'utf8')).toBe('{"noiseKey":{"private":{"type":"Buf')
    // Keys of that folder still read and write.
    await ours.saveKeys(folder, 'pre-key', 5, keyPair())
    expect(await ours.loadKeys(folder, 'pre-key', 5)).toHaveProperty('public')
    // saveCredentials replaces it (an explicit write).
    const fresh = ours.initAuthCreds()
    await ours.saveCredentials(folder, fresh)
    expect(firstDifference(await ours.loadCredentials(folder), fresh)).toBeNull()
  })

  test('saveCredentials needs an object; a folder that is a file is refused with Baileys wording', async () => {
    const folder = dir('bad')
    await expect(ours.saveCredentials(folder, null)).rejects.toHaveProperty('name', 'TypeError')
    await expect(ours.saveCredentials(folder, 'x')).rejects.toHaveProperty('name', 'TypeError')
    const file = path.join(folder, 'file')
    fs.writeFileSync(file, 'x')
    await expect(ours.loadCredentials(file)).rejects.toThrow(/found something that is not a directory/)
    await expect(ours.saveKeys(file, 'pre-key', 1, { a: 1 })).rejects.toThrow(/found something that is not a directory/)
  })
})

describe('options, ordering and names', () => {
  test('flavor reaches the reader: {"0":1,"1":2} is a Buffer for v7, an object for v6', async () => {
    const folder = dir('flavor')
    fs.writeFileSync(path.join(folder, 'session-old.json'), '{"k":{"0":1,"1":2}}')
    expect((await ours.loadKeys(folder, 'session', 'old', { flavor: 'v7' })).k).toEqual(Buffer.from([1, 2]))
    expect((await ours.loadKeys(folder, 'session', 'old', { flavor: 'v6' })).k).toEqual({ 0: 1, 1: 2 })
    await expect(ours.loadKeys(folder, 'session', 'old', { flavor: 'v8' })).rejects.toHaveProperty('name', 'TypeError')
  })

  test('fsync writes the same bytes', async () => {
    const folder = dir('fsync')
    const v = { a: rb(16) }
    await ours.saveKeys(folder, 'session', 'a', v, { fsync: true })
    await ours.saveKeys(folder, 'session', 'b', v)
    expect(fs.readFileSync(path.join(folder, 'session-a.json')).equals(fs.readFileSync(path.join(folder, 'session-b.json')))).toBe(true)
  })

  test('calls on one key run in the order they are made (no await in between)', async () => {
    const folder = dir('order')
    const writes = []
    for (let i = 0; i < 20; i++) writes.push(ours.saveKeys(folder, 'session', 's', { i }))
    const read = ours.loadKeys(folder, 'session', 's')
    const del = ours.deleteKeys(folder, 'session', 's')
    const after = ours.loadKeys(folder, 'session', 's')
    await Promise.all(writes)
    expect(await read).toEqual({ i: 19 })
    await del
    expect(await after).toBeNull()
  })

  test('a logger hears about an unreadable key file, which reads as null and is moved aside', async () => {
    const folder = dir('logger')
    fs.writeFileSync(path.join(folder, 'session-bad.json'), '{"a":')
    const warnings = []
    expect(await ours.loadKeys(folder, 'session', 'bad', { logger: { warn: (m) => warnings.push(m) } })).toBeNull()
    expect(warnings.join()).toMatch(/session-bad.json is corrupt/)
    expect(fs.readdirSync(folder).some((n) => n.startsWith('session-bad.json.corrupt-'))).toBe(true)
  })

  test('a name no file can have is refused on write and reads as missing', async () => {
    const folder = dir('names')
    await expect(ours.saveKeys(folder, 'session', 'a\0b', { a: 1 })).rejects.toHaveProperty('name', 'TypeError')
    expect(await ours.loadKeys(folder, 'session', 'a\0b')).toBeNull()
    await ours.deleteKeys(folder, 'session', 'a\0b')
  })
})

describe('the folder argument', () => {
  const saved = process.env.BAILEYS_AUTH_DIR
  afterEach(() => {
    if (saved === undefined) delete process.env.BAILEYS_AUTH_DIR
    else process.env.BAILEYS_AUTH_DIR = saved
  })

  test('told apart by the number of arguments; BAILEYS_AUTH_DIR read at call time', async () => {
    const a = dir('env-a')
    const b = dir('env-b')
    process.env.BAILEYS_AUTH_DIR = a
    await ours.saveKeys('session', 'x', { at: 'a' })
    process.env.BAILEYS_AUTH_DIR = b
    await ours.saveKeys('session', 'x', { at: 'b' })
    await ours.saveCredentials(ours.initAuthCreds())
    expect(await ours.loadKeys(a, 'session', 'x')).toEqual({ at: 'a' })
    expect(await ours.loadKeys('session', 'x')).toEqual({ at: 'b' })
    expect(fs.existsSync(path.join(b, 'creds.json'))).toBe(true)
    expect(fs.existsSync(path.join(a, 'creds.json'))).toBe(false)
    expect((await ours.loadCredentials()).registered).toBe(false)
    await ours.deleteKeys('session', 'x')
    expect(await ours.loadKeys('session', 'x')).toBeNull()
    expect(await ours.loadKeys(a, 'session', 'x')).toEqual({ at: 'a' })
    // An undefined folder in the folder form is the default folder too.
    expect(await ours.loadKeys(undefined, 'session', 'x', {})).toBeNull()
    expect(ours.defaultAuthFolder()).toBe(b)
  })

  test('./auth_info_baileys of the working directory without BAILEYS_AUTH_DIR', () => {
    const cwd = dir('cwd')
    const env = { ...process.env }
    delete env.BAILEYS_AUTH_DIR
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const p = require(${JSON.stringify(PKG)});
         (async () => {
           await p.saveKeys('pre-key', 3, { n: 3 })
           console.log(JSON.stringify([p.defaultAuthFolder(), await p.loadKeys('pre-key', '3')]))
         })()`,
      ],
      { cwd, env },
    )
    expect(JSON.parse(out)).toEqual(['./auth_info_baileys', { n: 3 }])
    expect(fs.existsSync(path.join(cwd, 'auth_info_baileys', 'pre-key-3.json'))).toBe(true)
  })

  test('a wrong number of arguments or a non-string folder rejects (never throws)', async () => {
    const p = ours.loadKeys('a', 'b', 'c', {}, 'extra')
    expect(p).toBeInstanceOf(Promise)
    await expect(p).rejects.toThrow(/loadKeys takes 2 arguments without a folder, 3 with one, or 4/)
    await expect(ours.loadKeys('only-one')).rejects.toHaveProperty('name', 'TypeError')
    await expect(ours.saveKeys(42, 'session', 'x', { a: 1 })).rejects.toThrow(/folder must be a string/)
    await expect(ours.deleteKeys(dir('o'), 'session', 'x', 'not-options')).rejects.toThrow(/options must be an object/)
    await expect(ours.saveCredentials()).rejects.toHaveProperty('name', 'TypeError')
  })
})

describe('the folder lock', () => {
  test('writers are refused while another process owns the folder; readers work beside it', async () => {
    // Prepared with plain fs: this process must not take the lock itself.
    const owned = dir('lock')
    fs.writeFileSync(path.join(owned, 'session-x.json'), '{"v":1}')
    fs.writeFileSync(path.join(owned, 'creds.json'), ours.encodeAuthValue(ours.initAuthCreds()))
    const holder = await holdFolder(owned)
    try {
      for (const write of [
        ours.saveKeys(owned, 'session', 'x', { v: 2 }),
        ours.deleteKeys(owned, 'session', 'x'),
        ours.saveCredentials(owned, ours.initAuthCreds()),
      ]) {
        const err = await write.catch((e) => e)
        expect(err).toBeInstanceOf(ours.AuthFolderLockedError)
        expect(err.pid).toBe(holderPid(holder.pid))
      }
      expect(await ours.loadKeys(owned, 'session', 'x')).toEqual({ v: 1 })
      expect((await ours.loadCredentials(owned)).registered).toBe(false)
    } finally {
      await holder.release()
    }
  })

  test('in this process they share the lock with useMultiFileAuthState', async () => {
    const folder = dir('shared')
    const { state } = await ours.useMultiFileAuthState(folder)
    await ours.saveKeys(folder, 'session', 'y', { v: 1 })
    expect((await state.keys.get('session', ['y'])).y).toEqual({ v: 1 })
    await state.keys.set({ session: { y: { v: 2 } } })
    expect(await ours.loadKeys(folder, 'session', 'y')).toEqual({ v: 2 })
  })
})

test('the ESM entry exports the tools too', async () => {
  const esm = await import('../index.mjs')
  for (const name of ['loadCredentials', 'saveCredentials', 'loadKeys', 'saveKeys', 'deleteKeys', 'defaultAuthFolder', 'withListing', 'migrateAuthState', 'migrateAuthFolders', 'inspectFolder']) {
    expect([name, typeof esm[name]]).toEqual([name, 'function'])
    expect([name, typeof esm.default[name]]).toEqual([name, 'function'])
  }
  expect(esm.KEY_TYPES).toHaveLength(10)
})

// The plain writers open their folder as useMultiFileAuthState does, stale
// temporary files included (they used to skip that step and leave them).
describe('plain writers clean up after killed processes', () => {
  const STALE = '.baileys-auth-tmp-99999-3' // pid 99999: no such process here
  const until = async (cond, ms) => {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      if (cond()) return true
      await new Promise((r) => setTimeout(r, 25))
    }
    return cond()
  }
  test.each([
    ['saveCredentials', (f) => ours.saveCredentials(f, ours.initAuthCreds())],
    ['saveKeys', (f) => ours.saveKeys(f, 'pre-key', '1', { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) })],
    ['deleteKeys', (f) => ours.deleteKeys(f, 'pre-key', '1')],
  ])('%s removes a dead process\'s temporary file', async (_name, write) => {
    const folder = path.join(dir('stale-plain'), 'auth')
    fs.mkdirSync(folder, { recursive: true })
    fs.writeFileSync(path.join(folder, STALE), '{"torn')
    fs.writeFileSync(path.join(folder, '.keep-me'), 'x')
    await write(folder)
    expect(await until(() => !fs.existsSync(path.join(folder, STALE)), 5000)).toBe(true)
    expect(fs.readFileSync(path.join(folder, '.keep-me'), 'utf8')).toBe('x')
  })
})
