// Types of baileys-auth-native. They are written to be assignable to the
// `AuthenticationState` of Baileys v6 and v7 without importing Baileys.

/// <reference types="node" />

/** An X25519 key pair: 32-byte private key, 32-byte public key (no 0x05 prefix). */
export interface KeyPair {
  public: Uint8Array
  private: Uint8Array
}

export interface SignedKeyPair {
  keyPair: KeyPair
  /** XEdDSA signature by the identity key over `0x05 || keyPair.public`. */
  signature: Uint8Array
  keyId: number
  timestampS?: number
}

/**
 * The credentials in `creds.json`, as `initAuthCreds()` makes them and Baileys
 * fills them in. Fields Baileys adds later are typed loosely here (`any`):
 * their exact types are Baileys' own and we do not import them.
 */
export interface AuthenticationCreds {
  noiseKey: KeyPair
  pairingEphemeralKeyPair: KeyPair
  signedIdentityKey: KeyPair
  signedPreKey: SignedKeyPair
  registrationId: number
  advSecretKey: string
  processedHistoryMessages: any[]
  nextPreKeyId: number
  firstUnuploadedPreKeyId: number
  accountSyncCounter: number
  accountSettings: any
  registered: boolean
  pairingCode: string | undefined
  lastPropHash: string | undefined
  routingInfo: Buffer | undefined
  additionalData?: any
  me?: any
  account?: any
  signalIdentities?: any[]
  myAppStateKeyId?: string
  lastAccountSyncTimestamp?: number
  platform?: string
  [key: string]: any
}

/** Baileys' signal key store: `get` answers `null` for a missing id (in the map, as Baileys does). */
export interface SignalKeyStore {
  get(type: string, ids: string[]): Promise<{ [id: string]: any }>
  /** Truthy values are written, falsy ones (`null`, `undefined`, `0`, `''`, `false`) deleted. */
  set(data: { [type: string]: { [id: string]: any } }): Promise<void>
}

export interface AuthenticationState {
  creds: AuthenticationCreds
  keys: SignalKeyStore
}

/** A pino-compatible logger; only `warn` is used. */
export interface Logger {
  warn(obj: unknown, msg?: string, ...args: unknown[]): void
}

export interface AuthStateOptions {
  /**
   * Which Baileys line to read exactly like: `'v6'` or `'v7'` (their Buffer
   * revivers differ). By default every form either line reads is read.
   * `initAuthCreds` follows v6's key set with `'v6'`, v7's otherwise.
   */
  flavor?: 'v6' | 'v7' | 'any'
  /**
   * Baileys' `proto` (from the Baileys line you use). When given,
   * `app-state-sync-key` values come back as true
   * `proto.Message.AppStateSyncKeyData` instances; without it, as an equal
   * plain object whose `keyData` is a Buffer.
   */
  proto?: any
  /** fsync each file before its rename and the folder after each batch (default `false`, like Baileys). */
  fsync?: boolean
  /**
   * Take the folder's owner lock (default `true`): another process opening
   * the folder gets `AuthFolderLockedError`. The same process may open it again.
   */
  lock?: boolean
  /** Receives a warning when a key file cannot be read (it is then answered as missing). */
  logger?: Logger
}

/**
 * Drop-in replacement for Baileys' `useMultiFileAuthState(folder)`: same call,
 * same returned object, same files byte for byte — written atomically, with
 * private modes, one owner process per folder, and corrupt credentials
 * reported instead of silently replaced.
 */
export declare function useMultiFileAuthState(
  folder: string,
  options?: AuthStateOptions,
): Promise<{ state: AuthenticationState; saveCreds: () => Promise<void> }>

/** Fresh credentials, as Baileys' `initAuthCreds()` (v7's key set, or v6's with `'v6'`). */
export declare function initAuthCreds(flavor?: 'v6' | 'v7' | 'any'): AuthenticationCreds

/**
 * The bytes Baileys' helper writes for a value:
 * `Buffer.from(JSON.stringify(value, BufferJSON.replacer))` (or `undefined`
 * where `JSON.stringify` gives `undefined`). Throws where that throws.
 */
export declare function encodeAuthValue(value: unknown): Buffer | undefined

/**
 * The value Baileys' helper reads from file bytes:
 * `JSON.parse(text, BufferJSON.reviver)` of the given line. Throws a
 * `SyntaxError` for text that is not JSON.
 */
export declare function decodeAuthValue(bytes: Uint8Array | string, flavor?: 'v6' | 'v7' | 'any'): any

/** `creds.json` exists but cannot be read as credentials; it was left exactly as it was. */
export declare class AuthFileCorruptError extends Error {
  name: 'AuthFileCorruptError'
  /** The file. */
  path: string
  /** The parse error (a `SyntaxError`). */
  cause: Error
  code: 'EBAILEYSCORRUPT'
}

/** Another process owns the auth folder. */
export declare class AuthFolderLockedError extends Error {
  name: 'AuthFolderLockedError'
  /** The folder (canonical path). */
  folder: string
  /** The owner's pid, where known. */
  pid: number | null
  code: 'EBAILEYSLOCKED'
}
