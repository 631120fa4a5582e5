'use strict'
// Parity of our SQLite backend (`useSqliteAuthState`) with Baileys v6
// (`@whiskeysockets/baileys`, CommonJS): values through ours equal those
// through Baileys' own `useMultiFileAuthState`, and every stored row is the
// exact text of the file Baileys writes for it. The cases both lines share
// are in support/sqlite-parity-cases.js, with v6's key data forms
// (`lineOptions('v6')`, as in parity-v6.test.js).

const baileys = require('@whiskeysockets/baileys')
const ours = require('..')

const { defineSqliteParityTests, lineOptions } = require('./support/sqlite-parity-cases.js')

defineSqliteParityTests({
  line: 'v6',
  baileys,
  ours,
  flavors: [
    ['flavor v6', { flavor: 'v6' }, ours],
    ['default flavor', undefined, ours],
  ],
  ...lineOptions('v6'),
})
