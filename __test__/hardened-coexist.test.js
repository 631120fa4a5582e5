'use strict'
// Living beside Baileys' hardened helper (its unreleased line; the contract
// document, "Baileys' hardened line"). There is no npm release of it to run,
// so its on-disk protocol is played by hand, as the contract describes it:
// a write puts the new bytes in `<name>.tmp`, renames `<name>` to
// `<name>.bak`, then renames the `.tmp` over `<name>` (a kill between the two
// renames leaves only the `.bak`, and the `.tmp`); a read takes `<name>`, or
// `<name>.bak` when `<name>` is missing or unreadable; a delete removes all
// three. Checked through the public API on folders in those states:
//
// 1. a delete (`keys.set` with a falsy value, `deleteKeys`) and `clear()`
//    remove the key's `.json.tmp` and `.json.bak` too, so that helper cannot
//    bring a deleted key back (`creds.json`'s stay with `clear()`);
// 2. a missing `creds.json` next to `creds.json.bak`, or an unreadable one
//    next to a backup, rejects `useMultiFileAuthState` and `loadCredentials`
//    with `AuthFileCorruptError` naming the backup and the `mv` that restores
//    it; nothing is written; an unreadable backup alone is an error too;
// 3. a key whose `.json` is missing or unreadable reads as its `.json.bak`
//    (the unreadable file moved aside, the warning saying the backup was
//    used); a `.json.tmp` alone is never read;
// 4. listing and `inspectFolder` never count a `.bak` or `.tmp` as a key;
// and Baileys' released helpers (v6, v7) read the folders as before.

const fs = require('node:fs')
const path = require('node:path')

const ours = require('..')
const { WINDOWS, moveCommand, storePath } = require('./support/platform.js')
const { tmpDirs, baileysLines, sampleData, writeWithBaileys, collect, firstDifference, keyPair } = require('./support/tools-fixtures.js')

const dir = tmpDirs('hardened')
afterAll(() => dir.cleanup())

let lines
let BufferJSON
let proto
beforeAll(async () => {
  lines = await baileysLines()
  ;({ BufferJSON, proto } = lines.v7)
})

const fileName = (type, id) => `${type}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')

/**
 * The hardened helper's write of `value` to `name`. `stopAfter: 'tmp'` is a
 * kill before its first rename, `'backup'` one between its two renames.
 */
function hardenedWrite(folder, name, value, { stopAfter } = {}) {
  const file = path.join(folder, name)
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, BufferJSON.replacer))
  if (stopAfter === 'tmp') return
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.bak`)
  if (stopAfter === 'backup') return
  fs.renameSync(`${file}.tmp`, file)
}

/** The hardened helper's read of `name`: the file, else its `.bak`, else null. */
function hardenedRead(folder, name) {
  for (const f of [name, `${name}.bak`]) {
    try {
      return JSON.parse(fs.readFileSync(path.join(folder, f), 'utf8'), BufferJSON.reviver)
    } catch {}
  }
  return null
}

/** Every file of the folder with its bytes, our lock file left out (opening takes it). */
function snapshot(folder) {
  const out = {}
  for (const n of fs.readdirSync(folder).sort()) if (n !== '.baileys-auth.lock') out[n] = fs.readFileSync(path.join(folder, n)).toString('base64')
  return out
}

const companions = (folder) => fs.readdirSync(folder).filter((n) => /\.json\.(bak|tmp)$/.test(n)).sort()

/** A folder written by Baileys v7's released helper, then by the hardened helper over some keys. */
async function hardenedFolder(sub) {
  const folder = path.join(dir(sub), 'auth')
  const data = sampleData(proto)
  await writeWithBaileys(lines.v7, folder, data)
  return { folder, data }
}

/**
 * Our reads against each released line's: every key of `data` whose `.json`
 * is there reads the same through ours, v6 and v7; the credentials too.
 */
async function expectReleasedReadTheSame(folder, data, { except = [] } = {}) {
  const mine = await ours.useMultiFileAuthState(folder, { proto, lock: false })
  for (const line of ['v6', 'v7']) {
    const lib = lines[line]
    const theirs = await lib.useMultiFileAuthState(folder)
    expect([line, firstDifference(mine.state.creds, theirs.state.creds)]).toEqual([line, null])
    for (const [type, byId] of Object.entries(data)) {
      const ids = Object.keys(byId).filter((id) => !except.includes(fileName(type, id)))
      const a = await mine.state.keys.get(type, ids)
      const b = await theirs.state.keys.get(type, ids)
      for (const id of ids) expect([line, type, id, firstDifference(a[id] ?? null, b[id] ?? null)]).toEqual([line, type, id, null])
    }
  }
}

describe('1. deletes take the hardened helper\'s .bak and .tmp along', () => {
  let folder
  let data
  let auth
  const sessionId = '4915112345678.0'
  const sessionFile = fileName('session', sessionId)
  beforeAll(async () => {
    ;({ folder, data } = await hardenedFolder('delete'))
    // Two hardened writes: each key's .bak holds the value before the last.
    for (const [type, id] of [['session', sessionId], ['pre-key', 1], ['pre-key', 2], ['pre-key', 812], ['sender-key', '120363-456@g.us::4915112345678::0']]) {
      hardenedWrite(folder, fileName(type, id), { generation: 1, of: `${type} ${id}` })
      hardenedWrite(folder, fileName(type, id), { generation: 2, of: `${type} ${id}` })
    }
    // A hardened saveCreds too: creds.json.bak is the credentials before it.
    const creds = JSON.parse(fs.readFileSync(path.join(folder, 'creds.json'), 'utf8'), BufferJSON.reviver)
    hardenedWrite(folder, 'creds.json', { ...creds, registered: true, platform: 'hardened' })
    // A kill mid-write: identity-key has only its .bak (and .tmp) left.
    hardenedWrite(folder, fileName('identity-key', '4915112345678.0'), { generation: 3 }, { stopAfter: 'backup' })
    auth = await ours.useMultiFileAuthState(folder, { proto })
  })

  test('keys.set with null removes <name>.json, .json.bak and .json.tmp; the helper reads nothing back', async () => {
    fs.writeFileSync(path.join(folder, `${sessionFile}.tmp`), '{"torn')
    expect(companions(folder)).toContain(`${sessionFile}.bak`)
    expect(hardenedRead(folder, sessionFile)).toEqual({ generation: 2, of: `session ${sessionId}` })
    await auth.state.keys.set({ session: { [sessionId]: null }, 'identity-key': { '4915112345678.0': null } })
    for (const name of [sessionFile, fileName('identity-key', '4915112345678.0')]) {
      for (const f of [name, `${name}.bak`, `${name}.tmp`]) expect([f, fs.existsSync(path.join(folder, f))]).toEqual([f, false])
      expect(hardenedRead(folder, name)).toBeNull()
    }
    const got = await auth.state.keys.get('session', [sessionId])
    expect(got[sessionId]).toBeNull()
  })

  test('every falsy value deletes the same way', async () => {
    for (const [v, id] of [[undefined, 1], [0, 2], ['', 812]]) {
      await auth.state.keys.set({ 'pre-key': { [id]: v } })
      const name = fileName('pre-key', id)
      expect([id, fs.existsSync(path.join(folder, name)), fs.existsSync(path.join(folder, `${name}.bak`)), hardenedRead(folder, name)]).toEqual([id, false, false, null])
    }
  })

  test('deleteKeys does too', async () => {
    const name = fileName('sender-key', '120363-456@g.us::4915112345678::0')
    expect(fs.existsSync(path.join(folder, `${name}.bak`))).toBe(true)
    await ours.deleteKeys(folder, 'sender-key', '120363-456@g.us::4915112345678::0')
    expect([fs.existsSync(path.join(folder, name)), fs.existsSync(path.join(folder, `${name}.bak`))]).toEqual([false, false])
    expect(hardenedRead(folder, name)).toBeNull()
  })

  test('Baileys\' released helpers read the remaining keys and the credentials as we do', async () => {
    await expectReleasedReadTheSame(folder, data)
  })

  test('clear() removes every key\'s .bak and .tmp (orphans too) and keeps creds.json\'s', async () => {
    // An orphan backup of a key whose .json is gone, and a stray .tmp.
    hardenedWrite(folder, fileName('device-list', '4915112345678'), ['0', '4'])
    hardenedWrite(folder, fileName('device-list', '4915112345678'), ['0'])
    fs.unlinkSync(path.join(folder, fileName('device-list', '4915112345678')))
    hardenedWrite(folder, fileName('tctoken', 'new@s.whatsapp.net'), { token: Buffer.from('t') }, { stopAfter: 'tmp' })
    fs.writeFileSync(path.join(folder, 'creds.json.tmp'), '{"half')
    await auth.state.keys.clear()
    expect(companions(folder)).toEqual(['creds.json.bak', 'creds.json.tmp'])
    expect(fs.readdirSync(folder).filter((n) => n.endsWith('.json')).sort()).toEqual(['creds.json'])
    for (const [type, byId] of Object.entries(data)) for (const id of Object.keys(byId)) expect([type, id, hardenedRead(folder, fileName(type, id))]).toEqual([type, id, null])
    expect(hardenedRead(folder, fileName('device-list', '4915112345678'))).toBeNull()
    // The credentials are the hardened save's, for every reader.
    const creds = await ours.loadCredentials(folder)
    expect(creds.platform).toBe('hardened')
    await expectReleasedReadTheSame(folder, data)
  })
})

describe('2. credentials next to a backup are never "no credentials"', () => {
  /** A folder whose credentials were saved twice by the hardened helper; the last save killed as asked. */
  async function credsFolder(sub, stopAfter) {
    const folder = path.join(dir(sub), 'auth')
    const { state, saveCreds } = await lines.v7.useMultiFileAuthState(folder)
    state.creds.registered = true
    state.creds.me = { id: '4915112345678:12@s.whatsapp.net', name: 'Before' }
    await saveCreds()
    const before = JSON.parse(fs.readFileSync(path.join(folder, 'creds.json'), 'utf8'), BufferJSON.reviver)
    hardenedWrite(folder, 'creds.json', { ...before, me: { ...before.me, name: 'After' } }, { stopAfter })
    return { folder, real: storePath(folder), before }
  }

  async function expectCorrupt(promise, real, ...contains) {
    let err = null
    await promise.catch((e) => {
      err = e
    })
    expect(err).toBeInstanceOf(ours.AuthFileCorruptError)
    expect(err.name).toBe('AuthFileCorruptError')
    expect(err.code).toBe('EBAILEYSCORRUPT')
    expect(err.path).toBe(path.join(real, 'creds.json'))
    for (const text of contains) expect(err.message).toContain(text)
    return err
  }

  test('a missing creds.json next to creds.json.bak: both openers reject, naming the backup and the mv', async () => {
    const { folder, real, before } = await credsFolder('creds-missing', 'backup')
    expect(fs.existsSync(path.join(folder, 'creds.json'))).toBe(false)
    const was = snapshot(folder)
    const at = (name) => path.join(real, name)
    const mv = moveCommand(at('creds.json.bak'), at('creds.json'))
    const e1 = await expectCorrupt(ours.useMultiFileAuthState(folder), real, 'creds.json is missing, but its backup', mv, 'nothing was written')
    const e2 = await expectCorrupt(ours.loadCredentials(folder), real, mv)
    expect(e2.message).toBe(e1.message)
    await expectCorrupt(ours.useMultiFileAuthState(folder, { lock: false, flavor: 'v6' }), real, mv)
    expect(snapshot(folder)).toEqual(was)
    // The advice works: the credentials come back as the helper would read them.
    fs.renameSync(path.join(real, 'creds.json.bak'), path.join(real, 'creds.json'))
    const { state } = await ours.useMultiFileAuthState(folder)
    expect(firstDifference(state.creds, before)).toBeNull()
    expect(state.creds.me.name).toBe('Before')
  })

  test('an unreadable creds.json next to a readable backup: rejects, naming the backup and how to restore it', async () => {
    const { folder, real } = await credsFolder('creds-torn', undefined)
    fs.writeFileSync(path.join(folder, 'creds.json'), '{"noiseKey":{"private":{"type":"Buf')
    const was = snapshot(folder)
    const err = await expectCorrupt(
      ours.useMultiFileAuthState(folder),
      real,
      'exists but cannot be read',
      'creds.json.bak',
      `${moveCommand(path.join(real, 'creds.json'), path.join(real, 'creds.json.unreadable'))} && ${moveCommand(path.join(real, 'creds.json.bak'), path.join(real, 'creds.json'))}`,
    )
    // (built in Node's main realm: under jest, compare by name, see the README)
    expect(err.cause.name).toBe('SyntaxError')
    expect(err.cause.message).toMatch(/Unexpected end of JSON input/)
    await expectCorrupt(ours.loadCredentials(folder), real, 'creds.json.bak')
    expect(snapshot(folder)).toEqual(was)
  })

  test('an unreadable creds.json.bak with no creds.json is an error too, never fresh credentials', async () => {
    for (const [what, bytes] of [['torn', '{"noiseKey":'], ['null', 'null'], ['empty', '']]) {
      const folder = path.join(dir('creds-bad-backup'), 'auth')
      fs.mkdirSync(folder)
      fs.writeFileSync(path.join(folder, 'creds.json.bak'), bytes)
      const real = storePath(folder)
      const was = snapshot(folder)
      const err = await expectCorrupt(ours.useMultiFileAuthState(folder), real, 'is missing and its backup', 'cannot be read', 'no new credentials were made')
      expect([what, err.cause.message.startsWith('creds.json is missing and creds.json.bak cannot be read')]).toEqual([what, true])
      await expectCorrupt(ours.loadCredentials(folder), real, 'cannot be read')
      expect(snapshot(folder)).toEqual(was)
    }
  })

  test('a kill before the first rename (creds.json and a .tmp) loads creds.json; a .tmp alone is no credentials', async () => {
    const { folder, before } = await credsFolder('creds-tmp', 'tmp')
    expect(firstDifference(await ours.loadCredentials(folder), before)).toBeNull()
    const fresh = path.join(dir('creds-tmp-only'), 'auth')
    fs.mkdirSync(fresh)
    hardenedWrite(fresh, 'creds.json', { registered: true }, { stopAfter: 'tmp' })
    const { state } = await ours.useMultiFileAuthState(fresh)
    expect(state.creds.registered).toBe(false)
    expect(Buffer.isBuffer(state.creds.noiseKey.private)).toBe(true)
  })

  test('inspectFolder reports the backup and how to restore it', async () => {
    const { folder } = await credsFolder('creds-inspect', 'backup')
    const r = await ours.inspectFolder(folder, {})
    expect(r.hasCreds).toBe(false)
    expect(r.findings.map((f) => [f.name, f.problem])).toEqual([['creds.json.bak', 'backup']])
    expect(r.findings[0].detail).toContain(`${WINDOWS ? 'move' : 'mv'} creds.json.bak creds.json`)
  })
})

describe('3. a key whose file is missing or unreadable reads as its backup', () => {
  let folder
  let data
  const warnings = []
  const logger = { warn: (m) => warnings.push(String(m)) }
  const crashed = fileName('session', '98765432109876@lid.1')
  const torn = fileName('pre-key', 812)
  const tmpOnly = fileName('pre-key', 900)
  const appKey = fileName('app-state-sync-key', 'aB/cD==')
  let appKeyBefore
  beforeAll(async () => {
    ;({ folder, data } = await hardenedFolder('read'))
    // Killed between the renames: only the .bak (the value before) and the .tmp.
    hardenedWrite(folder, crashed, { record: Buffer.from('next') }, { stopAfter: 'backup' })
    // A .bak beside a .json that is then torn (by a disk, not by either helper).
    hardenedWrite(folder, torn, keyPair())
    fs.writeFileSync(path.join(folder, torn), '{"private":{"type":"Buffer","data":"AA')
    // A key that never got past its .tmp.
    hardenedWrite(folder, tmpOnly, keyPair(), { stopAfter: 'tmp' })
    appKeyBefore = JSON.parse(fs.readFileSync(path.join(folder, appKey), 'utf8'), BufferJSON.reviver)
    hardenedWrite(folder, appKey, { keyData: Buffer.alloc(32, 1), timestamp: 1 }, { stopAfter: 'backup' })
  })

  test('a missing .json: get and loadKeys give the backup\'s value, as the helper reads it, silently', async () => {
    const { state } = await ours.useMultiFileAuthState(folder, { proto, logger })
    const want = hardenedRead(folder, crashed)
    expect(firstDifference(want, data.session['98765432109876@lid.1'])).toBeNull()
    const got = await state.keys.get('session', ['98765432109876@lid.1'])
    expect(firstDifference(got['98765432109876@lid.1'], want)).toBeNull()
    expect(firstDifference(await ours.loadKeys(folder, 'session', '98765432109876@lid.1'), want)).toBeNull()
    expect(warnings).toEqual([])
    // Baileys' released helper knows no backups: it reads null there (what the hardened one fixes).
    const theirs = await lines.v7.useMultiFileAuthState(folder)
    expect((await theirs.state.keys.get('session', ['98765432109876@lid.1']))['98765432109876@lid.1'] ?? null).toBeNull()
  })

  test('an app-state-sync-key from its backup is a true AppStateSyncKeyData, equal to Baileys\' read of it', async () => {
    const { state } = await ours.useMultiFileAuthState(folder, { proto })
    const got = (await state.keys.get('app-state-sync-key', ['aB/cD==']))['aB/cD==']
    expect(got).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
    expect(firstDifference(got, proto.Message.AppStateSyncKeyData.fromObject(appKeyBefore))).toBeNull()
    expect(firstDifference(got, data['app-state-sync-key']['aB/cD=='])).toBeNull()
  })

  test('an unreadable .json is moved aside and the backup answers, the warning says so', async () => {
    warnings.length = 0
    const { state } = await ours.useMultiFileAuthState(folder, { proto, logger })
    const want = hardenedRead(folder, torn)
    expect(want).not.toBeNull()
    const got = await state.keys.get('pre-key', ['812'])
    expect(firstDifference(got['812'], want)).toBeNull()
    expect(firstDifference(got['812'], data['pre-key'][812])).toBeNull()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^pre-key-812\.json is corrupt \(.*\); moved aside to pre-key-812\.json\.corrupt-\d+, and answered from its backup pre-key-812\.json\.bak/)
    expect(fs.existsSync(path.join(folder, torn))).toBe(false)
    expect(fs.readdirSync(folder).filter((n) => n.startsWith(`${torn}.corrupt-`))).toHaveLength(1)
    // Read again: the backup still answers, now without a word.
    const again = await state.keys.get('pre-key', ['812'])
    expect(firstDifference(again['812'], want)).toBeNull()
    expect(warnings).toHaveLength(1)
  })

  test('a .json.tmp alone is never read', async () => {
    const { state } = await ours.useMultiFileAuthState(folder, { proto, logger })
    expect((await state.keys.get('pre-key', ['900']))['900']).toBeNull()
    expect(await ours.loadKeys(folder, 'pre-key', 900)).toBeNull()
    expect(fs.existsSync(path.join(folder, `${tmpOnly}`))).toBe(false)
  })

  test('Baileys\' released helpers read every key with a .json as we do', async () => {
    await expectReleasedReadTheSame(folder, data, { except: [crashed, torn, appKey] })
  })
})

describe('4. listing counts a key once, and a .tmp never', () => {
  // A key the hardened helper left only as its `.json.bak` is a key: `get`
  // answers its backup's value, so listing and migration see it too (a
  // copy to another store keeps it). A `.bak` beside its `.json` is not a
  // second key, and a `.tmp` is never one. inspectFolder counts files.
  test('listIds and list see each key once (one kept only as its backup too), inspectFolder the .json files', async () => {
    const { folder } = await hardenedFolder('list')
    const before = await ours.inspectFolder(folder, { verify: true })
    const idsBefore = {}
    const look = await ours.useMultiFileAuthState(folder, { proto, lock: false })
    for (const t of ours.KEY_TYPES) idsBefore[t] = (await collect(look.state.keys.listIds(t))).sort()
    // Every key file gets a .bak (a hardened write of the same bytes) and a
    // stray .tmp; new ids exist only as a .bak or a .tmp; creds.json gets a .bak.
    for (const n of fs.readdirSync(folder).filter((n) => n.endsWith('.json'))) {
      fs.copyFileSync(path.join(folder, n), path.join(folder, `${n}.bak`))
      fs.writeFileSync(path.join(folder, `${n}.tmp`), '{')
    }
    hardenedWrite(folder, fileName('session', 'only-bak'), { a: 1 })
    hardenedWrite(folder, fileName('session', 'only-bak'), { a: 2 })
    fs.unlinkSync(path.join(folder, fileName('session', 'only-bak')))
    hardenedWrite(folder, fileName('pre-key', 5000), keyPair(), { stopAfter: 'tmp' })
    // Opened after the helper wrote (a process owning a folder never sees new backups appear).
    const { state } = await ours.useMultiFileAuthState(folder, { proto })
    const idsAfter = { ...idsBefore, session: [...idsBefore.session, 'only-bak'].sort() }
    for (const t of ours.KEY_TYPES) {
      expect([t, (await collect(state.keys.listIds(t))).sort()]).toEqual([t, idsAfter[t]])
      const entries = await collect(state.keys.list(t))
      expect([t, entries.map(([id]) => id).sort()]).toEqual([t, idsAfter[t]])
    }
    expect((await state.keys.get('session', ['only-bak']))['only-bak']).toEqual({ a: 1 })
    const listed = (await collect(state.keys.list('session'))).find(([id]) => id === 'only-bak')
    expect(listed[1]).toEqual({ a: 1 })
    const after = await ours.inspectFolder(folder, { verify: true })
    expect(after.byType).toEqual(before.byType)
    expect(after.totalFiles).toBe(before.totalFiles)
    expect(after.verified).toBe(before.verified)
    expect(after.findings).toEqual(before.findings)
  })
})
