'use strict'
// Parity of our PostgreSQL backend (`usePostgresAuthState`) with Baileys v6
// (`@whiskeysockets/baileys`, CommonJS): values through ours equal those
// through Baileys' own `useMultiFileAuthState`, and every stored row's value
// is the exact bytes of the file Baileys writes for it (`encodeAuthValue`).
// The cases are the SQLite parity suites' (support/sqlite-parity-cases.js,
// with v6's key data forms), on accounts of a throw-away PostgreSQL server
// (support/pg-parity-store.js).

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')

const { defineSqliteParityTests, lineOptions } = require('./support/sqlite-parity-cases.js')
const P = require('./support/pg-tools.js')
const { pgStore, defineStoredBytesTest } = require('./support/pg-parity-store.js')

const ctx = P.pgContext()
const line = lineOptions('v6')

defineSqliteParityTests({
  line: 'v6',
  baileys,
  ours,
  store: pgStore(ctx),
  flavors: [
    ['flavor v6', { flavor: 'v6' }, ours],
    ['default flavor', undefined, ours],
  ],
  ...line,
})

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })

defineStoredBytesTest({ ctx, line: 'v6', baileys, ours, keyData: line.keyData })
