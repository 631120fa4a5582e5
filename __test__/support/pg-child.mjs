// Another owner of a PostgreSQL account: a Node process of its own (another
// host of a bot fleet, as far as the lease can tell), driven by the PostgreSQL
// suites through support/pg-child-driver.js. One JSON command per line on
// stdin, one JSON answer per line on stdout:
//
//   { op: 'open', connection, account, options }   → { token }
//   { op: 'set', data } / { op: 'get', type, ids } / { op: 'saveCreds', patch }
//   { op: 'listIds', type } / { op: 'clear' } / { op: 'close' } / { op: 'counters' }
//   { op: 'logs' }                                  → what the loggers were told
//   { op: 'device', line, person, peers, connection, options, transactionOpts, waitFree, openedFile }
//        Baileys' own Signal stack (demo/signal-devices.mjs) on the account
//        (waitFree: the open is tried again while the account is held;
//        openedFile: written, with the token, once it is open):
//   { op: 'send', to, text } / { op: 'sendGroup', group, to: [name], text }
//        → { stanza(s): base64 of Baileys' binary node }
//   { op: 'receive', stanza: base64 }              → { texts, types }
//   { op: 'exit' }
//
// Values cross as JSON text (`data`: `JSON.stringify(value)`). A command that
// throws answers `{ error: { name, code, message } }`; the process goes on.

import fs from 'node:fs'
import { createRequire } from 'node:module'
import readline from 'node:readline'

const require = createRequire(import.meta.url)
const ours = require('../../index.js')

// What the loggers were told: `from` 'store' (ours) or 'baileys' (the device's).
const logs = []
function recorder(from) {
  const record = (level) => (...args) => logs.push({ from, level, args: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))) })
  const l = { level: 'trace', trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), fatal: record('fatal') }
  l.child = () => l
  return l
}
const logger = recorder('store')
const baileysLogger = recorder('baileys')

let store = null
let device = null
let baileys = null
const peers = {}

async function loadLine(line) {
  if (line === 'v6') return require('@whiskeysockets/baileys')
  return import('baileys')
}

const ops = {
  async open({ connection, account, options = {} }) {
    store = await ours.usePostgresAuthState(connection, account, { ...options, logger })
    return { token: store.counters().token }
  },
  async set({ data }) {
    await store.state.keys.set(JSON.parse(data))
    return {}
  },
  async get({ type, ids }) {
    return { values: await store.state.keys.get(type, ids) }
  },
  async listIds({ type }) {
    const ids = []
    for await (const id of store.state.keys.listIds(type)) ids.push(id)
    return { ids }
  },
  async clear() {
    await store.state.keys.clear()
    return {}
  },
  async saveCreds({ patch }) {
    Object.assign(store.state.creds, patch)
    await store.saveCreds()
    return {}
  },
  async counters() {
    return store.counters()
  },
  async close() {
    await store.close()
    return {}
  },
  async logs() {
    return { logs }
  },

  async device({ line, person, peers: others, connection, options = {}, transactionOpts, waitFree = false, openedFile }) {
    baileys = await loadLine(line)
    const { SignalServer, SignalDevice } = await import('../../demo/signal-devices.mjs')
    // The socket's config as a user passes it to makeWASocket: only the
    // commit retries differ from the defaults (they would wait 30 s).
    const line_ = transactionOpts
      ? { ...baileys, DEFAULT_CONNECTION_CONFIG: { ...baileys.DEFAULT_CONNECTION_CONFIG, transactionOpts } }
      : baileys
    // This process's own view of the server: only the LID lookups and the
    // stanza codec are used once the sessions exist (no bundle is fetched).
    const server = new SignalServer(baileys)
    for (const p of others) {
      server.addAccount(p.jid, p.lid)
      peers[p.name] = p
    }
    device = new SignalDevice(line_, server, {
      ...person,
      folder: person.account,
      logger: baileysLogger,
      openName: 'ours (child)',
      open: async (account) => {
        // waitFree: the account's owner is alive now; try until its lease is let go
        for (const started = Date.now(); ; ) {
          try {
            store = await ours.usePostgresAuthState(connection, account, { ...options, logger })
            break
          } catch (e) {
            if (!waitFree || e.code !== 'EBAILEYSLOCKED' || Date.now() - started > 60000) throw e
            await new Promise((r) => setTimeout(r, 50))
          }
        }
        if (openedFile) fs.writeFileSync(openedFile, String(store.counters().token))
        return store
      },
    })
    await device.boot()
    return { token: store.counters().token, me: device.creds.me }
  },
  async send({ to, text }) {
    const stanza = await device.sendText(peers[to], text)
    return { stanza: Buffer.from(baileys.encodeBinaryNode(stanza)).toString('base64') }
  },
  async sendGroup({ group, to, text }) {
    const stanzas = await device.sendGroupText(
      group,
      to.map((n) => peers[n]),
      text,
    )
    return { stanzas: stanzas.map((s) => Buffer.from(baileys.encodeBinaryNode(s)).toString('base64')) }
  },
  async receive({ stanza }) {
    const node = await baileys.decodeBinaryNode(Buffer.from(stanza, 'base64'))
    return device.receive(node)
  },
  async exit() {
    setImmediate(() => process.exit(0))
    return {}
  },
}

const rl = readline.createInterface({ input: process.stdin })
// One command at a time, in order.
let chain = Promise.resolve()
rl.on('line', (text) => {
  chain = chain.then(async () => {
    const { id, op, ...args } = JSON.parse(text)
    let answer
    try {
      answer = { id, ok: await ops[op](args) }
    } catch (e) {
      answer = { id, error: { name: e?.name, code: e?.code, message: e?.message, pid: e?.pid, host: e?.host, until: e?.until instanceof Date ? e.until.getTime() : undefined } }
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`)
  })
})
rl.on('close', () => {
  chain.then(() => process.exit(0))
})
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`)
