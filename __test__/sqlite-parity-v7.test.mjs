// Parity of our SQLite backend (`useSqliteAuthState`) with Baileys v7
// (`baileys`, ESM only): values through ours equal those through Baileys' own
// `useMultiFileAuthState`, and every stored row is the exact text of the file
// Baileys writes for it. The cases both lines share are in
// support/sqlite-parity-cases.js (CommonJS), with v7's key data forms
// (`lineOptions('v7')`, as in parity-v7.test.mjs).

import * as baileys from 'baileys'
import ours, { useSqliteAuthState } from '../index.mjs'

import sqliteParityCases from './support/sqlite-parity-cases.js'

test('the ESM entry exports the CommonJS useSqliteAuthState', () => {
  expect(typeof useSqliteAuthState).toBe('function')
  expect(useSqliteAuthState).toBe(ours.useSqliteAuthState)
})

sqliteParityCases.defineSqliteParityTests({
  line: 'v7',
  baileys,
  ours,
  flavors: [
    ['flavor v7', { flavor: 'v7' }, ours],
    ['default flavor', undefined, { useSqliteAuthState }],
  ],
  ...sqliteParityCases.lineOptions('v7'),
})
