// Parity with Baileys v7 (`baileys`, ESM only): the same operations through
// Baileys' own `useMultiFileAuthState` and ours, on two temporary folders,
// must leave the same `*.json` files byte for byte, and each implementation
// must read the other's folder to equal values. No mocks: the real Baileys
// package does the reference side. The cases both lines share are in
// support/parity-cases.js (CommonJS); what is v7's own is here.

import * as baileys from 'baileys'
import ours, { useMultiFileAuthState as oursUseMultiFileAuthState, initAuthCreds as oursInitAuthCreds } from '../index.mjs'

import parityCases from './support/parity-cases.js'

const { defineParityTests, rb, pub33, sessionWithBuffers, sessionSerialized, senderKeyStates } = parityCases

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
  // ours makes v7's key set both with flavor 'v7' and by default
  credKeysMatch: () => true,
  keyData: {
    sessionForms: [
      () => Buffer.from(JSON.stringify(sessionSerialized())), // raw bytes
      () => new Uint8Array(rb(180)), // a Uint8Array that is not a Buffer
      () => sessionSerialized(), // libsignal 6 SessionRecord#serialize()
      () => sessionWithBuffers(), // JSON-ish with nested Buffers
      () => rb(300),
    ],
    // sender key record as v7 stores it: `Buffer.from(JSON.stringify(record.serialize()))`
    senderKey: () => Buffer.from(JSON.stringify(senderKeyStates())),
    olderSenderKey: senderKeyStates, // older object form
    extraIdentityKeys: () => ({ '123456789012345@lid': new Uint8Array(pub33()) }),
  },
  checkSessionReads(oOther, data) {
    expect(Buffer.isBuffer(oOther.session['5511987654321.0'])).toBe(true)
    expect(oOther.session['5511987654321.0'].equals(data.session['5511987654321.0'])).toBe(true)
    expect(Buffer.isBuffer(oOther.session['5511987654321.12'])).toBe(true)
    expect(oOther.session['5511987654321.12'].equals(Buffer.from(data.session['5511987654321.12']))).toBe(true)
    const nested = oOther.session['5511987654321:12@s.whatsapp.net']
    expect(Buffer.isBuffer(nested._sessions[Object.keys(nested._sessions)[0]].currentRatchet.rootKey)).toBe(true)
    expect(Buffer.isBuffer(oOther['sender-key']['123-456@g.us::789::0'])).toBe(true)
  },
  legacy: {
    files: {
      // a Uint8Array stored by an old version as an index-keyed object
      1: '{"private":{"0":1,"1":2,"2":3},"public":{"type":"Buffer","data":"AQID"}}',
      // keys that parseInt accepts, values taken modulo 256
      2: '{"1a":5," 1":6,"-1":7,"0":300,"3":-1,"4":1.7}',
      // v6-only forms stay plain objects in v7
      3: '{"x":{"type":"Buffer","data":[1,2,3]},"y":{"buffer":true,"data":"AQID"},"z":{}}',
      4: '{"0":1,"1":"x","arr":[1,2],"n":{"0":1,"b":2}}',
      5: '{"type":"Buffer","data":"-_8"}',
      6: '{"torn":',
      7: '',
    },
    check(mine) {
      expect(Buffer.isBuffer(mine[2])).toBe(true)
    },
    minWarnings: 2,
  },
})
