// Baileys v7's own Signal stack on our PostgreSQL backend (ESM): the cases of
// support/signal-cases.js (two devices, sessions, 1:1 and group messages,
// restarts, a third device), each device on an account of a throw-away
// PostgreSQL server opened by our `usePostgresAuthState`; a restart closes the
// store (releasing the lease) and opens the account again. v7 keeps sessions
// under LIDs and the `lid-mapping` entries in the store too. Then A's account
// is taken over by another Node process mid-conversation, which goes on
// encrypting and decrypting there, and comes back (support/pg-signal-backend.js).

import { createRequire } from 'node:module'

import * as baileys from 'baileys'
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js'

import { usePostgresAuthState } from '../index.mjs'
import * as devices from '../demo/signal-devices.mjs'

import signalCases from './support/signal-cases.js'
import P from './support/pg-tools.js'
import pgSignal from './support/pg-signal-backend.js'

const LINE = 'v7'
const require = createRequire(import.meta.url)
const { SessionRecord } = require('libsignal')
const ctx = P.pgContext()
const backend = pgSignal.pgSignalBackend({ usePostgresAuthState, ctx })

const people = {
  A: { name: 'A', jid: '1234567890:3@s.whatsapp.net', lid: '111122223333444:3@lid' },
  B: { name: 'B', jid: '9876543210:5@s.whatsapp.net', lid: '555566667777888:5@lid' },
  C: { name: 'C', jid: '5511987654321:2@s.whatsapp.net', lid: '999988887777666:2@lid' },
}

signalCases.defineSignalTests({
  line: LINE,
  baileys,
  oursOpen: (account) => usePostgresAuthState(ctx.url, account),
  backend,
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
  // restart the mapping came back from the account
  usyncQueries: 2,
  extraCases: pgSignal.takeoverCases({ line: LINE, baileys, people, ctx, backend, usePostgresAuthState }),
})

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })
