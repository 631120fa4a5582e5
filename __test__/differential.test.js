'use strict'
// Differential property tests of the codec against the real Baileys packages:
// @whiskeysockets/baileys (v6, CommonJS) and baileys (v7, ESM).
//
//   node --experimental-vm-modules node_modules/jest/bin/jest.js __test__/differential.test.js
//
// Cases per run: DIFF_RUNS (default 2,500) for each of the four codec
// properties — 10,000 in all — plus DIFF_RUNS / 50 through real folders.
// The same properties run for much longer, outside jest, with
// `node scripts/differential-campaign.js --runs 1000000`.
//
// Realms. Jest runs this file (and Baileys, loaded through jest's module
// registry) in a vm context, while the native addon lives in the main realm.
// That is reliable here, for these reasons:
// - jest-environment-node hands the main realm's Buffer, Uint8Array and
//   ArrayBuffer to the context, so Baileys' `value instanceof Uint8Array`
//   sees every Uint8Array the generators make, exactly as in plain Node;
// - JSON.stringify and JSON.parse behave the same in any realm; the other
//   typed arrays, arrays and objects of the jest realm are walked the same way
//   by JSON.stringify and by the addon (which never uses their prototypes);
// - boxed primitives are the one thing the addon recognises by its own
//   realm's constructors, so the generators make them with the main realm's
//   (see `mainGlobal` in support/arbitraries.js);
// - results are compared through `dump` (support/arbitraries.js), which
//   never relies on `instanceof Object` / `Array` and compares errors by name.
// The same properties also run in plain Node (scripts/differential-campaign.js),
// where every value is of the main realm, as in production.

const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')

const A = require('./support/arbitraries.js')
const { fc } = A

const RUNS = A.runsFromEnv(2500)
const FILE_RUNS = Math.max(5, Math.round(RUNS / 50))

let checks
let tmpRoot

beforeAll(async () => {
  const native = require('../index.js')
  const v6 = require('@whiskeysockets/baileys')
  const v7 = await import('baileys')
  expect(typeof v6.BufferJSON.reviver).toBe('function')
  expect(typeof v7.BufferJSON.reviver).toBe('function')
  checks = A.makeChecks({ native, v6, v7 })
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-diff-'))
})

afterAll(() => {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true })
})

// Counterexamples found by these properties (each was a bug, now fixed):
// kept as explicit examples so they run on every CI run.
const encodeExamples = [
  // Object.create(Number.prototype) has no [[NumberData]]: a plain {} to JSON.stringify.
  [['fakeboxed', 'Number', []]],
  [['fakeboxed', 'String', [['a', ['num', 1], 'define']]]],
  // JSON.stringify never calls a Boolean object's own valueOf.
  [['boxed', 'Boolean', false, 'valueOf']],
  [['boxed', 'Boolean', true, 'valueOfThrows']],
  // Buffer.prototype.toJSON copies `this.length` elements.
  [['withprops', ['buf', [0], 0], [['length', ['num', 0], 'define']]]],
  // Buffer.from(uint8array) calls its valueOf.
  [['arr', [['withprops', ['u8', [], 0], [['valueOf', ['buf', [], 0], 'define']]]], []]],
  // `instanceof Uint8Array` and IsArray follow proxies and prototypes, not brands.
  [['proxy', ['arr', [['num', 1], ['str', 'x']], []], 'plain']],
  [['proxy', ['u8', [3], 0], 'plain']],
  [['reproto', ['u8', [5, 6], 0], 'Object']],
  [['reproto', ['obj', []], 'Uint8Array']],
  // Own-key order of what we read back: defined keys stay in place.
  [['obj', [['__proto__', ['num', 0], 'define'], ['b', ['num', 0], 'define']]]],
  [['obj', [['constructor', ['str', ''], 'assign'], ['-0', ['num', 0], 'define']]]],
]

const textExamples = [
  // Own-key order: `__proto__`, Object.prototype names and lone-surrogate keys stay in text order.
  '{"\\ud800":"","type":0}',
  '{"__proto__":"0x10","a":true}',
  '{"constructor":"","-0":0}',
  '{"__proto__":"Buffer","type":"","type":"Buffer"}',
  // A syntax error wins over v6's reviver error (JSON.parse parses everything first).
  '{"0":{"data":0.1,"type":"Buffer"},"x":{}',
  '[{"type":"Buffer","data":{"valueOf":0}}, x]',
  // A value replaced by a later duplicate key is never revived.
  '{"5":{"data":{},"type":"Buffer"},"5":0}',
].map((text) => [{ tree: ['lit', 'null'], ws: [], mutations: [], asString: false, text }])

describe('codec: ours vs Baileys v6 and v7, byte for byte and value for value', () => {
  test(`writer: encodeAuthValue(value) === Buffer.from(JSON.stringify(value, BufferJSON.replacer)) (${RUNS} values)`, () => {
    fc.assert(
      fc.property(A.jsValueSpec, (spec) => {
        checks.checkEncode(spec)
      }),
      { numRuns: RUNS, examples: encodeExamples },
    )
  })

  test(`reader: decodeAuthValue(bytes, v6 | v7 | any) === JSON.parse(text, reviver) (${RUNS} texts, valid and corrupted)`, () => {
    fc.assert(
      fc.property(A.jsonTextCase, (c) => {
        if (c.text !== undefined) checks.checkDecodeInput(Buffer.from(c.text))
        else checks.checkDecode(c)
      }),
      { numRuns: RUNS, examples: textExamples },
    )
  })

  test(`reader: Buffer JSON forms with every kind of base64 (${RUNS} texts)`, () => {
    const form = fc.constantFrom(
      (s) => ({ type: 'Buffer', data: s }),
      (s) => ({ data: s, type: 'Buffer' }),
      (s) => ({ buffer: true, value: s }),
      (s) => ({ buffer: true, data: s, value: 'AQID' }),
      (s) => ({ type: 'Buffer', data: '', value: s }),
      (s) => ({ k: [{ type: 'Buffer', data: s }, { type: 'Buffer', data: s.slice(1) }] }),
    )
    fc.assert(
      fc.property(A.b64StringArb, form, fc.boolean(), (s, make, escape) => {
        let text = JSON.stringify(make(s))
        // Escaped non-ASCII (and lone surrogates, which JSON.stringify escapes anyway) or raw UTF-8.
        if (escape) text = text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        checks.checkDecodeInput(Buffer.from(text, 'utf8'))
      }),
      { numRuns: RUNS },
    )
  })

  test(`round trip: what we write, read back by us and by each line (${RUNS} values)`, () => {
    fc.assert(
      fc.property(A.jsValueSpec, (spec) => {
        checks.checkRoundTrip(spec)
      }),
      { numRuns: RUNS, examples: encodeExamples },
    )
  })
})

describe('files: useMultiFileAuthState, ours vs each line', () => {
  test(`keys.set writes the same files, and every implementation reads every folder alike (${FILE_RUNS} cases x 2 lines)`, async () => {
    await fc.assert(
      fc.asyncProperty(A.fileCase, (c) => checks.checkFiles(c, tmpRoot)),
      { numRuns: FILE_RUNS },
    )
  })
})
