'use strict'
// Parity with Baileys v6 (`@whiskeysockets/baileys`, CommonJS): the same
// operations through Baileys' own `useMultiFileAuthState` and ours, on two
// temporary folders, must leave the same `*.json` files byte for byte, and
// each implementation must read the other's folder to equal values.
// No mocks: the real Baileys package does the reference side. The cases both
// lines share are in support/parity-cases.js; what is v6's own is here.

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')
const oursByFile = require('../index.js')

const { defineParityTests, sessionWithBuffers, sessionSerialized, senderKeyStates } = require('./support/parity-cases.js')

const LINE = 'v6'

test('require("..") and require("../index.js") are the same module', () => {
  expect(ours).toBe(oursByFile)
  expect(typeof ours.useMultiFileAuthState).toBe('function')
})

defineParityTests({
  line: LINE,
  baileys,
  ours,
  flavors: [
    ['flavor v6', { flavor: 'v6' }, ours],
    ['default flavor', undefined, oursByFile],
  ],
  // fresh creds have v6's key set with flavor 'v6'
  credKeysMatch: (opts) => Boolean(opts && opts.flavor === LINE),
  keyData: {
    // libsignal SessionRecord objects: JSON-ish with nested Buffers, and serialize()'s base64 form
    sessionForms: [sessionWithBuffers, sessionSerialized],
    // sender key records as libsignal's SenderKeyRecord#serialize() (states array with Buffers)
    senderKey: senderKeyStates,
    olderSenderKey: senderKeyStates,
    extraIdentityKeys: () => ({}),
  },
  checkSessionReads(oOther, data) {
    expect(Buffer.isBuffer(oOther.session['5511987654321.0']._sessions[Object.keys(data.session['5511987654321.0']._sessions)[0]].currentRatchet.rootKey)).toBe(true)
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
