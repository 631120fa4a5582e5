'use strict'
// Reads what a native binary was built for from its own headers, so a test
// can compare it with the `os` / `cpu` / `libc` fields of the npm package it
// is shipped in (a mislabelled binary installs fine and fails only at
// `require()` on a user's machine).
//
//   describeBinary(buffer) -> { format, os, cpu, libc, bits, interp, needed }
//
// ELF (Linux, Android): the class (32/64-bit), e_machine, the program
// interpreter (PT_INTERP, executables only), the DT_NEEDED libraries of the
// dynamic section and whether an Android ident note is present. libc is
// 'glibc' when it needs libc.so.6 or ld-linux-*, 'musl' when it needs
// libc.musl-* / ld-musl-* (or a bare libc.so without the Android note).
// Mach-O (macOS) and PE (Windows): the CPU type only.

const ELF_MACHINE = { 3: 'ia32', 40: 'arm', 62: 'x64', 183: 'arm64' }
const MACHO_CPU = { 0x01000007: 'x64', 0x0100000c: 'arm64' }
const PE_MACHINE = { 0x14c: 'ia32', 0x8664: 'x64', 0xaa64: 'arm64' }

const PT_LOAD = 1
const PT_DYNAMIC = 2
const PT_INTERP = 3
const PT_NOTE = 4
const DT_NULL = 0
const DT_NEEDED = 1
const DT_STRTAB = 5

function cString(buf, at) {
  const end = buf.indexOf(0, at)
  return buf.toString('latin1', at, end < 0 ? buf.length : end)
}

function describeElf(buf) {
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : null
  if (!bits) throw new Error(`ELF: unknown class ${buf[4]}`)
  if (buf[5] !== 1) throw new Error('ELF: only little-endian binaries are read here')
  const w = bits === 64
  const u16 = (o) => buf.readUInt16LE(o)
  const u32 = (o) => buf.readUInt32LE(o)
  const word = (o) => (w ? Number(buf.readBigUInt64LE(o)) : buf.readUInt32LE(o))
  const sword = (o) => (w ? Number(buf.readBigInt64LE(o)) : buf.readInt32LE(o))

  const machine = u16(18)
  const phoff = word(w ? 32 : 28)
  const phentsize = u16(w ? 54 : 42)
  const phnum = u16(w ? 56 : 44)
  const phdrs = []
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize
    phdrs.push(
      w
        ? { type: u32(p), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32) }
        : { type: u32(p), offset: word(p + 4), vaddr: word(p + 8), filesz: word(p + 16) },
    )
  }
  const fileOffset = (vaddr) => {
    const seg = phdrs.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
    if (!seg) throw new Error(`ELF: address 0x${vaddr.toString(16)} is in no loaded segment`)
    return vaddr - seg.vaddr + seg.offset
  }

  const interpSeg = phdrs.find((s) => s.type === PT_INTERP)
  const interp = interpSeg ? cString(buf, interpSeg.offset) : null

  const needed = []
  const dyn = phdrs.find((s) => s.type === PT_DYNAMIC)
  if (dyn) {
    const size = w ? 16 : 8
    const entries = []
    for (let o = dyn.offset; o + size <= dyn.offset + dyn.filesz; o += size) {
      const tag = sword(o)
      if (tag === DT_NULL) break
      entries.push({ tag, val: word(o + size / 2) })
    }
    const strtab = entries.find((e) => e.tag === DT_STRTAB)
    if (strtab) {
      const base = fileOffset(strtab.val)
      for (const e of entries) if (e.tag === DT_NEEDED) needed.push(cString(buf, base + e.val))
    }
  }

  let android = false
  for (const s of phdrs.filter((p) => p.type === PT_NOTE)) {
    for (let o = s.offset; o + 12 <= s.offset + s.filesz; ) {
      const namesz = u32(o)
      const descsz = u32(o + 4)
      const name = buf.toString('latin1', o + 12, o + 12 + Math.max(0, namesz - 1))
      if (name === 'Android') android = true
      o += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4
    }
  }

  const libs = [...needed, ...(interp ? [interp.split('/').pop()] : [])]
  let libc
  if (android) libc = undefined
  else if (libs.some((l) => l === 'libc.so.6' || l.startsWith('ld-linux'))) libc = 'glibc'
  else if (libs.some((l) => l.startsWith('libc.musl-') || l.startsWith('ld-musl-') || l === 'libc.so')) libc = 'musl'
  else libc = null // linked against no libc we know
  return {
    format: 'elf',
    os: android ? 'android' : 'linux',
    cpu: ELF_MACHINE[machine] || `e_machine ${machine}`,
    bits,
    libc,
    interp,
    needed,
  }
}

function describeMachO(buf) {
  const cputype = buf.readUInt32LE(4)
  return { format: 'mach-o', os: 'darwin', cpu: MACHO_CPU[cputype] || `cputype 0x${cputype.toString(16)}`, bits: 64, libc: undefined }
}

function describePe(buf) {
  const pe = buf.readUInt32LE(0x3c)
  if (buf.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('PE: no PE signature')
  const machine = buf.readUInt16LE(pe + 4)
  return { format: 'pe', os: 'win32', cpu: PE_MACHINE[machine] || `machine 0x${machine.toString(16)}`, bits: machine === 0x14c ? 32 : 64, libc: undefined }
}

function describeBinary(buf) {
  if (buf.length >= 64 && buf.readUInt32BE(0) === 0x7f454c46) return describeElf(buf)
  if (buf.length >= 32 && buf.readUInt32LE(0) === 0xfeedfacf) return describeMachO(buf)
  if (buf.length >= 0x40 && buf.toString('latin1', 0, 2) === 'MZ') return describePe(buf)
  throw new Error('not an ELF, 64-bit Mach-O or PE binary')
}

/**
 * How a binary disagrees with the npm package fields it is shipped under
 * (`os`, `cpu`, `libc` arrays, as in package.json); [] when it matches.
 */
function mismatches(binary, fields) {
  const out = []
  const one = (key, actual) => {
    const want = fields[key]
    if (want === undefined && actual === undefined) return
    if (!Array.isArray(want) || want.length !== 1 || want[0] !== actual) {
      out.push(`${key}: the package says ${JSON.stringify(want)}, the binary is ${JSON.stringify(actual)}`)
    }
  }
  one('os', binary.os)
  one('cpu', binary.cpu)
  one('libc', binary.libc)
  if (binary.bits !== 64) out.push(`the binary is ${binary.bits}-bit`)
  return out
}

module.exports = { describeBinary, mismatches }
