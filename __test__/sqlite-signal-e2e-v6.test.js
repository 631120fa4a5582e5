'use strict'
// Baileys v6's own Signal stack on our SQLite backend (CommonJS): the cases of
// support/signal-cases.js (two devices, sessions, 1:1 and group messages,
// restarts from disk, a third device), each device on one database file
// opened by our `useSqliteAuthState`, and, for the mixed and switching cases,
// by the contract's JS reference store (bench/sqlite-reference.mjs) on the
// same files. A restart closes the store and opens the file again.

const baileys = require('@whiskeysockets/baileys')
const { makeLibSignalRepository } = require('@whiskeysockets/baileys/lib/Signal/libsignal')
const { SessionRecord } = require('libsignal')

const { useSqliteAuthState } = require('..')

const { defineSignalTests } = require('./support/signal-cases.js')
const { sqliteBackend } = require('./support/sqlite-signal-backend.js')

const LINE = 'v6'

const people = {
  A: { name: 'A', jid: '1234567890:3@s.whatsapp.net' },
  B: { name: 'B', jid: '9876543210:5@s.whatsapp.net' },
  C: { name: 'C', jid: '5511987654321:2@s.whatsapp.net' },
}

defineSignalTests({
  line: LINE,
  baileys,
  oursOpen: (dbPath) => useSqliteAuthState({ dbPath }),
  backend: sqliteBackend({ useSqliteAuthState, baileys, loadReference: () => import('../bench/sqlite-reference.mjs') }),
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
})
