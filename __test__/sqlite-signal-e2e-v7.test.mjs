// Baileys v7's own Signal stack on our SQLite backend (ESM): the cases of
// support/signal-cases.js (two devices, sessions, 1:1 and group messages,
// restarts from disk, a third device), each device on one database file
// opened by our `useSqliteAuthState`, and, for the mixed and switching cases,
// by the contract's JS reference store (bench/sqlite-reference.mjs) on the
// same files. A restart closes the store and opens the file again. v7 keeps
// sessions under LIDs and the `lid-mapping` entries in the store too.

import { createRequire } from 'node:module'

import * as baileys from 'baileys'
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js'

import { useSqliteAuthState } from '../index.mjs'
import * as devices from '../demo/signal-devices.mjs'

import signalCases from './support/signal-cases.js'
import sqliteSignal from './support/sqlite-signal-backend.js'

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
  oursOpen: (dbPath) => useSqliteAuthState({ dbPath }),
  backend: sqliteSignal.sqliteBackend({ useSqliteAuthState, baileys, loadReference: () => import('../bench/sqlite-reference.mjs') }),
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
  // each device asked the server for the other's LID once, ever: after every
  // restart the mapping came back from the database file
  usyncQueries: 2,
})
