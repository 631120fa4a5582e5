// Parity of our PostgreSQL backend (`usePostgresAuthState`) with Baileys v7
// (`baileys`, ESM only): values through ours equal those through Baileys' own
// `useMultiFileAuthState`, and every stored row's value is the exact bytes of
// the file Baileys writes for it (`encodeAuthValue`). The cases are the SQLite
// parity suites' (support/sqlite-parity-cases.js, CommonJS, with v7's key data
// forms), on accounts of a throw-away PostgreSQL server
// (support/pg-parity-store.js).

import * as baileys from 'baileys'
import ours, { usePostgresAuthState } from '../index.mjs'

import sqliteParityCases from './support/sqlite-parity-cases.js'
import P from './support/pg-tools.js'
import pgParityStore from './support/pg-parity-store.js'

const ctx = P.pgContext()
const line = sqliteParityCases.lineOptions('v7')

test('the ESM entry exports the CommonJS usePostgresAuthState', () => {
  expect(typeof usePostgresAuthState).toBe('function')
  expect(usePostgresAuthState).toBe(ours.usePostgresAuthState)
})

sqliteParityCases.defineSqliteParityTests({
  line: 'v7',
  baileys,
  ours,
  store: pgParityStore.pgStore(ctx),
  flavors: [
    ['flavor v7', { flavor: 'v7' }, ours],
    ['default flavor', undefined, { usePostgresAuthState }],
  ],
  ...line,
})

// Declared last: its afterAll (stopping the server) runs after the cases'
// (closing their stores).
P.pgSuite({ ctx })

pgParityStore.defineStoredBytesTest({ ctx, line: 'v7', baileys, ours, keyData: line.keyData })
