// Parity with Baileys v7 (`baileys`, ESM only): the same operations through
// Baileys' own `useMultiFileAuthState` and ours, on two temporary folders,
// must leave the same `*.json` files byte for byte, and each implementation
// must read the other's folder to equal values. No mocks: the real Baileys
// package does the reference side. The cases both lines share are in
// support/parity-cases.js (CommonJS); what is v7's own is here.

import * as baileys from 'baileys'
import ours, { useMultiFileAuthState as oursUseMultiFileAuthState, initAuthCreds as oursInitAuthCreds } from '../index.mjs'

import parityCases from './support/parity-cases.js'

const { defineParityTests } = parityCases

const LINE = 'v7'
const oursByName = { useMultiFileAuthState: oursUseMultiFileAuthState }

test('the ESM entry exports the CommonJS objects', () => {
  expect(typeof ours.useMultiFileAuthState).toBe('function')
  expect(oursUseMultiFileAuthState).toBe(ours.useMultiFileAuthState)
  expect(oursInitAuthCreds).toBe(ours.initAuthCreds)
})

defineParityTests({
  line: LINE,
  baileys,
  ours,
  flavors: [
    ['flavor v7', { flavor: 'v7' }, ours],
    ['default flavor', undefined, oursByName],
  ],
  ...parityCases.lineOptions(LINE),
})
