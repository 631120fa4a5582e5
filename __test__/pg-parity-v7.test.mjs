// Parity of our PostgreSQL backend (`usePostgresAuthState`) with Baileys v7
// (`baileys`, ESM only): values through ours equal those through Baileys' own
// `useMultiFileAuthState`, and every stored row's value is the exact bytes of
// the file Baileys writes for it (`encodeAuthValue`). The cases are the SQLite
// parity suites' (support/sqlite-parity-cases.js, CommonJS), on accounts of a
// throw-away PostgreSQL server (support/pg-parity-store.js); the key data
// forms are v7's, as in parity-v7.test.mjs.

import * as baileys from 'baileys'
import ours, { usePostgresAuthState, encodeAuthValue } from '../index.mjs'

import parityCases from './support/parity-cases.js'
import sqliteParityCases from './support/sqlite-parity-cases.js'
import P from './support/pg-tools.js'
import pgParityStore from './support/pg-parity-store.js'

const { rb, pub33, sessionWithBuffers, sessionSerialized, senderKeyStates, makeParityFixtures } = parityCases

const LINE = 'v7'
const ctx = P.pgContext()

const keyData = {
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
}

test('the ESM entry exports the CommonJS usePostgresAuthState', () => {
  expect(typeof usePostgresAuthState).toBe('function')
  expect(usePostgresAuthState).toBe(ours.usePostgresAuthState)
})

sqliteParityCases.defineSqliteParityTests({
  line: LINE,
  baileys,
  ours,
  store: pgParityStore.pgStore(ctx),
  flavors: [
    ['flavor v7', { flavor: 'v7' }, ours],
    ['default flavor', undefined, { usePostgresAuthState }],
  ],
  credKeysMatch: () => true,
  keyData,
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

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })

test('the stored bytes are encodeAuthValue(value), for every key type (flavor v7)', async () => {
  const { makeKeyData } = makeParityFixtures({ baileys, keyData })
  const data = makeKeyData()
  const account = P.accountName('encode')
  const s = await usePostgresAuthState(ctx.url, account, { flavor: LINE })
  await s.state.keys.set(data)
  await s.close()
  const rows = await P.rowsOf(ctx).keyRows(account)
  expect(rows).toHaveLength(Object.values(data).reduce((n, o) => n + Object.keys(o).length, 0))
  for (const { type, id, value } of rows) {
    expect({ type, id, value: value.toString('latin1') }).toEqual({ type, id, value: Buffer.from(encodeAuthValue(data[type][id])).toString('latin1') })
    expect({ type, id, value: value.toString('latin1') }).toEqual({ type, id, value: Buffer.from(JSON.stringify(data[type][id], baileys.BufferJSON.replacer)).toString('latin1') })
  }
})
