// Baileys v7's own Signal stack on our store (ESM, `import`). The cases both
// lines share, and how the devices are wired (as `makeWASocket` wires them:
// `makeLibSignalRepository({ creds, keys }, logger, pnToLIDFunc)` on v7), are
// in support/signal-cases.js (CommonJS); what is v7's own is here. v7 resolves
// phone-number JIDs to LIDs: the sessions, identity keys and `lid-mapping`
// entries live in the store too.

import { createRequire } from 'node:module'

import * as baileys from 'baileys'
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js'

import { useMultiFileAuthState as oursOpen } from '../index.mjs'
import * as devices from '../demo/signal-devices.mjs'

import signalCases from './support/signal-cases.js'

const LINE = 'v7'
const require = createRequire(import.meta.url)
const { SessionRecord } = require('libsignal')

const people = {
  A: { name: 'A', jid: '1234567890:3@s.whatsapp.net', lid: '111122223333444:3@lid' },
  B: { name: 'B', jid: '9876543210:5@s.whatsapp.net', lid: '555566667777888:5@lid' },
  C: { name: 'C', jid: '5511987654321:2@s.whatsapp.net', lid: '999988887777666:2@lid' },
}

signalCases.defineSignalTests({
  line: LINE,
  baileys,
  oursOpen,
  makeLibSignalRepository,
  SessionRecord,
  loadDevices: async () => devices,
  people,
  wiring: {
    socketFile: require.resolve('baileys/lib/Socket/socket.js'),
    contains: ['addTransactionCapability(authState.keys, logger, transactionOpts)', 'makeSignalRepository({ creds, keys }, logger, pnFromLIDUSync)'],
  },
  async checkAfterRestart({ A, B, rawGet }) {
    expect(B.creds.me.lid).toBe(people.B.lid)
    expect(await rawGet(B, 'identity-key', B.sessionAddressOf(A))).toBeTruthy()
    expect(await rawGet(A, 'lid-mapping', '9876543210')).toBe('555566667777888')
    expect(await rawGet(A, 'lid-mapping', '555566667777888_reverse')).toBe('9876543210')
  },
  // Each device asked the server for the other's LID once, ever: after every
  // restart the mapping came back from the folder.
  usyncQueries: 2,
})
