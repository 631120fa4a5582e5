// Parity of our SQLite backend (`useSqliteAuthState`) with Baileys v7
// (`baileys`, ESM only): values through ours equal those through Baileys' own
// `useMultiFileAuthState`, and every stored row is the exact text of the file
// Baileys writes for it. The cases both lines share are in
// support/sqlite-parity-cases.js (CommonJS); the key data forms are v7's, as
// in parity-v7.test.mjs.

import * as baileys from 'baileys'
import ours, { useSqliteAuthState } from '../index.mjs'

import parityCases from './support/parity-cases.js'
import sqliteParityCases from './support/sqlite-parity-cases.js'

const { rb, pub33, sessionWithBuffers, sessionSerialized, senderKeyStates } = parityCases

const LINE = 'v7'

test('the ESM entry exports the CommonJS useSqliteAuthState', () => {
  expect(typeof useSqliteAuthState).toBe('function')
  expect(useSqliteAuthState).toBe(ours.useSqliteAuthState)
})

sqliteParityCases.defineSqliteParityTests({
  line: LINE,
  baileys,
  ours,
  flavors: [
    ['flavor v7', { flavor: 'v7' }, ours],
    ['default flavor', undefined, { useSqliteAuthState }],
  ],
  credKeysMatch: () => true,
  keyData: {
    sessionForms: [
      () => Buffer.from(JSON.stringify(sessionSerialized())), // raw bytes, as v7 stores a SessionRecord
      () => new Uint8Array(rb(180)), // a Uint8Array that is not a Buffer
      () => sessionSerialized(),
      () => sessionWithBuffers(), // an older object form
      () => rb(300),
    ],
    senderKey: () => Buffer.from(JSON.stringify(senderKeyStates())),
    olderSenderKey: senderKeyStates,
    extraIdentityKeys: () => ({ '123456789012345@lid': new Uint8Array(pub33()) }),
  },
  checkSessionReads(reads, data) {
    expect(Buffer.isBuffer(reads.session['5511987654321.0'])).toBe(true)
    expect(reads.session['5511987654321.0'].equals(data.session['5511987654321.0'])).toBe(true)
    expect(Buffer.isBuffer(reads.session['5511987654321.12'])).toBe(true)
    expect(reads.session['5511987654321.12'].equals(Buffer.from(data.session['5511987654321.12']))).toBe(true)
    const nested = reads.session['5511987654321:12@s.whatsapp.net']
    expect(Buffer.isBuffer(nested._sessions[Object.keys(nested._sessions)[0]].currentRatchet.rootKey)).toBe(true)
    expect(Buffer.isBuffer(reads['sender-key']['123-456@g.us::789::0'])).toBe(true)
  },
  legacy: {
    files: {
      1: '{"private":{"0":1,"1":2,"2":3},"public":{"type":"Buffer","data":"AQID"}}',
      2: '{"1a":5," 1":6,"-1":7,"0":300,"3":-1,"4":1.7}',
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
