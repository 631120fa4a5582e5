'use strict'
// Parity of our SQLite backend (`useSqliteAuthState`) with Baileys v6
// (`@whiskeysockets/baileys`, CommonJS): values through ours equal those
// through Baileys' own `useMultiFileAuthState`, and every stored row is the
// exact text of the file Baileys writes for it. The cases both lines share
// are in support/sqlite-parity-cases.js; the key data forms are v6's, as in
// parity-v6.test.js.

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')

const { sessionWithBuffers, sessionSerialized, senderKeyStates } = require('./support/parity-cases.js')
const { defineSqliteParityTests } = require('./support/sqlite-parity-cases.js')

const LINE = 'v6'

defineSqliteParityTests({
  line: LINE,
  baileys,
  ours,
  flavors: [
    ['flavor v6', { flavor: 'v6' }, ours],
    ['default flavor', undefined, ours],
  ],
  credKeysMatch: (opts) => Boolean(opts && opts.flavor === LINE),
  keyData: {
    sessionForms: [sessionWithBuffers, sessionSerialized],
    senderKey: senderKeyStates,
    olderSenderKey: senderKeyStates,
    extraIdentityKeys: () => ({}),
  },
  checkSessionReads(reads, data) {
    const id = Object.keys(data.session['5511987654321.0']._sessions)[0]
    expect(Buffer.isBuffer(reads.session['5511987654321.0']._sessions[id].currentRatchet.rootKey)).toBe(true)
  },
  legacy: {
    files: {
      1: '{"private":{"type":"Buffer","data":[1,2,3]},"public":{"buffer":true,"data":"AQID"}}',
      2: '{"public":{"buffer":true,"value":"AQID"},"private":{"type":"Buffer"}}',
      // parses, but v6 cannot revive it: left as it was
      3: '{"x":{"type":"Buffer","data":{"a":1}}}',
      4: '{"0":1,"1":2,"nested":{"0":3}}',
      5: '{"type":"Buffer","data":"-_8"}',
      6: '{"torn":',
      7: '',
    },
    check() {},
    minWarnings: 3,
  },
})
