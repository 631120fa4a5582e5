'use strict'
// The Signal end-to-end cases both Baileys lines share
// (`__test__/signal-e2e-v6.test.js`, CommonJS, and
// `__test__/signal-e2e-v7.test.mjs`, ESM): Baileys' own Signal stack on our
// store.
//
// Devices are wired exactly as `makeWASocket` wires them (see
// demo/signal-devices.mjs, shared with `npm run demo`):
// `addTransactionCapability(makeCacheableSignalKeyStore(state.keys, logger),
// logger, transactionOpts)` and `makeLibSignalRepository(...)`, on folders
// opened by our `useMultiFileAuthState` (or Baileys' own, for the mixed
// cases). Pre-keys go through `getNextPreKeysNode`, sessions start from
// `parseAndInjectE2ESessions`, stanzas cross Baileys' binary codec.
// No Baileys code is mocked; only the WhatsApp server is played in-process.
//
// This module loads neither Baileys nor this package nor the (ESM) device
// helper: each suite loads them its own way (`require` / `import`) and hands
// them to `defineSignalTests`, with what differs between the lines.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const GROUP = '120363025246125888@g.us'
const LOCK = '.baileys-auth.lock'

const copy = (b) => Buffer.from(b)
const identityOf = (d) => ({
  pub: copy(d.creds.signedIdentityKey.public),
  priv: copy(d.creds.signedIdentityKey.private),
  registrationId: d.creds.registrationId,
})
function expectSameIdentity(d, before) {
  expect(Buffer.compare(copy(d.creds.signedIdentityKey.public), before.pub)).toBe(0)
  expect(Buffer.compare(copy(d.creds.signedIdentityKey.private), before.priv)).toBe(0)
  expect(d.creds.registrationId).toBe(before.registrationId)
}
/**
 * Where the devices keep their auth state: by default folders, opened by our
 * `useMultiFileAuthState` (`ours`) or by Baileys' own helper (`theirs`).
 * Another backend (the SQLite suites) passes its own object of this shape:
 *
 * - `where`: what a device's place is called in test titles (`'folder'`);
 * - `ours` / `theirs`: `{ openName, open(place) }`, the two implementations
 *   the cases use and switch between (`theirs` is the other project's store;
 *   without one, the mixed and switching cases are left out);
 * - `place(root, who)`: a device's folder (or file, or account) under the
 *   test's root;
 * - `lockFile(place)`: our owner lock's path; or `isOwned(place)` (async):
 *   whether ours holds the place now (a store without a lock file);
 * - `keyStored(device, type, id)`: whether the key is in the place, looked at
 *   directly (not through the store);
 * - `removeKey(device, type, id)`: removes it directly (the store is restarted next);
 * - `omitsMissing(device)`: whether the device's current store leaves missing
 *   ids out of a `get` (Baileys' hardened stores do) instead of answering null;
 * - `closeAll()` (optional): closes whatever is still open, after the suite.
 */
function folderBackend(oursOpen, baileys) {
  const file = (d, type, id) => path.join(d.folder, `${type}-${id}.json`)
  return {
    where: 'folder',
    ours: { openName: 'ours', open: (folder) => oursOpen(folder) },
    theirs: { openName: "Baileys' helper", open: (folder) => baileys.useMultiFileAuthState(folder) },
    place: (root, who) => path.join(root, who),
    lockFile: (folder) => path.join(folder, LOCK),
    keyStored: async (d, type, id) => fs.existsSync(file(d, type, id)),
    removeKey: async (d, type, id) => {
      expect(fs.existsSync(file(d, type, id))).toBe(true)
      fs.rmSync(file(d, type, id))
    },
    omitsMissing: () => false,
  }
}

/**
 * Registers the Signal end-to-end cases of one Baileys line.
 *
 * - `line`: `'v6'` or `'v7'`; `baileys`: that line's module namespace.
 * - `oursOpen`: this package's `useMultiFileAuthState`.
 * - `makeLibSignalRepository`: that line's, from `lib/Signal/libsignal`.
 * - `SessionRecord`: libsignal's.
 * - `loadDevices()`: resolves to demo/signal-devices.mjs's exports.
 * - `people`: devices `A`, `B`, `C` (`name`, `jid`, and `lid` on v7).
 * - `wiring`: `socketFile` (that line's lib/Socket/socket.js) and `contains`,
 *   the wiring lines it must hold.
 * - `checkAfterRestart({ A, B, rawGet })`: this line's checks of the store
 *   once both devices restarted from disk.
 * - `usyncQueries`: how many LID lookups the server answers in the first case.
 * - `backend` (optional): where the devices keep their state and which two
 *   implementations open it (see `folderBackend`); by default folders, ours
 *   (`oursOpen`) beside Baileys' own helper.
 * - `extraCases(helpers)` (optional): registers a backend's own cases in this
 *   scope, with `{ setup, registeredPair, rawGet, expectSession,
 *   expectSameIdentity, identityOf, totals, store, OURS, GROUP, devices }`
 *   (`devices()`: the device helper's exports, once loaded).
 */
function defineSignalTests({ line, baileys, oursOpen, makeLibSignalRepository, SessionRecord, loadDevices, people, wiring, checkAfterRestart, usyncQueries, backend, extraCases }) {
  const store = backend || folderBackend(oursOpen, baileys)
  const tag = backend ? `-${store.where.replace(/\W+/g, '-')}` : ''
  const theirsName = store.theirs?.openName
  const isOwned = store.isOwned || (async (place) => fs.existsSync(store.lockFile(place)))

  /** The raw store of the place's current owner (ours or theirs), no cache in between. */
  const rawGet = async (d, type, id) => {
    const r = await d.state.keys.get(type, [String(id)])
    if (!Object.prototype.hasOwnProperty.call(r, String(id)) && store.omitsMissing(d)) return null
    return r[String(id)]
  }

  async function expectPreKeyGone(d, id) {
    expect(await rawGet(d, 'pre-key', id)).toBeNull()
    expect(await store.keyStored(d, 'pre-key', id)).toBe(false)
  }

  // The device helper is ESM (the demo imports it too) and line-agnostic.
  let SignalServer, SignalDevice, Conversation, lineOf
  beforeAll(async () => {
    ;({ SignalServer, SignalDevice, Conversation, lineOf } = await loadDevices())
  })

  const OURS = store.ours
  const THEIRS = store.theirs

  const roots = []
  function tmpDir(dirTag) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `ban-e2e-${line}${tag}-${dirTag}-`))
    roots.push(d)
    return d
  }
  const totals = {}
  afterAll(async () => {
    if (store.closeAll) await store.closeAll()
    for (const d of roots) fs.rmSync(d, { recursive: true, force: true })
    const lines = Object.entries(totals).map(([name, c]) => `  ${name}: ${JSON.stringify(c)}`)
    console.log(`signal e2e ${line}${backend ? ` (${store.where})` : ''}: messages decrypted to their plaintext\n${lines.join('\n')}`)
  })

  function setup(tag) {
    const root = tmpDir(tag)
    const server = new SignalServer(baileys)
    const device = (who, impl) =>
      new SignalDevice(baileys, server, { ...people[who], folder: store.place(root, who), ...impl }).boot()
    return { root, server, device }
  }
  /** A new server, a conversation, and devices A and B (on `implA` / `implB`), both registered. */
  async function registeredPair(tag, implA, implB) {
    const { server, device } = setup(tag)
    const chat = new Conversation()
    const A = await device('A', implA)
    const B = await device('B', implB)
    await A.register()
    await B.register()
    return { server, device, chat, A, B }
  }

  async function expectSession(d, peer) {
    // libsignal's SessionRecord.serialize() form, read back from the folder
    const s = await rawGet(d, 'session', d.sessionAddressOf(peer))
    expect(s).toBeTruthy()
    expect(SessionRecord.deserialize(s).haveOpenSession()).toBe(true)
  }

  test('the devices are wired as makeWASocket wires them', () => {
    expect(lineOf(baileys)).toBe(line)
    expect(baileys.DEFAULT_CONNECTION_CONFIG.makeSignalRepository).toBe(makeLibSignalRepository)
    const socket = fs.readFileSync(wiring.socketFile, 'utf8')
    expect(wiring.contains.length).toBeGreaterThan(0)
    for (const text of wiring.contains) expect(socket).toContain(text)
  })

  test('two devices on our store: 1:1 and group, restarted from disk mid-conversation', async () => {
    const { server, chat, A, B } = await registeredPair('ours', OURS, OURS)
    const COUNT = baileys.INITIAL_PREKEY_COUNT
    expect(server.preKeyCount(B.jid)).toBe(COUNT)
    const storedIds = []
    for await (const id of B.state.keys.listIds('pre-key')) storedIds.push(Number(id))
    expect(storedIds.sort((x, y) => x - y)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1))
    const bIdentity = identityOf(B)
    const aIdentity = identityOf(A)

    // A starts the session from B's bundle: pkmsg until B answers.
    expect(await chat.send(A, B, 'hello B, this is A')).toBe('pkmsg')
    const [usedPreKey] = server.handedOut.get(B.jid)
    await expectPreKeyGone(B, usedPreKey)
    expect(await rawGet(B, 'pre-key', usedPreKey + 1)).toBeTruthy()
    expect(await chat.send(A, B, 'second, still a pkmsg')).toBe('pkmsg')
    const late = await chat.sendLater(A, B, 'sent before the restart, read after')
    expect(late.type).toBe('pkmsg')

    // Restart both devices from disk: new auth state, new caches, new repositories.
    await A.restart()
    await B.restart()
    expect(A.boots).toBe(2)
    expectSameIdentity(B, bIdentity)
    expectSameIdentity(A, aIdentity)
    expect(B.creds.nextPreKeyId).toBe(COUNT + 1)
    expect(B.creds.firstUnuploadedPreKeyId).toBe(COUNT + 1)
    await expectPreKeyGone(B, usedPreKey)
    await expectSession(A, B)
    await expectSession(B, A)
    await checkAfterRestart({ A, B, rawGet })

    expect(await chat.send(A, B, 'after the restart: A still has no answer')).toBe('pkmsg')
    expect(await late.deliver()).toBe('pkmsg')
    expect(await chat.send(B, A, 'hi A, B here')).toBe('msg')
    expect(await chat.send(A, B, 'now a plain msg')).toBe('msg')
    expect(await chat.send(B, A, 'and back')).toBe('msg')

    // Out of order across a restart of the receiver: the skipped message key is on disk.
    const m1 = await chat.sendLater(A, B, 'm1 (arrives second)')
    expect(await chat.send(A, B, 'm2 (arrives first)')).toBe('msg')
    await B.restart()
    expect(await m1.deliver()).toBe('msg')

    // Group: the first message carries the sender key 1:1, later ones do not.
    expect(await chat.sendGroup(A, GROUP, [B], 'group 1')).toEqual([['msg', 'skmsg']])
    expect(await chat.sendGroup(A, GROUP, [B], 'group 2')).toEqual([['skmsg']])
    expect(await chat.sendGroup(A, GROUP, [B], 'group 3')).toEqual([['skmsg']])
    await A.restart()
    await B.restart()
    // Sender key (both sides) and sender-key-memory survived: no new distribution.
    expect(await chat.sendGroup(A, GROUP, [B], 'group 4, after the restart')).toEqual([['skmsg']])
    expect(await chat.sendGroup(A, GROUP, [B], 'group 5')).toEqual([['skmsg']])
    expect(await chat.send(B, A, 'got them all')).toBe('msg')
    expect(await chat.send(A, B, 'good')).toBe('msg')

    // A busy stretch: the ratchets turn, one device or the other restarts.
    for (let round = 1; round <= 12; round++) {
      expect(await chat.send(A, B, `A, round ${round}`)).toBe('msg')
      expect(await chat.send(B, A, `B, round ${round}`)).toBe('msg')
      if (round % 4 === 0) expect(await chat.sendGroup(A, GROUP, [B], `group, round ${round}`)).toEqual([['skmsg']])
      if (round % 3 === 0) await (round % 2 ? A : B).restart()
    }

    expect(server.usyncQueries).toBe(usyncQueries)
    expect(await isOwned(A.folder)).toBe(true)
    expect(chat.counts).toEqual({ pkmsg: 4, msg: 32, skmsg: 8, total: 44, skdm: 1 })
    totals['both on ours'] = chat.counts
  })

  test(`the conversation really lives in the ${store.where}: without B's session ${backend ? 'row' : 'file'}, A's next message fails`, async () => {
    const { chat, A, B } = await registeredPair('control', OURS, OURS)
    expect(await chat.send(A, B, 'hello')).toBe('pkmsg')
    expect(await chat.send(B, A, 'hi')).toBe('msg')
    expect(await store.keyStored(B, 'session', B.sessionAddressOf(A))).toBe(true)
    await store.removeKey(B, 'session', B.sessionAddressOf(A))
    await B.restart()
    await expect(chat.send(A, B, 'lost')).rejects.toThrow(/session/i)
    expect(chat.counts.total).toBe(2)
  })

  if (THEIRS) test(`mixed: A on ${backend ? theirsName : "Baileys' own helper"}, B on ours; then A's ${backend ? `${store.where}, written by it,` : 'Baileys-born folder'} moves to ours`, async () => {
    const { server, chat, A, B } = await registeredPair('mixed', THEIRS, OURS)
    const bIdentity = identityOf(B)

    expect(await chat.send(A, B, 'A on Baileys, B on ours')).toBe('pkmsg')
    const [usedPreKey] = server.handedOut.get(B.jid)
    await expectPreKeyGone(B, usedPreKey)
    expect(await chat.send(B, A, 'reply')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B], 'mixed group 1')).toEqual([['msg', 'skmsg']])

    await A.restart()
    await B.restart()
    expectSameIdentity(B, bIdentity)
    await expectPreKeyGone(B, usedPreKey)
    await expectSession(A, B)
    expect(await chat.send(A, B, 'after restart')).toBe('msg')
    expect(await chat.send(B, A, 'after restart, back')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B], 'mixed group 2')).toEqual([['skmsg']])
    expect(fs.existsSync(store.lockFile(A.folder))).toBe(false) // Baileys' helper takes no lock
    expect(fs.existsSync(store.lockFile(B.folder))).toBe(true)

    // A's folder, written only by Baileys' helper so far, now opened by ours.
    const aIdentity = identityOf(A)
    await A.restart(OURS)
    expect(A.openName).toBe('ours')
    expectSameIdentity(A, aIdentity)
    await expectSession(A, B)
    expect(await chat.send(A, B, 'A switched to ours')).toBe('msg')
    expect(await chat.send(B, A, 'welcome')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B], 'mixed group 3')).toEqual([['skmsg']])

    expect(chat.counts).toEqual({ pkmsg: 1, msg: 6, skmsg: 3, total: 10, skdm: 1 })
    totals[`A on ${theirsName}, B on ours`] = chat.counts
  })

  if (THEIRS) test(`switching: ${store.where}s written by ours opened by ${theirsName} mid-conversation, and back`, async () => {
    const { server, device, chat, A, B } = await registeredPair('switch', OURS, OURS)
    const bIdentity = identityOf(B)

    expect(await chat.send(A, B, 'both on ours')).toBe('pkmsg')
    const [firstPreKey] = server.handedOut.get(B.jid)
    expect(await chat.send(B, A, 'yes')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B], 'group on ours')).toEqual([['msg', 'skmsg']])
    const pending = await chat.sendLater(A, B, 'sent on ours, read on Baileys')

    // Ours → Baileys' helper, same folders, same process (it ignores our lock).
    await A.restart(THEIRS)
    await B.restart(THEIRS)
    expectSameIdentity(B, bIdentity)
    await expectPreKeyGone(B, firstPreKey)
    await expectSession(A, B)
    expect(await pending.deliver()).toBe('msg')
    expect(await chat.send(B, A, 'B on Baileys now')).toBe('msg')
    expect(await chat.send(A, B, 'A on Baileys now')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B], 'group on Baileys')).toEqual([['skmsg']])

    // A third device starts a session with B while B's folder is Baileys'
    // helper's: Baileys deletes the second one-time pre-key.
    const C = await device('C', OURS)
    await C.register()
    expect(await chat.send(C, B, 'C to B, B on Baileys')).toBe('pkmsg')
    const [, secondPreKey] = server.handedOut.get(B.jid)
    expect(secondPreKey).not.toBe(firstPreKey)
    await expectPreKeyGone(B, secondPreKey)

    // … and back to ours, same process (our lock is re-entrant within it).
    await A.restart(OURS)
    await B.restart(OURS)
    expectSameIdentity(B, bIdentity)
    await expectPreKeyGone(B, firstPreKey)
    await expectPreKeyGone(B, secondPreKey)
    await expectSession(B, C)
    expect(await chat.send(C, B, 'C again, B back on ours')).toBe('pkmsg')
    expect(await chat.send(B, C, 'hello C')).toBe('msg')
    expect(await chat.send(C, B, 'hello B')).toBe('msg')
    expect(await chat.send(A, B, 'A back on ours')).toBe('msg')
    expect(await chat.send(B, A, 'B back on ours')).toBe('msg')
    expect(await chat.sendGroup(A, GROUP, [B, C], 'group, C joins')).toEqual([['skmsg'], ['pkmsg', 'skmsg']])
    expect(await chat.sendGroup(A, GROUP, [B, C], 'group, everyone')).toEqual([['skmsg'], ['skmsg']])

    expect(chat.counts).toEqual({ pkmsg: 4, msg: 9, skmsg: 6, total: 19, skdm: 2 })
    totals[`ours ⇄ ${theirsName}`] = chat.counts
  })

  if (extraCases) {
    extraCases({
      setup,
      registeredPair,
      rawGet,
      expectSession,
      expectSameIdentity,
      identityOf,
      totals,
      store,
      OURS,
      GROUP,
      devices: () => ({ SignalServer, SignalDevice, Conversation, lineOf }),
    })
  }
}

module.exports = { defineSignalTests, folderBackend }
