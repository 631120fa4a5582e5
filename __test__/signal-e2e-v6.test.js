'use strict'
// Baileys v6's own Signal stack on our store (CommonJS, `require`). The cases
// both lines share, and how the devices are wired (as `makeWASocket` wires
// them: `makeLibSignalRepository({ creds, keys })` on v6), are in
// support/signal-cases.js; what is v6's own is here.

const baileys = require('@whiskeysockets/baileys')
const { makeLibSignalRepository } = require('@whiskeysockets/baileys/lib/Signal/libsignal')
const { SessionRecord } = require('libsignal')

const { useMultiFileAuthState: oursOpen } = require('..')

const { defineSignalTests } = require('./support/signal-cases.js')

const LINE = 'v6'

// v6 addresses devices by phone number (no LIDs).
const people = {
  A: { name: 'A', jid: '1234567890:3@s.whatsapp.net' },
  B: { name: 'B', jid: '9876543210:5@s.whatsapp.net' },
  C: { name: 'C', jid: '5511987654321:2@s.whatsapp.net' },
}

defineSignalTests({
  line: LINE,
  baileys,
  oursOpen,
  makeLibSignalRepository,
  SessionRecord,
  // The device helper is ESM (the demo imports it too) and line-agnostic.
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
  usyncQueries: 0, // v6 has no LID lookups
})
