'use strict'
// Baileys v6's own Signal stack on our PostgreSQL backend (CommonJS): the cases
// of support/signal-cases.js (two devices, sessions, 1:1 and group messages,
// restarts, a third device), each device on an account of a throw-away
// PostgreSQL server opened by our `usePostgresAuthState`; a restart closes the
// store (releasing the lease) and opens the account again. Then A's account
// is taken over by another Node process mid-conversation, which goes on
// encrypting and decrypting there, and comes back (support/pg-signal-backend.js).

const baileys = require('@whiskeysockets/baileys')
const { makeLibSignalRepository } = require('@whiskeysockets/baileys/lib/Signal/libsignal')
const { SessionRecord } = require('libsignal')

const { usePostgresAuthState } = require('..')

const { defineSignalTests } = require('./support/signal-cases.js')
const P = require('./support/pg-tools.js')
const { pgSignalBackend, takeoverCases } = require('./support/pg-signal-backend.js')

const LINE = 'v6'
const ctx = P.pgContext()
const backend = pgSignalBackend({ usePostgresAuthState, ctx })

const people = {
  A: { name: 'A', jid: '1234567890:3@s.whatsapp.net' },
  B: { name: 'B', jid: '9876543210:5@s.whatsapp.net' },
  C: { name: 'C', jid: '5511987654321:2@s.whatsapp.net' },
}

defineSignalTests({
  line: LINE,
  baileys,
  oursOpen: (account) => usePostgresAuthState(ctx.url, account),
  backend,
  makeLibSignalRepository,
  SessionRecord,
  loadDevices: () => import('../demo/signal-devices.mjs'),
  people,
  wiring: {
    socketFile: require.resolve('@whiskeysockets/baileys/lib/Socket/socket.js'),
    contains: ['addTransactionCapability)(authState.keys, logger, transactionOpts)', 'makeSignalRepository({ creds, keys })'],
  },
  async checkAfterRestart({ A, B }) {
    expect(B.creds.me.id).toBe(people.B.jid)
    expect(A.sessionAddressOf(B)).toBe('9876543210.5')
  },
  usyncQueries: 0,
  extraCases: takeoverCases({ line: LINE, baileys, people, ctx, backend, usePostgresAuthState }),
})

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })
