'use strict'
// fast-check arbitraries for the differential tests of the codec, and the
// checks that run one generated case through our addon and through the real
// Baileys packages. Shared by __test__/differential.test.js (jest) and
// scripts/differential-campaign.js (plain Node, long runs).
//
// Generated cases are *recipes* (plain, printable, shrinkable arrays), not
// JavaScript values: `build(spec)` makes a fresh value from a recipe each time
// it is called. Each implementation gets its own fresh value, so stateful
// getters ("a getter that answers differently on its second read") are seen
// by each implementation exactly as if it were the only one, and a
// counterexample prints as a readable recipe.
//
// Known, intentional departures of our addon (filtered out here, not
// counted as differences):
// - nesting deeper than 2048 levels is refused (RangeError): every generator
//   stays far below that depth;
// - where `Buffer.from` would allocate more than 64 MiB (a v6 `{length: 1e9}`
//   object) we throw a TypeError instead of allocating: text generators keep
//   `length` small, and `hugeLength` skips mutated texts that reach it;
// - a `keys.set` that throws writes nothing at all (Baileys writes the other
//   keys): the file property only stores values Baileys can serialize;
// - boxed primitives (`new Number(1)`) of another realm (jest's vm context),
//   or whose prototype was replaced (`Object.setPrototypeOf`), are not
//   recognised (written as objects; JSON.stringify unwraps them by internal
//   slot): boxed primitives are made with the main realm's constructors (see
//   `mainGlobal`) and `reproto` never takes one.
// - `decodeAuthValue(string)` reads the string as the text of a file, i.e.
//   its UTF-8 bytes, where a raw lone surrogate becomes U+FFFD (no file can
//   hold one): the oracle for string input is
//   `JSON.parse(Buffer.from(str).toString('utf-8'), reviver)`.

const fc = require('fast-check')

// ---------------------------------------------------------------------------
// Realms
// ---------------------------------------------------------------------------
// Under jest the test code runs in a vm context whose Object, Array, Number…
// are not the main realm's; Buffer, Uint8Array and ArrayBuffer are passed
// through by jest-environment-node, and everything the addon creates belongs
// to the main realm (the addon is loaded by Node's own `require`).
// `Buffer.constructor` is the main realm's Function, so this is the main
// realm's global object both in jest and in plain Node.
const mainGlobal = Buffer.constructor('return this')()

/** Thrown by generated getters and `toJSON` methods: both sides must rethrow it. */
class DiffProbeError extends Error {
  constructor(message) {
    super(message)
    this.name = 'DiffProbeError'
  }
}

// ---------------------------------------------------------------------------
// Leaves: strings, numbers, keys
// ---------------------------------------------------------------------------

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** One UTF-16 code unit, biased towards the interesting ones (lone surrogates included). */
const codeUnitArb = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(0x22, 0x5c, 0x2f, 0x7f, 0x80, 0xa0, 0xe9, 0x141, 0x13d, 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff),
    },
    { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xffff }) },
  )
  .map((c) => String.fromCharCode(c))

/** A whole astral character (a valid surrogate pair). */
const astralArb = fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp))

const jsStringArb = fc.oneof(
  { weight: 12, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: codeUnitArb }, { weight: 1, arbitrary: astralArb }), { maxLength: 12 }).map((a) => a.join('')) },
  // Longer than the 256-unit buffers the addon reads short strings into.
  { weight: 1, arbitrary: fc.array(fc.oneof({ weight: 30, arbitrary: fc.constantFrom('a', 'é', '€', ' ') }, { weight: 1, arbitrary: codeUnitArb }, { weight: 1, arbitrary: astralArb }), { minLength: 240, maxLength: 600 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('', 'Buffer', '\ud83d', '\ude00x', 'a\ud83d\ude00b', '"\\/', '\u2028\u2029', '\u0000\u001f', 'é😀') },
)

const EDGE_NUMBERS = [
  0, -0, NaN, Infinity, -Infinity, 1, -1, 0.1, 0.5, 1.5, 1.9, -1.5, 255, 256, 257, 65535, 65536,
  1e21, 1e20, 999999999999999900000, 123456789012345680000, 1e-6, 1e-7, 1.5e-7, 5e-324, -5e-324,
  2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 32 + 5, 4294967295, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 64,
  0.30000000000000004, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON,
]

const numberArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 2, arbitrary: fc.integer({ min: -300, max: 300 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 3, arbitrary: fc.double() },
)

const SPECIAL_KEYS = [
  '0', '1', '2', '3', '7', '10', '4294967294', '4294967295', '01', '-1', '-0', '1a', ' 1', '1.5', '1e3', '+1', '0x1',
  '__proto__', 'length', 'type', 'data', 'buffer', 'value', 'toJSON', 'valueOf', 'toString', 'constructor', '', 'a', 'b',
]

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
  { weight: 1, arbitrary: fc.nat(1000).map(String) },
  { weight: 1, arbitrary: jsStringArb },
)

const bytesArb = (maxLength = 24) => fc.array(fc.nat(255), { maxLength })

/** Nesting added on top of a value: mostly modest, sometimes up to 1,000 (our limit is 2,048). */
const depthArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 41, max: 1000 }) })

// ---------------------------------------------------------------------------
// (a) JavaScript values handed to the writer
// ---------------------------------------------------------------------------
// Recipes (first element is the kind):
//   ['undef'] ['null'] ['bool',b] ['num',n] ['str',s] ['bigint',s] ['symbol'] ['fn']
//   ['fnret', mode, inner]       a function (usable as toJSON): returns a fresh inner,
//                                its key argument, `this`, its arguments' shape, or throws
//   ['buf', bytes, offset]       Buffer (a view at `offset` into a larger one)
//   ['u8', bytes, offset]        Uint8Array (not a Buffer)
//   ['ta', kind, values, offset] any other typed array (BigInt ones included)
//   ['ab', bytes] ['dv', bytes, offset]
//   ['date', ms]                 (NaN: invalid date, toJSON gives null)
//   ['boxed', kind, prim, mod]   Number/String/Boolean/BigInt object (main realm)
//   ['fakeboxed', kind, entries] Object.create(Number.prototype…): no internal slot
//   ['buflike', data|null, entries, how]  {type:'Buffer', data}
//   ['toprim', s]                object with Symbol.toPrimitive → s
//   ['arr', items, holes] ['obj', entries] ['inherit', protoEntries, entries, nullProto]
//   ['withprops', target, entries]   own properties on a Buffer, array, function…
//   ['dup', inner]               the same object twice (not a cycle)
//   ['proxy', target, how]       a Proxy (plain, revoked, or reversing its own keys)
//   ['reproto', target, proto]   a value whose prototype was replaced
//   ['cycle', kind, depth, via]  a cycle (TypeError)
//   ['deep', depth, kind, inner] deep nesting (well below our 2048 limit)
// Entries are [key, valueRecipe, how], how: 'define' | 'assign' | 'nonenum' |
// 'getter' | 'once' (a getter answering differently on its second read) | 'throw' | 'symbol'.

const entryHowArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('define') },
  { weight: 3, arbitrary: fc.constant('assign') },
  { weight: 1, arbitrary: fc.constantFrom('nonenum', 'getter', 'once', 'symbol') },
  { weight: 1, arbitrary: fc.constantFrom('once', 'getter', 'throw') },
)

const TYPED_KINDS = ['Uint8ClampedArray', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint16Array', 'Uint32Array', 'Float32Array', 'Float64Array']
const BIG_KINDS = ['BigInt64Array', 'BigUint64Array']

const bigintTextArb = fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.constantFrom(0n, -1n, 2n ** 63n, 2n ** 64n - 1n)).map(String)

const binaryLeafArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(bytesArb(), fc.constantFrom(0, 0, 1, 3)).map(([b, o]) => ['buf', b, o]) },
  { weight: 3, arbitrary: fc.tuple(bytesArb(), fc.constantFrom(0, 0, 2)).map(([b, o]) => ['u8', b, o]) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...TYPED_KINDS), fc.array(numberArb, { maxLength: 6 }), fc.constantFrom(0, 0, 1)).map(([k, v, o]) => ['ta', k, v, o]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...BIG_KINDS), fc.array(bigintTextArb, { maxLength: 3 })).map(([k, v]) => ['ta', k, v, 0]) },
  { weight: 1, arbitrary: bytesArb(8).map((b) => ['ab', b]) },
  { weight: 1, arbitrary: fc.tuple(bytesArb(8), fc.nat(2)).map(([b, o]) => ['dv', b, o]) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.constant(NaN)).map((ms) => ['date', ms]) },
  { weight: 1, arbitrary: bigintTextArb.map((s) => ['bigint', s]) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.tuple(fc.constant('Number'), numberArb),
      fc.tuple(fc.constant('String'), jsStringArb),
      fc.tuple(fc.constant('Boolean'), fc.boolean()),
      fc.tuple(fc.constant('BigInt'), bigintTextArb),
    ).chain(([kind, prim]) =>
      fc.constantFrom('none', 'valueOf', 'valueOfObject', 'toString', 'props', 'typeBuffer', 'valueOfThrows').map((mod) => ['boxed', kind, prim, mod]),
    ),
  },
)

const leafArb = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(['undef'], ['null'], ['fn'], ['symbol']) },
  { weight: 1, arbitrary: fc.boolean().map((b) => ['bool', b]) },
  { weight: 4, arbitrary: numberArb.map((n) => ['num', n]) },
  { weight: 4, arbitrary: jsStringArb.map((s) => ['str', s]) },
)

// A huge `length` makes Buffer.from (of a Buffer look-alike) or JSON.stringify
// (of an array) walk billions of indices, in Baileys and in our addon alike:
// too slow to test, so numeric `length` values stay small.
const tameLength = ([key, spec, how]) =>
  key === 'length' && spec[0] === 'num' && !(Math.abs(spec[1]) <= 5000) ? [key, ['num', Number.isNaN(spec[1]) ? NaN : spec[1] % 5000 || 7], how] : [key, spec, how]

const jsValue = fc.letrec((tie) => {
  const entry = fc.tuple(keyArb, tie('value'), entryHowArb).map(tameLength)
  const entries = fc.array(entry, { maxLength: 5 })
  return {
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
      { weight: 6, arbitrary: leafArb },
      { weight: 4, arbitrary: binaryLeafArb },
      { weight: 3, arbitrary: tie('array') },
      { weight: 4, arbitrary: tie('object') },
      { weight: 3, arbitrary: tie('buflike') },
      { weight: 3, arbitrary: tie('special') },
    ),
    array: fc.tuple(fc.array(tie('value'), { maxLength: 5 }), fc.array(fc.nat(5), { maxLength: 2 })).map(([items, holes]) => ['arr', items, holes]),
    object: fc.oneof(
      { weight: 6, arbitrary: entries.map((e) => ['obj', e]) },
      // wide objects (past the small-object paths)
      { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(keyArb, fc.nat(60).map(String)), leafArb, entryHowArb).map(tameLength), { minLength: 14, maxLength: 40 }).map((e) => ['obj', e]) },
    ),
    // {type:'Buffer', data: …} look-alikes, the replacer's third test.
    bufData: fc.oneof(
      { weight: 4, arbitrary: jsStringArb.map((s) => ['str', s]) },
      { weight: 3, arbitrary: fc.array(fc.oneof(numberArb.map((n) => ['num', n]), leafArb), { maxLength: 6 }).map((items) => ['arr', items, []]) },
      { weight: 2, arbitrary: fc.constantFrom(['undef'], ['null'], ['num', 0], ['num', 5], ['num', NaN], ['bool', true], ['bool', false], ['str', '']) },
      { weight: 2, arbitrary: binaryLeafArb },
      { weight: 1, arbitrary: jsStringArb.map((s) => ['toprim', s]) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(0, 1, 2, 2.5, -1, '2', null), fc.array(numberArb, { maxLength: 3 }))
          .map(([len, nums]) => ['obj', [['length', len === null ? ['null'] : typeof len === 'string' ? ['str', len] : ['num', len], 'define'], ...nums.map((n, i) => [String(i), ['num', n], 'define'])]]),
      },
      { weight: 1, arbitrary: tie('value') },
    ),
    buflike: fc
      .tuple(fc.option(tie('bufData'), { nil: null, freq: 6 }), fc.array(entry, { maxLength: 2 }), fc.constantFrom('plain', 'plain', 'plain', 'proto', 'getters', 'dataFirst'))
      .map(([data, extra, how]) => ['buflike', data, extra, how]),
    special: fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('ret', 'ret', 'key', 'this', 'args', 'throw'), tie('value')).map(([mode, inner]) => ['fnret', mode, inner]) },
      // toJSON on all kinds of holders: plain objects, Buffers, Uint8Arrays, arrays, functions, dates…
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.oneof(binaryLeafArb, tie('array'), tie('object'), fc.constant(['fn'])),
            fc.array(
              fc.oneof(
                { weight: 3, arbitrary: fc.tuple(fc.constant('toJSON'), fc.tuple(fc.constantFrom('ret', 'key', 'this', 'args', 'throw'), tie('value')).map(([m, i]) => ['fnret', m, i]), entryHowArb) },
                { weight: 2, arbitrary: fc.tuple(fc.constantFrom('type', 'data', 'toJSON'), tie('bufData'), entryHowArb) },
                { weight: 1, arbitrary: fc.tuple(fc.constant('type'), fc.constant(['str', 'Buffer']), entryHowArb) },
                { weight: 2, arbitrary: entry },
              ),
              { minLength: 1, maxLength: 3 },
            ),
          )
          .map(([target, e]) => ['withprops', target, e]),
      },
      { weight: 2, arbitrary: fc.tuple(entries, entries, fc.boolean()).map(([p, o, n]) => ['inherit', p, o, n]) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Number', 'String', 'Boolean', 'Date'), entries).map(([k, e]) => ['fakeboxed', k, e]) },
      { weight: 1, arbitrary: tie('value').map((inner) => ['dup', inner]) },
      // Proxies (IsArray sees through them, `instanceof` follows their prototype)
      // and values whose prototype was replaced.
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.oneof(binaryLeafArb, tie('array'), tie('object'), tie('buflike'), fc.constant(['fn'])), fc.constantFrom('plain', 'plain', 'revoked', 'ownKeysReversed'))
          .map(([target, how]) => ['proxy', target, how]),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.oneof(binaryLeafArb, tie('array'), tie('object')), fc.constantFrom('Object', 'null', 'Array', 'Uint8Array', 'Buffer', 'Date'))
          .filter(([target]) => target[0] !== 'boxed')
          .map(([target, proto]) => ['reproto', target, proto]),
      },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('obj', 'arr', 'mixed'), fc.nat(4), fc.constantFrom('direct', 'direct', 'toJSON', 'getter', 'data')).map(([k, d, via]) => ['cycle', k, d, via]) },
      { weight: 1, arbitrary: fc.tuple(depthArb, fc.constantFrom('arr', 'obj', 'buf'), leafArb).map(([d, k, i]) => ['deep', d, k, i]) },
    ),
  }
})

/** Recipes of JavaScript values Baileys' writer can be handed. */
const jsValueSpec = jsValue.value

function isBigIntView(x) {
  return x instanceof BigInt64Array || x instanceof BigUint64Array
}

function defineEntry(target, key, spec, how) {
  // An index of a typed array is an element, not a property: it can only be
  // assigned, and a BigInt64Array's only a BigInt; other entries there would
  // make the builder itself throw. They are left out, for every side alike
  // (each builds from the same recipe).
  if (ArrayBuffer.isView(target) && !(target instanceof DataView) && String(Number(key)) === key) {
    if (how !== 'assign' || isBigIntView(target)) return
  }
  switch (how) {
    case 'assign':
      if (key !== '__proto__') {
        target[key] = build(spec)
        return
      }
    // an own `__proto__` needs defineProperty
    // falls through
    case 'define':
      Object.defineProperty(target, key, { value: build(spec), enumerable: true, writable: true, configurable: true })
      return
    case 'nonenum':
      Object.defineProperty(target, key, { value: build(spec), enumerable: false, writable: true, configurable: true })
      return
    case 'getter':
      Object.defineProperty(target, key, { get: () => build(spec), enumerable: true, configurable: true })
      return
    case 'once': {
      let reads = 0
      Object.defineProperty(target, key, { get: () => (reads++ === 0 ? build(spec) : 'read twice'), enumerable: true, configurable: true })
      return
    }
    case 'throw':
      Object.defineProperty(target, key, {
        get: () => {
          throw new DiffProbeError(`getter ${JSON.stringify(key)}`)
        },
        enumerable: true,
        configurable: true,
      })
      return
    case 'symbol':
      target[Symbol(key)] = build(spec)
      return
    default:
      throw new Error(`unknown how ${how}`)
  }
}

function defineEntries(target, entries) {
  for (const [k, v, how] of entries) {
    // An index like 4294967294 on an array would make it 2^32 long (both
    // sides would walk every hole): such entries are left out.
    if (Array.isArray(target) && /^[0-9]+$/.test(k) && Number(k) > 5000) continue
    // Buffer.from(view) allocates `view.length` bytes from Node's pool and
    // copies only the view's real elements: a larger own `length` would leave
    // stale pool memory in the output (different on every call, in Baileys
    // too), so typed arrays only get a `length` that is not larger.
    if (ArrayBuffer.isView(target) && k === 'length' && !(v[0] === 'num' && v[1] <= target.length) && !(v[0] === 'str' || v[0] === 'null' || v[0] === 'undef')) continue
    // A property of a typed array at an integer index cannot be redefined.
    try {
      defineEntry(target, k, v, how)
    } catch (e) {
      // (and an array's `length` takes neither enumerable nor odd values)
      if (e instanceof DiffProbeError || !['TypeError', 'RangeError'].includes(e && e.name)) throw e
    }
  }
  return target
}

function viewOf(C, values, offset) {
  const n = values.length
  if (!offset) return C.from(values)
  const ab = new ArrayBuffer((offset + n + 1) * C.BYTES_PER_ELEMENT)
  const view = new C(ab, offset * C.BYTES_PER_ELEMENT, n)
  view.set(values)
  return view
}

/** A fresh JavaScript value from a recipe of `jsValueSpec`. */
function build(spec) {
  switch (spec[0]) {
    case 'undef':
      return undefined
    case 'null':
      return null
    case 'bool':
    case 'num':
    case 'str':
      return spec[1]
    case 'bigint':
      return BigInt(spec[1])
    case 'symbol':
      return Symbol('s')
    case 'fn':
      return function f() {}
    case 'fnret': {
      const [, mode, inner] = spec
      return function toJSONish(key) {
        switch (mode) {
          case 'ret':
            return build(inner)
          case 'key':
            return key
          case 'this':
            return this
          case 'args':
            return `${arguments.length}:${typeof key}:${JSON.stringify(key)}`
          case 'throw':
            throw new DiffProbeError('toJSON')
          default:
            throw new Error(mode)
        }
      }
    }
    case 'buf': {
      const [, bytes, offset] = spec
      if (!offset) return Buffer.from(bytes)
      const big = Buffer.alloc(offset + bytes.length + 3, 0xaa)
      Buffer.from(bytes).copy(big, offset)
      return big.subarray(offset, offset + bytes.length)
    }
    case 'u8':
      return viewOf(Uint8Array, spec[1], spec[2])
    case 'ta': {
      const [, kind, values, offset] = spec
      const C = globalThis[kind]
      return viewOf(C, BIG_KINDS.includes(kind) ? values.map((s) => BigInt(s)) : values, offset)
    }
    case 'ab':
      return Uint8Array.from(spec[1]).buffer
    case 'dv': {
      const ab = Uint8Array.from(spec[1]).buffer
      return new DataView(ab, Math.min(spec[2], ab.byteLength))
    }
    case 'date':
      return new Date(spec[1])
    case 'boxed': {
      const [, kind, prim, mod] = spec
      // Main realm constructors: the addon recognises boxed primitives of its own realm only.
      const v = kind === 'BigInt' ? mainGlobal.Object(BigInt(prim)) : new mainGlobal[kind](prim)
      switch (mod) {
        case 'valueOf':
          v.valueOf = () => 7
          break
        case 'valueOfObject':
          v.valueOf = () => ({})
          v.toString = () => '12'
          break
        case 'valueOfThrows':
          v.valueOf = () => {
            throw new DiffProbeError('valueOf')
          }
          v.toString = () => {
            throw new DiffProbeError('toString')
          }
          break
        case 'toString':
          v.toString = () => 'str'
          break
        case 'props':
          v.extra = 1
          break
        case 'typeBuffer':
          v.type = 'Buffer'
          break
      }
      return v
    }
    case 'fakeboxed': {
      const [, kind, entries] = spec
      return defineEntries(Object.create(mainGlobal[kind].prototype), entries)
    }
    case 'buflike': {
      const [, data, extra, how] = spec
      let o
      if (how === 'proto') {
        const proto = { type: 'Buffer' }
        if (data) proto.data = build(data)
        o = Object.create(proto)
      } else if (how === 'getters') {
        o = {}
        let typeReads = 0
        let dataReads = 0
        Object.defineProperty(o, 'type', { get: () => (typeReads++ === 0 ? 'Buffer' : 'read twice'), enumerable: true, configurable: true })
        if (data) Object.defineProperty(o, 'data', { get: () => (dataReads++ === 0 ? build(data) : 'read twice'), enumerable: true, configurable: true })
      } else if (how === 'dataFirst') {
        o = {}
        if (data) o.data = build(data)
        o.type = 'Buffer'
      } else {
        o = { type: 'Buffer' }
        if (data) o.data = build(data)
      }
      return defineEntries(o, extra)
    }
    case 'toprim': {
      const s = spec[1]
      return { [Symbol.toPrimitive]: () => s }
    }
    case 'arr': {
      const [, items, holes] = spec
      const a = items.map(build)
      for (const h of holes) if (h < a.length) delete a[h]
      return a
    }
    case 'obj':
      return defineEntries({}, spec[1])
    case 'inherit': {
      const [, protoEntries, entries, nullProto] = spec
      const proto = nullProto ? null : defineEntries({}, protoEntries)
      return defineEntries(Object.create(proto), entries)
    }
    case 'withprops': {
      const [, target, entries] = spec
      const t = build(target)
      if (t === null || (typeof t !== 'object' && typeof t !== 'function')) return t
      return defineEntries(t, entries)
    }
    case 'proxy': {
      const [, target, how] = spec
      const t = build(target)
      if (t === null || (typeof t !== 'object' && typeof t !== 'function')) return t
      if (how === 'revoked') {
        const r = Proxy.revocable(t, {})
        r.revoke()
        return r.proxy
      }
      return new Proxy(t, how === 'ownKeysReversed' ? { ownKeys: (o) => Reflect.ownKeys(o).reverse() } : {})
    }
    case 'reproto': {
      const [, target, proto] = spec
      const t = build(target)
      if (t === null || typeof t !== 'object') return t
      const protos = { Object: Object.prototype, null: null, Array: Array.prototype, Uint8Array: Uint8Array.prototype, Buffer: Buffer.prototype, Date: Date.prototype }
      return Object.setPrototypeOf(t, protos[proto])
    }
    case 'dup': {
      const x = build(spec[1])
      return [x, { a: x, b: x }]
    }
    case 'cycle': {
      const [, kind, depth, via] = spec
      const make = (i) => (kind === 'arr' || (kind === 'mixed' && i % 2) ? [] : {})
      const put = (holder, v) => (Array.isArray(holder) ? holder.push(v) : (holder.k = v))
      const root = make(0)
      let cur = root
      for (let i = 1; i <= depth; i++) {
        const next = make(i)
        put(cur, next)
        cur = next
      }
      if (via === 'direct') put(cur, root)
      else if (via === 'toJSON') put(cur, { toJSON: () => root })
      else if (via === 'getter') Object.defineProperty(cur, 'g', { get: () => root, enumerable: true })
      // A cycle hidden in the `data` of a Buffer look-alike goes to Buffer.from.
      else put(cur, { type: 'Buffer', data: [1, root] })
      return root
    }
    case 'deep': {
      const [, depth, kind, inner] = spec
      let v = build(inner)
      for (let i = 0; i < depth; i++) v = kind === 'arr' ? [v] : kind === 'obj' ? { k: v } : { b: Buffer.from([i & 255]), v }
      return v
    }
    default:
      throw new Error(`unknown recipe ${spec[0]}`)
  }
}

// ---------------------------------------------------------------------------
// (b) JSON texts handed to the reader
// ---------------------------------------------------------------------------
// A text is a tree of recipes written out with chosen spellings:
//   ['lit', 'true'|'false'|'null'], ['num', text], ['str', jsString, mode],
//   ['arr', items], ['obj', [[keyStrNode, valueNode]…]], ['deep', n, kind, inner]
// String modes: 'std' (JSON.stringify's escapes), 'raw' (lone surrogates
// written raw, which UTF-8 turns into U+FFFD), 'u' / 'U' (every unit as
// \uxxxx / \uXXXX), 'mixed', 'slash' (`\/`).

const jstr = (s, mode = 'std') => ['str', s, mode]
const strModeArb = fc.constantFrom('std', 'std', 'std', 'raw', 'u', 'U', 'mixed', 'slash')

const digitsArb = (min, max) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''))

const numTextArb = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0', '-0', '1', '-1', '0.5', '1e400', '-1e400', '1e-400', '-1e-400', '4294967295', '4294967296', '9007199254740993',
      '1.7976931348623157e308', '1.7976931348623159e308', '5e-324', '2.4703282292062328e-324', '2.4703282292062327e-324',
      '123456789012345678901234567890', '0.1', '1E2', '1e+2', '1E-2', '256', '-256', '255.9', '-1.5', '1e21', '1.5e-7', '-0.0', '0e0', '2e9999',
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: -300, max: 300 }).map(String) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.boolean(),
        fc.oneof(fc.constant('0'), fc.tuple(fc.integer({ min: 1, max: 9 }), digitsArb(0, 22)).map(([a, b]) => `${a}${b}`)),
        fc.option(digitsArb(1, 20), { nil: null }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digitsArb(1, 4)), { nil: null }),
      )
      .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`),
  },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)) },
)

/** Strings meant for base64 decoding: every character class Node's decoder treats differently. */
const b64UnitArb = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...BASE64_ALPHABET) },
  { weight: 3, arbitrary: fc.constantFrom('-', '_') },
  { weight: 3, arbitrary: fc.constant('=') },
  { weight: 2, arbitrary: fc.constantFrom(' ', '\n', '\t', '\r', '\u00a0') },
  { weight: 2, arbitrary: fc.constantFrom('!', '.', '*', '#', '"', '\\', '\u0000', '~', '@', '\u007f') },
  // Code units whose low byte is an alphabet character or '=' (Node looks at the low byte only).
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...(BASE64_ALPHABET + '=-_')), fc.constantFrom(0x100, 0x4100, 0xd800, 0xdc00, 0xff00))
      .map(([c, hi]) => String.fromCharCode(hi | c.charCodeAt(0))),
  },
)

function insertAt(s, pos, piece) {
  const p = pos % (s.length + 1)
  return s.slice(0, p) + piece + s.slice(p)
}

const b64StringArb = fc.oneof(
  { weight: 3, arbitrary: fc.array(b64UnitArb, { maxLength: 40 }).map((a) => a.join('')) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(bytesArb(40), fc.constantFrom('std', 'url', 'nopad', 'url-nopad'), fc.array(fc.tuple(fc.nat(), b64UnitArb), { maxLength: 3 }))
      .map(([bytes, style, inserts]) => {
        let s = Buffer.from(bytes).toString(style.startsWith('url') ? 'base64url' : 'base64')
        if (style === 'url') s += '='.repeat((4 - (s.length % 4)) % 4)
        if (style === 'nopad') s = s.replace(/=+$/, '')
        for (const [pos, c] of inserts) s = insertAt(s, pos, c)
        return s
      }),
  },
  // Around 1024 characters Node switches from a 4-bytes-a-character scratch
  // size to base64ByteLength(), which truncates some inputs; from 4096
  // characters on it decodes in C++ (createFromString).
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 740, max: 830 }) }, { weight: 1, arbitrary: fc.integer({ min: 831, max: 2980 }) }, { weight: 1, arbitrary: fc.integer({ min: 2981, max: 3160 }) }), fc.nat(255), fc.array(fc.tuple(fc.nat(), b64UnitArb), { maxLength: 12 }), fc.boolean())
      .map(([n, seed, inserts, strip]) => {
        const bytes = Buffer.alloc(n)
        for (let i = 0; i < n; i++) bytes[i] = (seed + i * 131 + ((i * i) >> 3)) & 255
        let s = bytes.toString('base64')
        if (strip) s = s.replace(/=+$/, '')
        for (const [pos, c] of inserts) s = insertAt(s, pos, c)
        return s
      }),
  },
)

const INDEX_KEYS = ['0', '1', '2', '3', '4', '5', '10', '255', '01', '1a', ' 1', '-1', '+1', '1.5', '0x1', '4294967294', '4294967295', '\u00a01', '\ufeff2', '\u20281', '9'.repeat(20), 'a', 'NaN', '-', '']
const indexKeyArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...INDEX_KEYS) }, { weight: 2, arbitrary: fc.nat(40).map(String) })

const NUMERIC_STRINGS = ['0x10', ' 7 ', '1e2', '.5', '5.', '0b101', '0o17', '-0x10', 'Infinity', '-Infinity', '1_000', '\u00a012\u2028', '', ' ', '12abc', '+5', '-5', '0X1F', '1e400', '\ufeff3']

const jsonTree = fc.letrec((tie) => {
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
    { weight: 2, arbitrary: indexKeyArb },
    { weight: 1, arbitrary: jsStringArb },
  )
  const member = fc.tuple(fc.tuple(key, strModeArb).map(([k, m]) => jstr(k, m)), tie('node'))
  const scalar = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(['lit', 'true'], ['lit', 'false'], ['lit', 'null']) },
    { weight: 3, arbitrary: numTextArb.map((t) => ['num', t]) },
    { weight: 2, arbitrary: fc.tuple(jsStringArb, strModeArb).map(([s, m]) => jstr(s, m)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NUMERIC_STRINGS), strModeArb).map(([s, m]) => jstr(s, m)) },
  )
  // What v6's reviver hands to Buffer.from: arrays of anything (ToNumber of each
  // element), objects with a length, Buffer JSON, numbers, true…
  const v6payload = fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: numTextArb.map((t) => ['num', t]) }, { weight: 2, arbitrary: scalar }, { weight: 1, arbitrary: tie('node') }), { maxLength: 8 }).map((items) => ['arr', items]) },
    { weight: 3, arbitrary: fc.tuple(b64StringArb, strModeArb).map(([s, m]) => jstr(s, m)) },
    { weight: 2, arbitrary: scalar },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom('0', '1', '2', '3', '2.5', '0.5', '-1', '4095', '4096', '4097', '5000', '1e-300', '"2"', 'null', 'true', '{}'), fc.nat(5000).map(String)),
          fc.array(fc.tuple(indexKeyArb, scalar), { maxLength: 4 }),
        )
        .map(([len, members]) => {
          const lenNode = len === '"2"' ? jstr('2') : len === 'null' || len === 'true' ? ['lit', len] : len === '{}' ? ['obj', []] : ['num', len]
          return ['obj', [[jstr('length'), lenNode], ...members.map(([k, v]) => [jstr(k), v])]]
        }),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('valueOf', 'toString'), scalar, fc.array(member, { maxLength: 2 })).map(([k, v, rest]) => ['obj', [[jstr(k), v], ...rest]]) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(['obj', [[jstr('toString'), ['num', '1']]]], ['obj', [[jstr('valueOf'), ['num', '1']]]], ['arr', [['num', '3']]], ['arr', []], ['obj', []]), { maxLength: 3 }).map((items) => ['arr', items]) },
    { weight: 1, arbitrary: fc.integer({ min: 4090, max: 4100 }).map((n) => ['arr', Array.from({ length: n }, (_, i) => ['num', String((i * 7) % 300)])]) },
    { weight: 1, arbitrary: tie('node') },
  )
  return {
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
      { weight: 5, arbitrary: scalar },
      { weight: 3, arbitrary: tie('arr') },
      { weight: 4, arbitrary: tie('obj') },
      { weight: 5, arbitrary: tie('bufferish') },
      { weight: 1, arbitrary: tie('deep') },
    ),
    arr: fc.array(tie('node'), { maxLength: 5 }).map((items) => ['arr', items]),
    obj: fc.array(member, { maxLength: 5 }).map((m) => ['obj', m]),
    deep: fc.tuple(depthArb, fc.constantFrom('arr', 'obj', 'idx'), scalar).map(([n, kind, inner]) => ['deep', n, kind, inner]),
    bufferish: fc.oneof(
      // {"type":"Buffer","data":"<base64>"} in any key order, with extra keys and duplicates
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.tuple(b64StringArb, strModeArb), fc.array(member, { maxLength: 2 }), fc.nat(), fc.constantFrom('Buffer', 'Buffer', 'Buffer', 'buffer', 'Buffer '))
          .map(([[b64, mode], extra, seed, type]) => {
            const members = [[jstr('type'), jstr(type)], [jstr('data'), jstr(b64, mode)], ...extra]
            return ['obj', rotate(members, seed)]
          }),
      },
      // v6's forms: type Buffer or buffer:true, with data or value of every kind
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.constantFrom([['type', ['str', 'Buffer', 'std']]], [['buffer', ['lit', 'true']]], [['buffer', ['lit', 'true']], ['type', ['str', 'x', 'std']]], [['buffer', ['str', 'true', 'std']]]),
            fc.constantFrom('data', 'value', 'both'),
            v6payload,
            v6payload,
            fc.nat(),
          )
          .map(([mark, where, p1, p2, seed]) => {
            const members = mark.map(([k, v]) => [jstr(k), v])
            if (where !== 'value') members.push([jstr('data'), p1])
            if (where !== 'data') members.push([jstr('value'), p2])
            return ['obj', rotate(members, seed)]
          }),
      },
      // index-keyed objects (v7 revives them when every value is a number)
      {
        weight: 4,
        arbitrary: fc
          .array(fc.tuple(fc.tuple(indexKeyArb, strModeArb), fc.oneof({ weight: 8, arbitrary: numTextArb.map((t) => ['num', t]) }, { weight: 1, arbitrary: scalar }, { weight: 1, arbitrary: tie('node') })), { minLength: 1, maxLength: 8 })
          .map((m) => ['obj', m.map(([[k, mode], v]) => [jstr(k, mode), v])]),
      },
      // wide objects with many duplicate keys (past the 16-entry linear scan)
      {
        weight: 2,
        arbitrary: fc
          .array(fc.tuple(fc.oneof(fc.constantFrom('type', 'data', '__proto__', 'a', 'b', 'length'), fc.nat(40).map(String)), fc.oneof({ weight: 4, arbitrary: numTextArb.map((t) => ['num', t]) }, { weight: 1, arbitrary: scalar })), { minLength: 15, maxLength: 60 })
          .map((m) => ['obj', m.map(([k, v]) => [jstr(k), v])]),
      },
      // duplicate keys: first position, last value
      {
        weight: 2,
        arbitrary: fc
          .array(fc.tuple(fc.constantFrom('type', 'data', '0', '1', 'a', '__proto__', 'buffer', 'value'), fc.oneof(scalar, fc.constant(jstr('Buffer')), fc.tuple(b64StringArb).map(([s]) => jstr(s)))), { minLength: 2, maxLength: 6 })
          .map((m) => ['obj', m.map(([k, v]) => [jstr(k), v])]),
      },
    ),
  }
})

function rotate(a, seed) {
  if (a.length === 0) return a
  const r = seed % a.length
  const out = a.slice(r).concat(a.slice(0, r))
  return seed % 3 === 0 ? out.reverse() : out
}

function escapeUnit(c, upper) {
  const h = c.toString(16).padStart(4, '0')
  return `\\u${upper ? h.toUpperCase() : h}`
}

/** A JSON string literal for `s`, spelled according to `mode`. */
function writeString(s, mode) {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const isHigh = c >= 0xd800 && c < 0xdc00
    const isLow = c >= 0xdc00 && c < 0xe000
    const paired = (isHigh && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) < 0xe000) || (isLow && i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) < 0xdc00)
    if (mode === 'u' || mode === 'U' || (mode === 'mixed' && i % 2 === 1)) {
      out += escapeUnit(c, mode === 'U' || (mode === 'mixed' && i % 4 === 1))
    } else if (c === 0x22) out += '\\"'
    else if (c === 0x5c) out += '\\\\'
    else if (c === 0x2f && mode === 'slash') out += '\\/'
    else if (c < 0x20) {
      const short = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' }[c]
      out += short || escapeUnit(c, false)
    } else if ((isHigh || isLow) && !paired && mode !== 'raw') out += escapeUnit(c, false)
    else out += s[i]
  }
  return out + '"'
}

/** The text of a JSON tree, with white space taken in turn from `ws`. */
function writeJson(tree, ws) {
  let n = 0
  const w = () => (ws.length ? ws[n++ % ws.length] : '')
  const parts = []
  const walk = (t) => {
    switch (t[0]) {
      case 'lit':
      case 'num':
        parts.push(t[1])
        return
      case 'str':
        parts.push(writeString(t[1], t[2]))
        return
      case 'arr':
        parts.push('[', w())
        t[1].forEach((item, i) => {
          if (i) parts.push(',', w())
          walk(item)
          parts.push(w())
        })
        parts.push(']')
        return
      case 'obj':
        parts.push('{', w())
        t[1].forEach(([k, v], i) => {
          if (i) parts.push(',', w())
          walk(k)
          parts.push(w(), ':', w())
          walk(v)
          parts.push(w())
        })
        parts.push('}')
        return
      case 'deep': {
        const [, depth, kind, inner] = t
        const open = kind === 'arr' ? '[' : kind === 'obj' ? '{"k":' : '{"0":1,"x":'
        parts.push(open.repeat(depth))
        walk(inner)
        parts.push((kind === 'arr' ? ']' : '}').repeat(depth))
        return
      }
      default:
        throw new Error(`unknown JSON recipe ${t[0]}`)
    }
  }
  parts.push(w())
  walk(tree)
  parts.push(w())
  return parts.join('')
}

const wsArb = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.constantFrom('', '', ' ', '\n', '\t', '\r\n', '  '), { maxLength: 4 }) })

// Byte-level corruptions: the result may or may not still be JSON.
const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xc3], [0xfe, 0xff], [0xe0, 0x80, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80]]
const mutationArb = fc.oneof(
  { weight: 3, arbitrary: fc.nat().map((p) => ['truncate', p]) },
  { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.oneof(fc.nat(255), fc.constantFrom(...'{}[]",:\\0-eE.tfn '.split('').map((c) => c.charCodeAt(0))))).map(([p, b]) => ['set', p, b]) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8)).map(([p, b]) => ['insert', p, b]) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })).map(([p, n]) => ['delete', p, n]) },
  { weight: 1, arbitrary: fc.constant(['bom']) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...'{}[]",:\\ 0'.split('').map((c) => c.charCodeAt(0)))).map(([p, b]) => ['insert', p, [b]]) },
)

function mutate(bytes, mutations) {
  let b = Buffer.from(bytes)
  for (const m of mutations) {
    const at = (p) => p % (b.length + 1)
    switch (m[0]) {
      case 'truncate':
        b = b.subarray(0, at(m[1]))
        break
      case 'set':
        if (b.length) {
          b = Buffer.from(b)
          b[m[1] % b.length] = m[2]
        }
        break
      case 'insert': {
        const p = at(m[1])
        b = Buffer.concat([b.subarray(0, p), Buffer.from(m[2]), b.subarray(p)])
        break
      }
      case 'delete': {
        const p = at(m[1])
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + m[2])])
        break
      }
      case 'bom':
        b = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])
        break
    }
  }
  return b
}

/**
 * A reader input: `{ tree, ws, mutations, asString }`. Without mutations the
 * text is valid JSON (`asString`: handed over as a JavaScript string rather
 * than bytes); with them it may or may not parse.
 */
const jsonTextCase = fc.record({
  tree: jsonTree.node,
  ws: wsArb,
  mutations: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }),
  asString: fc.boolean(),
})

/** The input a text case stands for: a string, or the (mutated) UTF-8 bytes. */
function textInput(c) {
  const text = writeJson(c.tree, c.ws)
  if (c.mutations.length === 0 && c.asString) return text
  return mutate(Buffer.from(text, 'utf8'), c.mutations)
}

// ---------------------------------------------------------------------------
// Key stores (useMultiFileAuthState)
// ---------------------------------------------------------------------------
// Types never include 'app-state-sync-key' (its values go through protobuf's
// fromObject on the way out, a separate concern). Ids include characters
// fixFileName rewrites (so two ids can share a file: the last write in
// issue order wins, in both), integer-like ids (visited first by for…in) and
// an own `__proto__`. File names stay far below NAME_MAX.

const KEY_TYPES = ['pre-key', 'session', 'sender-key', 'sender-key-memory', 'lid-mapping', 'device-list', 'tctoken', 'identity-key', 'a:b', 'x/y']
const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.nat(30).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('123-456@g.us::789.0', 'aB/cD==', 'aB__cD==', '1234:5@s.whatsapp.net', '1234-5@s.whatsapp.net', '__proto__', 'constructor', 'ü', '😀', 'a b', '01', '-1', '\ud800', '\udc00', 'x\ud83d') },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...'ab01/:-_.@'), { minLength: 1, maxLength: 6 }).map((a) => a.join('')) },
)
const falsyArb = fc.constantFrom(['null'], ['undef'], ['num', 0], ['str', ''], ['bool', false], ['num', NaN], ['num', -0])
const storeValueArb = fc.oneof({ weight: 5, arbitrary: jsValueSpec }, { weight: 1, arbitrary: falsyArb })

/**
 * `{ batches: [[type, id, valueRecipe, where]…]… }`: successive `keys.set`
 * calls. `where` is 'own', or 'inherited' for an id that sits on the
 * prototype of its type's object (Baileys' `for…in` visits it too).
 */
const fileCase = fc.record({
  batches: fc.array(
    fc.array(fc.tuple(fc.constantFrom(...KEY_TYPES), idArb, storeValueArb, fc.constantFrom('own', 'own', 'own', 'inherited')), { minLength: 1, maxLength: 6 }),
    { minLength: 1, maxLength: 3 },
  ),
})

/** The `data` argument of `keys.set` for one batch, built fresh. */
function buildSetData(batch, valueOf) {
  const data = {}
  const define = (o, k, v) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  for (const [type, id, spec, where = 'own'] of batch) {
    if (!Object.prototype.hasOwnProperty.call(data, type)) define(data, type, Object.create({}))
    const holder = where === 'inherited' ? Object.getPrototypeOf(data[type]) : data[type]
    define(holder, id, valueOf(spec))
  }
  return data
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/**
 * A canonical, realm-independent description of a decoded value, as a
 * string: tells a Buffer (`B<hex>`) from a plain object, keeps -0, lone
 * surrogates (JSON.stringify escapes them) and own-key order, and checks that
 * objects are plain with only own enumerable data properties, as JSON.parse
 * makes them (anything else is spelled out). Never uses `instanceof` (jest's
 * realm differs from the addon's).
 */
function dump(v) {
  const out = []
  dumpInto(v, out)
  return out.join('')
}

function dumpInto(v, out) {
  if (v === undefined) return void out.push('undefined')
  if (v === null) return void out.push('null')
  switch (typeof v) {
    case 'boolean':
      return void out.push(String(v))
    case 'number':
      return void out.push(Object.is(v, -0) ? '-0' : String(v))
    case 'string':
      return void out.push(JSON.stringify(v))
    case 'object':
      break
    default:
      return void out.push(`<${typeof v} ${String(v)}>`)
  }
  if (Buffer.isBuffer(v)) return void out.push(`B<${v.toString('hex')}>`)
  if (ArrayBuffer.isView(v)) return void out.push(`<view ${Object.prototype.toString.call(v)}>`)
  const keys = Reflect.ownKeys(v)
  if (Array.isArray(v)) {
    out.push('[')
    if (keys.length !== v.length + 1) out.push(`<own keys ${JSON.stringify(keys.map(String))}>`)
    for (let i = 0; i < v.length; i++) {
      if (i) out.push(',')
      if (Object.prototype.hasOwnProperty.call(v, i)) dumpInto(v[i], out)
      else out.push('<hole>')
    }
    return void out.push(']')
  }
  const proto = Object.getPrototypeOf(v)
  const plain = proto !== null && Object.getPrototypeOf(proto) === null && proto.constructor && proto.constructor.name === 'Object'
  out.push(plain ? '{' : `{<prototype ${proto === null ? 'null' : proto.constructor && proto.constructor.name}>`)
  keys.forEach((k, i) => {
    if (i) out.push(',')
    const d = Object.getOwnPropertyDescriptor(v, k)
    out.push(typeof k === 'symbol' ? `<${String(k)}>` : JSON.stringify(k))
    if (!('value' in d)) return void out.push(':<accessor>')
    if (!(d.enumerable && d.writable && d.configurable)) out.push(`<${d.enumerable ? 'E' : ''}${d.writable ? 'W' : ''}${d.configurable ? 'C' : ''}>`)
    out.push(':')
    dumpInto(d.value, out)
  })
  out.push('}')
}

/** What a call did: `['ok', dump]`, or `['throw', name]` (plus the message for probe errors). */
function outcome(fn, describe = dump) {
  try {
    return ['ok', describe(fn())]
  } catch (e) {
    if (e === null || typeof e !== 'object') return ['throw', `non-object ${String(e)}`]
    const name = e.name
    return name === 'DiffProbeError' ? ['throw', name, e.message] : ['throw', name]
  }
}

async function outcomeAsync(fn, describe = dump) {
  try {
    return ['ok', describe(await fn())]
  } catch (e) {
    if (e === null || typeof e !== 'object') return ['throw', `non-object ${String(e)}`]
    return e.name === 'DiffProbeError' ? ['throw', e.name, e.message] : ['throw', e.name]
  }
}

const bytesDescription = (b) => (b === undefined ? 'undefined' : Buffer.isBuffer(b) ? `bytes ${b.toString('hex')} ${JSON.stringify(b.toString('utf8'))}` : `not a Buffer: ${String(b)}`)

class DifferenceError extends Error {
  constructor(what, ours, theirs) {
    super(`${what}\n  ours:   ${short(ours)}\n  theirs: ${short(theirs)}`)
    this.name = 'DifferenceError'
  }
}

function short(x) {
  const s = JSON.stringify(x)
  return s.length > 4000 ? `${s.slice(0, 4000)}… (${s.length} chars)` : s
}

function same(what, ours, theirs) {
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) throw new DifferenceError(what, ours, theirs)
}

// ---------------------------------------------------------------------------
// The checks (one generated case each; they throw a DifferenceError on a difference)
// ---------------------------------------------------------------------------

/**
 * `lib` = { native, v6, v7 }: our package (index.js) and the two Baileys
 * modules (anything with BufferJSON and useMultiFileAuthState).
 */
function makeChecks(lib) {
  const { native, v6, v7 } = lib
  const lines = [
    ['v6', v6],
    ['v7', v7],
  ]
  const revivers = {
    v6: v6.BufferJSON.reviver,
    v7: v7.BufferJSON.reviver,
    // Our default flavor: v7's rules first, then v6's where they apply and do not throw.
    any(key, value) {
      const r7 = v7.BufferJSON.reviver.call(this, key, value)
      if (r7 !== value) return r7
      try {
        return v6.BufferJSON.reviver.call(this, key, value)
      } catch {
        return value
      }
    },
  }
  const flavorArg = { v6: 'v6', v7: 'v7', any: undefined }

  const oracleEncode = (replacer, value) => {
    const s = JSON.stringify(value, replacer)
    return s === undefined ? undefined : Buffer.from(s)
  }

  /** Writer: encodeAuthValue(value) === Buffer.from(JSON.stringify(value, BufferJSON.replacer)) of each line. */
  function checkEncode(spec) {
    let bytes
    const ours = outcome(() => (bytes = native.encodeAuthValue(build(spec))), bytesDescription)
    for (const [name, line] of lines) {
      const theirs = outcome(() => oracleEncode(line.BufferJSON.replacer, build(spec)), bytesDescription)
      same(`encodeAuthValue differs from JSON.stringify(value, ${name} BufferJSON.replacer)`, ours, theirs)
    }
    return bytes
  }

  /** Reader: decodeAuthValue(input, flavor) === JSON.parse(text, reviver) for v6, v7 and 'any'. */
  function checkDecodeInput(input) {
    const text = typeof input === 'string' ? Buffer.from(input, 'utf8').toString('utf-8') : input.toString('utf-8')
    fc.pre(!hugeLength(text))
    for (const flavor of ['v6', 'v7', 'any']) {
      const ours = outcome(() => native.decodeAuthValue(input, flavorArg[flavor]))
      const theirs = outcome(() => JSON.parse(text, revivers[flavor]))
      same(`decodeAuthValue(input, ${flavor}) differs from JSON.parse(text, reviver)`, ours, theirs)
    }
    return true
  }

  function checkDecode(c) {
    return checkDecodeInput(textInput(c))
  }

  /** Round trip: what we write, read back by us and by each line. */
  function checkRoundTrip(spec) {
    const encoded = checkEncode(spec)
    if (!Buffer.isBuffer(encoded)) return true
    return checkDecodeInput(encoded)
  }

  /**
   * Files: the same `keys.set` batches through our useMultiFileAuthState and
   * each line's, on two fresh folders: same file names, same bytes; then every
   * implementation reads every folder and all answers are equal.
   */
  async function checkFiles(c, tmpRoot) {
    const fs = require('node:fs')
    const path = require('node:path')
    // Values Baileys cannot serialize make its set reject after writing the
    // other keys, and ours reject without writing anything (intentional):
    // such values become null (a delete) here.
    const storable = (spec) => {
      const r = outcome(() => {
        const v = build(spec)
        return !v || JSON.stringify(v, v7.BufferJSON.replacer) !== undefined
      })
      return r[0] === 'ok' && r[1] === 'true' ? spec : ['null']
    }
    // Two ids whose names differ only in lone surrogates share one file
    // (Node writes them as U+FFFD) but not one Baileys lock (keyed by the JS
    // string): Baileys races with itself there, so such a second id is left out.
    const sameFile = (b) => {
      const seen = new Map()
      return b.filter(([t, id]) => {
        const name = `${t}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')
        const onDisk = Buffer.from(name).toString()
        if (seen.has(onDisk) && seen.get(onDisk) !== name) return false
        seen.set(onDisk, name)
        return true
      })
    }
    // Two names that differ only by case are one file where the file system
    // folds case (macOS, Windows by default), in Baileys' helper too, named
    // as whichever wrote it first: there an id whose name only differs by case
    // from an earlier one's is left out (never on Linux).
    const folds = require('./platform.js').caseInsensitiveFs()
    const firstSpelling = new Map()
    const caseDistinct = (b) =>
      b.filter(([t, id]) => {
        if (!folds) return true
        const onDisk = Buffer.from(`${t}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-')).toString()
        const k = onDisk.toLowerCase()
        if (firstSpelling.has(k) && firstSpelling.get(k) !== onDisk) return false
        firstSpelling.set(k, onDisk)
        return true
      })
    const batches = c.batches.map((b) => caseDistinct(sameFile(b)).map(([t, id, spec, where]) => [t, id, storable(spec), where]))
    const idsByType = new Map()
    for (const b of batches) for (const [t, id] of b) idsByType.set(t, [...new Set([...(idsByType.get(t) || []), id])])
    for (const ids of idsByType.values()) ids.push('missing-id')

    for (const [name, line] of lines) {
      const oursDir = fs.mkdtempSync(path.join(tmpRoot, `ours-${name}-`))
      const theirsDir = fs.mkdtempSync(path.join(tmpRoot, `baileys-${name}-`))
      // The same small creds.json in both folders: opening reads it instead
      // of making fresh credentials (key generation would dominate the run).
      for (const dir of [oursDir, theirsDir]) fs.writeFileSync(path.join(dir, 'creds.json'), '{"registrationId":1,"k":{"type":"Buffer","data":"AQID"}}')
      try {
        const ours = await native.useMultiFileAuthState(oursDir, { lock: false, flavor: name })
        const theirs = await line.useMultiFileAuthState(theirsDir)
        for (const batch of batches) {
          const o = await outcomeAsync(() => ours.state.keys.set(buildSetData(batch, build)), () => 'done')
          const t = await outcomeAsync(() => theirs.state.keys.set(buildSetData(batch, build)), () => 'done')
          same(`keys.set outcome differs (${name})`, o, t)
        }
        const listing = (dir) =>
          fs
            .readdirSync(dir)
            .sort()
            .map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('hex')])
        same(`files written differ (${name})`, listing(oursDir), listing(theirsDir))

        // Every implementation reads every folder.
        const readers = {
          ours: (dir) => native.useMultiFileAuthState(dir, { lock: false, flavor: name }),
          theirs: (dir) => line.useMultiFileAuthState(dir),
        }
        const answers = []
        for (const [who, open] of Object.entries(readers)) {
          for (const [whose, dir] of [
            ['ours', oursDir],
            ['theirs', theirsDir],
          ]) {
            const s = await open(dir)
            const got = {}
            for (const [t, ids] of idsByType) {
              // Key order follows I/O completion: compare as sets.
              const r = await s.state.keys.get(
                t,
                ids.filter((id) => id !== '__proto__'),
              )
              got[t] = Object.keys(r)
                .sort()
                .map((id) => `${JSON.stringify(id)}: ${dump(r[id])}`)
              // Baileys' `data[id] = value` makes an id `__proto__` set the
              // result's prototype, which changes what later ids do (an index
              // id is dropped when the prototype is a Buffer): so it depends
              // on I/O completion order, and it is read on its own.
              if (ids.includes('__proto__')) {
                const one = await s.state.keys.get(t, ['__proto__'])
                const proto = Object.getPrototypeOf(one)
                const standard = proto !== null && Object.getPrototypeOf(proto) === null && proto.constructor && proto.constructor.name === 'Object'
                got[t].push(`__proto__ id: own keys ${JSON.stringify(Object.keys(one))}, prototype ${standard ? 'Object.prototype' : dump(proto)}`)
              }
            }
            answers.push([`${who} reading ${whose} folder`, got])
          }
        }
        for (const [label, got] of answers.slice(1)) same(`keys.get differs (${name}): ${label} vs ${answers[0][0]}`, got, answers[0][1])
      } finally {
        fs.rmSync(oursDir, { recursive: true, force: true })
        fs.rmSync(theirsDir, { recursive: true, force: true })
      }
    }
    return true
  }

  return { checkEncode, checkDecode, checkDecodeInput, checkRoundTrip, checkFiles }
}

/**
 * Intentional departure: an object with a numeric `length` of 64 MiB or more
 * that v6's reviver would hand to Buffer.from (Node allocates it, we throw a
 * TypeError). Only mutated or rare random texts reach it; they are skipped.
 */
function hugeLength(text) {
  // A quick way out for most texts; `length` may also be spelled with escapes (`"len\u0067th"`).
  if (!/length|\\u/.test(text)) return false
  let v
  try {
    v = JSON.parse(text)
  } catch {
    return false
  }
  let found = false
  // From 64 MiB on it is the departure; from 1 MiB on it is merely slow
  // (Buffer.from reads every index of the object), so those are skipped too.
  const huge = (o) => o !== null && typeof o === 'object' && !Array.isArray(o) && typeof o.length === 'number' && !(o.length < 1024 * 1024)
  const walk = (x) => {
    if (found || x === null || typeof x !== 'object') return
    // What v6's reviver hands to Buffer.from: `data || value` of a marked object.
    if (!Array.isArray(x) && (x.buffer === true || x.type === 'Buffer') && huge(x.data || x.value)) found = true
    for (const k of Object.keys(x)) walk(x[k])
  }
  walk(v)
  return found
}

/** Runs per property: DIFF_RUNS (default 2,500 each for the four codec properties = 10,000 cases, plus 1/50 of that through files). */
function runsFromEnv(defaultRuns = 2500) {
  const n = Number(process.env.DIFF_RUNS)
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : defaultRuns
}

module.exports = {
  fc,
  mainGlobal,
  DiffProbeError,
  DifferenceError,
  // arbitraries
  jsStringArb,
  numberArb,
  keyArb,
  jsValueSpec,
  jsonTree: jsonTree.node,
  jsonTextCase,
  b64StringArb,
  fileCase,
  // the pieces of fileCase, for stores that build their own batches (sqlite-differential.test.js)
  KEY_TYPES,
  idArb,
  storeValueArb,
  codeUnitArb,
  astralArb,
  // recipes → values / inputs
  build,
  writeJson,
  writeString,
  textInput,
  mutate,
  buildSetData,
  // comparison and checks
  dump,
  outcome,
  hugeLength,
  makeChecks,
  runsFromEnv,
}
