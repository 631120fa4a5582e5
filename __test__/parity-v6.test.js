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

const { defineParityTests, lineOptions } = require('./support/parity-cases.js')

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
  ...lineOptions(LINE),
})
