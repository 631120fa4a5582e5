'use strict'
// Parity of our PostgreSQL backend (`usePostgresAuthState`) with Baileys v6
// (`@whiskeysockets/baileys`, CommonJS): values through ours equal those
// through Baileys' own `useMultiFileAuthState`, and every stored row's value
// is the exact bytes of the file Baileys writes for it (`encodeAuthValue`).
// The cases are the SQLite parity suites' (support/sqlite-parity-cases.js),
// on accounts of a throw-away PostgreSQL server (support/pg-parity-store.js);
// the key data forms are v6's, as in parity-v6.test.js.

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')

const { sessionWithBuffers, sessionSerialized, senderKeyStates } = require('./support/parity-cases.js')
const { defineSqliteParityTests } = require('./support/sqlite-parity-cases.js')
const P = require('./support/pg-tools.js')
const { pgStore } = require('./support/pg-parity-store.js')

const LINE = 'v6'
const ctx = P.pgContext()

defineSqliteParityTests({
  line: LINE,
  baileys,
  ours,
  store: pgStore(ctx),
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

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })

test('the stored bytes are encodeAuthValue(value), for every key type (flavor v6)', async () => {
  const { makeParityFixtures } = require('./support/parity-cases.js')
  const { makeKeyData } = makeParityFixtures({ baileys, keyData: { sessionForms: [sessionWithBuffers, sessionSerialized], senderKey: senderKeyStates, olderSenderKey: senderKeyStates, extraIdentityKeys: () => ({}) } })
  const data = makeKeyData()
  const account = P.accountName('encode')
  const s = await ours.usePostgresAuthState(ctx.url, account, { flavor: LINE })
  await s.state.keys.set(data)
  await s.close()
  const rows = await P.rowsOf(ctx).keyRows(account)
  expect(rows).toHaveLength(Object.values(data).reduce((n, o) => n + Object.keys(o).length, 0))
  for (const { type, id, value } of rows) {
    const expected = Buffer.from(ours.encodeAuthValue(data[type][id]))
    expect({ type, id, value: value.toString('latin1') }).toEqual({ type, id, value: expected.toString('latin1') })
    expect({ type, id, value: value.toString('latin1') }).toEqual({ type, id, value: Buffer.from(JSON.stringify(data[type][id], baileys.BufferJSON.replacer)).toString('latin1') })
  }
})
