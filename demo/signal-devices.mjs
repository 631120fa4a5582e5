// Two (or more) WhatsApp devices running Baileys' own Signal code on auth
// folders, and the small part of the WhatsApp server they need in between.
//
// Shared by `npm run demo` and the jest suites `__test__/signal-e2e-v6.test.js`
// / `__test__/signal-e2e-v7.test.mjs`. It imports neither Baileys nor this
// package: the caller hands in the Baileys line it uses (`baileys`, the module
// namespace of `@whiskeysockets/baileys` v6 or `baileys` v7) and, per device,
// the `useMultiFileAuthState` that opens its folder (ours or Baileys' own), so
// one file serves CommonJS and ESM callers and both Baileys lines.
//
// Everything a device does is Baileys' code, wired the way `makeWASocket` wires
// it (lib/Socket/socket.js of each line):
//
//   keys       = addTransactionCapability(makeCacheableSignalKeyStore(state.keys, logger), logger, transactionOpts)
//   repository = makeSignalRepository({ creds, keys }, logger, pnToLIDFunc)   // makeLibSignalRepository
//
// - pre-keys are generated, stored and put in the upload `iq` by Baileys'
//   `getNextPreKeysNode`, inside `keys.transaction`, and the creds update is
//   saved with `saveCreds`, as the socket's `uploadPreKeys` does;
// - the sender fetches the receiver's key bundle from the server and Baileys'
//   `parseAndInjectE2ESessions` feeds it to `repository.injectE2ESession`;
// - messages are `proto.Message`s padded by `encodeWAMessage`, encrypted with
//   `repository.encryptMessage` / `encryptGroupMessage` inside
//   `keys.transaction` (as `relayMessage` does), carried as `message` stanzas
//   through Baileys' binary codec (`encodeBinaryNode` / `decodeBinaryNode`),
//   and decrypted with `decryptMessage` / `processSenderKeyDistributionMessage`
//   / `decryptGroupMessage` in the order `decryptMessageNode` uses;
// - group sends remember who has the sender key in `sender-key-memory`.
//
// The server (class SignalServer) is the only stand-in: it keeps each device's
// uploaded bundle and hands out each one-time pre-key once, answers v7's LID
// lookups (USync) and relays stanzas. No Baileys code is mocked.

/** A logger for Baileys: its own default pino logger, silenced. */
export function quietLogger(baileys) {
  return baileys.DEFAULT_CONNECTION_CONFIG.logger.child({ class: 'baileys' }, { level: 'silent' })
}

/** Which Baileys line a module namespace is: `'v7'` has the LID mapping store. */
export function lineOf(baileys) {
  return typeof baileys.DEFAULT_CONNECTION_CONFIG.makeSignalRepository === 'function' &&
    baileys.DEFAULT_CONNECTION_CONFIG.makeSignalRepository.length >= 2
    ? 'v7'
    : 'v6'
}

/**
 * The part of the WhatsApp server two devices need: pre-key bundles
 * (upload / fetch), the PN → LID lookup of v7 (USync), and stanza delivery.
 * Everything goes through Baileys' binary codec, as on the wire.
 */
export class SignalServer {
  constructor(baileys) {
    this.baileys = baileys
    /** user jid (PN) → LID user jid */
    this.lids = new Map()
    /** device jid → { registration, type, identity, skey, preKeys: [key node] } */
    this.bundles = new Map()
    /** pre-key ids handed out, by device jid */
    this.handedOut = new Map()
    this.usyncQueries = 0
    this.stanzas = 0
  }

  /** A device registers its phone number and LID (pairing, in real life). */
  addAccount(pnJid, lidJid) {
    const { jidNormalizedUser } = this.baileys
    if (lidJid) this.lids.set(jidNormalizedUser(pnJid), jidNormalizedUser(lidJid))
  }

  /** `<iq xmlns="encrypt" type="set">` from `getNextPreKeysNode`, as bytes. */
  async receivePreKeyUpload(deviceJid, bytes) {
    const { decodeBinaryNode, getBinaryNodeChild, getBinaryNodeChildren } = this.baileys
    const iq = await decodeBinaryNode(bytes)
    if (iq.tag !== 'iq' || iq.attrs.xmlns !== 'encrypt' || iq.attrs.type !== 'set') {
      throw new Error(`not a pre-key upload: <${iq.tag} ${JSON.stringify(iq.attrs)}>`)
    }
    const child = (tag) => {
      const node = getBinaryNodeChild(iq, tag)
      if (!node) throw new Error(`pre-key upload without <${tag}>`)
      return node
    }
    const old = this.bundles.get(deviceJid)
    const preKeys = [...(old ? old.preKeys : []), ...getBinaryNodeChildren(child('list'), 'key')]
    this.bundles.set(deviceJid, {
      registration: child('registration'),
      type: child('type'),
      identity: child('identity'),
      skey: child('skey'),
      preKeys,
    })
    return preKeys.length
  }

  /** How many one-time pre-keys the server still holds for a device. */
  preKeyCount(deviceJid) {
    return this.bundles.get(deviceJid)?.preKeys.length ?? 0
  }

  /**
   * The answer to `<iq xmlns="encrypt" type="get"><key><user jid=…/></key></iq>`
   * (Baileys' `assertSessions`): one bundle per device, each with a one-time
   * pre-key the server will never hand out again. Returns the decoded node and
   * the pre-key ids used.
   */
  async fetchKeyBundles(deviceJids) {
    const { encodeBinaryNode, decodeBinaryNode, getBinaryNodeChildUInt } = this.baileys
    const users = []
    const preKeyIds = {}
    for (const jid of deviceJids) {
      const bundle = this.bundles.get(jid)
      if (!bundle) throw new Error(`no key bundle on the server for ${jid}`)
      const content = [bundle.registration, bundle.type, bundle.identity, bundle.skey]
      const preKey = bundle.preKeys.shift()
      if (preKey) {
        content.push(preKey)
        preKeyIds[jid] = getBinaryNodeChildUInt(preKey, 'id', 3)
        this.handedOut.set(jid, [...(this.handedOut.get(jid) || []), preKeyIds[jid]])
      }
      users.push({ tag: 'user', attrs: { jid }, content })
    }
    const answer = {
      tag: 'iq',
      attrs: { from: this.baileys.S_WHATSAPP_NET, type: 'result', id: 'keys-1' },
      content: [{ tag: 'list', attrs: {}, content: users }],
    }
    return { node: await decodeBinaryNode(encodeBinaryNode(answer)), preKeyIds }
  }

  /** v7's `pnToLIDFunc` (the socket's `pnFromLIDUSync`): `[{ pn, lid }]` for known users. */
  async lookupLids(pnJids) {
    this.usyncQueries++
    return pnJids.filter((pn) => this.lids.has(pn)).map((pn) => ({ pn, lid: this.lids.get(pn) }))
  }

  /** Delivery: the stanza crosses the wire as Baileys' binary XMPP. */
  async deliver(stanza) {
    this.stanzas++
    return this.baileys.decodeBinaryNode(this.baileys.encodeBinaryNode(stanza))
  }
}

let stanzaSeq = 0
const stanzaId = () => `3EB0${(++stanzaSeq).toString(16).padStart(8, '0').toUpperCase()}`

/**
 * A linked device: an auth folder opened by `open` (a `useMultiFileAuthState`),
 * wrapped as `makeWASocket` wraps it, with Baileys' own Signal repository.
 */
export class SignalDevice {
  /**
   * @param {object} baileys the Baileys line (module namespace)
   * @param {SignalServer} server
   * @param {{ name: string, jid: string, lid?: string, folder: string,
   *           open: (folder: string) => Promise<{ state: any, saveCreds: () => Promise<void> }>,
   *           openName?: string, logger?: any }} spec
   */
  constructor(baileys, server, spec) {
    this.baileys = baileys
    this.server = server
    this.name = spec.name
    this.jid = spec.jid
    this.lid = spec.lid
    this.folder = spec.folder
    this.open = spec.open
    this.openName = spec.openName || 'useMultiFileAuthState'
    this.logger = spec.logger || quietLogger(baileys)
    this.line = lineOf(baileys)
    this.boots = 0
    server.addAccount(this.jid, this.lid)
  }

  /**
   * Opens (or re-opens) the folder: new auth state, new caches, new
   * repository. `impl` (`{ open, openName }`) switches the implementation.
   */
  async boot(impl) {
    if (impl) {
      this.open = impl.open
      this.openName = impl.openName
    }
    const open = this.open
    const {
      DEFAULT_CONNECTION_CONFIG: config,
      addTransactionCapability,
      makeCacheableSignalKeyStore,
    } = this.baileys
    const { state, saveCreds } = await open(this.folder)
    this.state = state
    this.creds = state.creds
    this.saveCreds = saveCreds
    // What a user passes as `auth` (Baileys' README: a cacheable store), then
    // what makeWASocket does with it (lib/Socket/socket.js).
    const auth = { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, this.logger) }
    this.keys = addTransactionCapability(auth.keys, this.logger, config.transactionOpts)
    this.repository = config.makeSignalRepository(
      { creds: this.creds, keys: this.keys },
      this.logger,
      (jids) => this.server.lookupLids(jids),
    )
    this.boots++
    return this
  }

  /** A restart from disk (optionally on another implementation): see `boot`. */
  restart(impl) {
    return this.boot(impl)
  }

  /** `keys.transaction(work, key)`: v6 ignores the key, v7 locks on it. */
  transaction(work, key) {
    return this.keys.transaction(work, key)
  }

  /**
   * What a device does once paired and on first connect: record who it is in
   * the creds and upload its pre-keys (the socket's `uploadPreKeys`).
   */
  async register(count = this.baileys.INITIAL_PREKEY_COUNT) {
    Object.assign(this.creds, {
      me: { id: this.jid, ...(this.lid ? { lid: this.lid } : {}), name: this.name },
      registered: true,
    })
    await this.saveCreds()
    return this.uploadPreKeys(count)
  }

  /** The socket's `uploadPreKeys`: pre-keys stored, uploaded, creds updated and saved. */
  async uploadPreKeys(count) {
    const { getNextPreKeysNode, encodeBinaryNode } = this.baileys
    let update
    await this.transaction(async () => {
      const result = await getNextPreKeysNode({ creds: this.creds, keys: this.keys }, count)
      update = result.update
      await this.server.receivePreKeyUpload(this.jid, encodeBinaryNode(result.node))
    }, 'upload-pre-keys')
    // ev.emit('creds.update', update) → Object.assign(creds, update) + saveCreds
    Object.assign(this.creds, update)
    await this.saveCreds()
    return update
  }

  /** Baileys' `assertSessions`: fetch bundles for devices we have no session with. */
  async assertSessions(peers) {
    const { parseAndInjectE2ESessions } = this.baileys
    const addrs = peers.map((p) => this.repository.jidToSignalProtocolAddress(p.jid))
    const sessions = await this.keys.get('session', addrs)
    const missing = peers.filter((p, i) => !sessions[addrs[i]])
    // v7 stores sessions under the LID address; a PN lookup misses it, so ask
    // the repository itself where it can.
    const reallyMissing = []
    for (const p of missing) {
      if (this.repository.validateSession && (await this.repository.validateSession(p.jid)).exists) continue
      reallyMissing.push(p)
    }
    if (!reallyMissing.length) return {}
    const { node, preKeyIds } = await this.server.fetchKeyBundles(reallyMissing.map((p) => p.jid))
    await parseAndInjectE2ESessions(node, this.repository)
    return preKeyIds
  }

  /** Encrypts a `proto.Message` for one peer device: `{ type, ciphertext }`. */
  async encryptFor(peer, message) {
    const data = this.baileys.encodeWAMessage(message)
    return this.repository.encryptMessage({ jid: peer.jid, data })
  }

  /** Sends a text to one peer: the `message` stanza the server relays. */
  async sendText(peer, text) {
    return this.transaction(async () => {
      await this.assertSessions([peer])
      const { type, ciphertext } = await this.encryptFor(peer, { conversation: text })
      return this.server.deliver({
        tag: 'message',
        attrs: { id: stanzaId(), from: this.jid, to: peer.jid, type: 'text', t: '1700000000' },
        content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }],
      })
    }, peer.jid)
  }

  /**
   * Sends a text to a group: one sender-key ciphertext for all, plus the
   * sender-key distribution message, 1:1-encrypted, for members that have not
   * had it yet (remembered in `sender-key-memory`, as Baileys does).
   * Returns one stanza per member.
   */
  async sendGroupText(group, members, text) {
    return this.transaction(async () => {
      const data = this.baileys.encodeWAMessage({ conversation: text })
      const { ciphertext, senderKeyDistributionMessage } = await this.repository.encryptGroupMessage({
        group,
        meId: this.jid,
        data,
      })
      const { [group]: memory = {} } = await this.keys.get('sender-key-memory', [group])
      const needKey = members.filter((m) => !memory[m.jid])
      await this.assertSessions(needKey)
      const stanzas = []
      for (const member of members) {
        const content = []
        if (needKey.includes(member)) {
          const skdm = await this.encryptFor(member, {
            senderKeyDistributionMessage: {
              groupId: group,
              axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage,
            },
          })
          content.push({ tag: 'enc', attrs: { v: '2', type: skdm.type }, content: skdm.ciphertext })
          memory[member.jid] = true
        }
        content.push({ tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: ciphertext })
        stanzas.push(
          await this.server.deliver({
            tag: 'message',
            attrs: { id: stanzaId(), from: group, participant: this.jid, to: member.jid, type: 'text', t: '1700000000' },
            content,
          }),
        )
      }
      if (needKey.length) await this.keys.set({ 'sender-key-memory': { [group]: memory } })
      return stanzas
    }, group)
  }

  /**
   * Decrypts a delivered `message` stanza as `decryptMessageNode` does:
   * each `<enc>` in order; a sender-key distribution message is processed
   * before the group ciphertext. Returns `{ texts, types }` (`types`: the
   * `enc` types decrypted, e.g. `['pkmsg', 'skmsg']`).
   */
  async receive(stanza) {
    const { proto, unpadRandomMax16, isJidGroup } = this.baileys
    const group = isJidGroup(stanza.attrs.from) ? stanza.attrs.from : undefined
    const author = group ? stanza.attrs.participant : stanza.attrs.from
    const texts = []
    const types = []
    for (const { tag, attrs, content } of stanza.content) {
      if (tag !== 'enc') continue
      let plaintext
      if (attrs.type === 'skmsg') {
        plaintext = await this.repository.decryptGroupMessage({ group, authorJid: author, msg: content })
      } else {
        plaintext = await this.repository.decryptMessage({ jid: author, type: attrs.type, ciphertext: content })
      }
      types.push(attrs.type)
      const msg = proto.Message.decode(unpadRandomMax16(plaintext))
      if (msg.senderKeyDistributionMessage) {
        await this.repository.processSenderKeyDistributionMessage({
          authorJid: author,
          item: msg.senderKeyDistributionMessage,
        })
      }
      if (msg.conversation) texts.push(msg.conversation)
    }
    return { texts, types }
  }

  /** Where this device's store keeps its session with a peer (v7: under the peer's LID). */
  sessionAddressOf(peer) {
    return this.repository.jidToSignalProtocolAddress(this.line === 'v7' && peer.lid ? peer.lid : peer.jid)
  }
}

/**
 * Counts what crossed the wire and checks every message decrypts to its
 * plaintext. `send*` return what the receiver read.
 */
export class Conversation {
  constructor() {
    /** decrypted `enc` payloads by type; `skdm`: how many of them carried a sender key */
    this.counts = { pkmsg: 0, msg: 0, skmsg: 0, total: 0, skdm: 0 }
    this.log = []
  }

  #count(types, skdm) {
    for (const t of types) {
      this.counts[t]++
      this.counts.total++
    }
    if (skdm) this.counts.skdm++
  }

  #check(expected, got, what) {
    if (got.texts.length !== 1 || got.texts[0] !== expected) {
      throw new Error(`${what}: expected ${JSON.stringify(expected)}, decrypted ${JSON.stringify(got.texts)}`)
    }
  }

  /** 1:1 text, sent and received at once. Returns the `enc` type used. */
  async send(from, to, text) {
    const stanza = await from.sendText(to, text)
    const got = await to.receive(stanza)
    this.#check(text, got, `${from.name} → ${to.name}`)
    this.#count(got.types, false)
    this.log.push({ from: from.name, to: to.name, type: got.types[0], text })
    return got.types[0]
  }

  /** 1:1 text sent now, delivered later (`deliver()`), for out-of-order delivery. */
  async sendLater(from, to, text) {
    const stanza = await from.sendText(to, text)
    const type = stanza.content[0].attrs.type
    return {
      type,
      deliver: async (receiver = to) => {
        const got = await receiver.receive(stanza)
        this.#check(text, got, `${from.name} → ${receiver.name} (delayed)`)
        this.#count(got.types, false)
        this.log.push({ from: from.name, to: receiver.name, type: got.types[0], text, delayed: true })
        return got.types[0]
      },
    }
  }

  /** Group text to members. Returns, per member, the `enc` types it decrypted. */
  async sendGroup(from, group, members, text) {
    const stanzas = await from.sendGroupText(group, members, text)
    const result = []
    for (let i = 0; i < members.length; i++) {
      const got = await members[i].receive(stanzas[i])
      this.#check(text, got, `${from.name} → ${group} (${members[i].name})`)
      this.#count(got.types, got.types.length > 1)
      this.log.push({ from: from.name, to: `${members[i].name} in group`, type: got.types.join('+'), text })
      result.push(got.types)
    }
    return result
  }
}
