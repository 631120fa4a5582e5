// Types of baileys-auth-native.
//
// Written to be assignable to the `AuthenticationState` of Baileys v6
// (`@whiskeysockets/baileys`) and v7 (`baileys`) under `tsc --strict`, without
// importing Baileys: Baileys is not a dependency of this package, bring your
// own. `__test__/types.test.js` compiles programs against both lines' types.

/// <reference types="node" />

// ------------------------------------------------------------------ values

/** An X25519 key pair: 32-byte private key, 32-byte public key (no 0x05 prefix). */
export interface KeyPair {
  public: Uint8Array
  private: Uint8Array
}

/** A signed pre-key, as in `creds.signedPreKey`. */
export interface SignedKeyPair {
  keyPair: KeyPair
  /** XEdDSA signature by the identity key over `0x05 || keyPair.public`. */
  signature: Uint8Array
  keyId: number
  timestampS?: number
}

/** Who this device is, once paired (`creds.me`; Baileys' `Contact`). */
export interface Contact {
  /** The device's JID, e.g. `1234567890:3@s.whatsapp.net`. */
  id: string
  /** v7: the device's LID, e.g. `111122223333444:3@lid`. */
  lid?: string
  name?: string
  notify?: string
  verifiedName?: string
}

/** A Signal identity Baileys keeps in `creds.signalIdentities`. */
export interface SignalIdentity {
  identifier: { name: string; deviceId: number }
  identifierKey: Uint8Array
}

/** A 64-bit integer as protobuf.js' `Long` carries it. */
export interface LongLike {
  low: number
  high: number
  unsigned: boolean
}

/**
 * An `app-state-sync-key` value. With the `proto` option it is a true
 * `proto.Message.AppStateSyncKeyData` (its `timestamp` a `Long`); without,
 * an equal plain object. `keyData` is bytes either way.
 */
export interface AppStateSyncKeyData {
  keyData?: Uint8Array | null
  fingerprint?: {
    rawId?: number | null
    currentIndex?: number | null
    deviceIndexes?: number[] | null
  } | null
  timestamp?: number | LongLike | null
}

/** An `app-state-sync-version` value (Baileys' `LTHashState`). */
export interface LTHashState {
  version: number
  hash: Buffer
  indexValueMap: { [indexMacBase64: string]: { valueMac: Uint8Array | Buffer } }
}

/**
 * The credentials in `creds.json`, as `initAuthCreds()` makes them and Baileys
 * fills them in. Baileys mutates this very object (`Object.assign`) and then
 * calls `saveCreds()`.
 */
export interface AuthenticationCreds {
  noiseKey: KeyPair
  pairingEphemeralKeyPair: KeyPair
  signedIdentityKey: KeyPair
  signedPreKey: SignedKeyPair
  /** 0..16383 (in practice 0..255, as Baileys draws it). */
  registrationId: number
  /** 32 random bytes, standard base64. */
  advSecretKey: string
  processedHistoryMessages: Array<{ key: { remoteJid?: string | null; fromMe?: boolean | null; id?: string | null; participant?: string | null }; messageTimestamp?: any }>
  nextPreKeyId: number
  firstUnuploadedPreKeyId: number
  accountSyncCounter: number
  accountSettings: {
    unarchiveChats: boolean
    defaultDisappearingMode?: any
  }
  registered: boolean
  pairingCode: string | undefined
  lastPropHash: string | undefined
  routingInfo: Buffer | undefined
  /** v7 only (present, `undefined`, in fresh v7 credentials). */
  additionalData?: any
  me?: Contact
  /** Baileys' `proto.IADVSignedDeviceIdentity`. */
  account?: any
  signalIdentities?: SignalIdentity[]
  myAppStateKeyId?: string
  lastAccountSyncTimestamp?: number
  platform?: string
}

// ------------------------------------------------------------------ key store

/**
 * What each key type holds, as Baileys v6 and v7 use them. `session` and
 * `sender-key` are whatever libsignal's `serialize()` gave when Baileys stored
 * them (Baileys' own types call them `Uint8Array`), hence `any`.
 */
export interface SignalDataTypeMap {
  'pre-key': KeyPair
  session: any
  'sender-key': any
  'sender-key-memory': { [jid: string]: boolean }
  'app-state-sync-key': AppStateSyncKeyData
  'app-state-sync-version': LTHashState
  /** v7: PN user → LID user, and `<lid>_reverse` → PN user. */
  'lid-mapping': string
  /** v7 */
  'device-list': string[]
  /** v7 */
  tctoken: { token: Buffer; timestamp?: string; senderTimestamp?: number }
  /** v7 */
  'identity-key': Uint8Array
}

/** The key types Baileys uses. Any other string works too (`<type>-<id>.json`). */
export type SignalDataType = keyof SignalDataTypeMap

/**
 * The argument of `keys.set`: `{ [type]: { [id]: value } }`. A truthy value is
 * written, a falsy one (`null`, `undefined`, `0`, `''`, `false`, `NaN`)
 * deletes the key.
 */
export type SignalDataSet = {
  [T in SignalDataType]?: { [id: string]: SignalDataTypeMap[T] | null | undefined }
} & {
  [type: string]: { [id: string]: unknown } | undefined
}

/**
 * The key store of the returned `state.keys`: Baileys' `SignalKeyStore`
 * (`get`, `set`, `clear`) plus `listIds` and `list`.
 */
export interface SignalKeyStore {
  /**
   * Reads keys: one entry per requested id, `null` for a missing one (a key
   * file that cannot be read is answered as missing and moved aside as
   * `<name>.corrupt-<unix-ms>`). `app-state-sync-key` values are revived
   * (bytes for `keyData`). Ids are turned into text as a template literal
   * does, so `get('pre-key', [7])` reads `pre-key-7.json`.
   * Rejects with the errno in `code` for other I/O errors.
   */
  get<T extends SignalDataType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] | null }>
  get(type: string, ids: Array<string | number>): Promise<{ [id: string]: any }>
  /**
   * Writes every truthy value and deletes every falsy one, all of one call
   * concurrently, each file atomically (temporary file + rename, mode 0600).
   * Values are converted when `set` is called; a value that cannot be
   * serialized (a BigInt, a cycle) rejects the whole call with a `TypeError`
   * before anything is written.
   */
  set(data: SignalDataSet): Promise<void>
  /** Deletes every key file of the folder; `creds.json` stays. */
  clear(): Promise<void>
  /** The ids of the keys of one type now in the folder, sorted by file name. */
  listIds(type: string): AsyncIterable<string>
  /**
   * `[id, value]` for every key of one type now in the folder, read a page at
   * a time (memory stays bounded); a key deleted meanwhile is skipped.
   */
  list<T extends SignalDataType>(type: T): AsyncIterable<[string, SignalDataTypeMap[T]]>
  list(type: string): AsyncIterable<[string, any]>
}

/** `state`: pass it as `makeWASocket({ auth: state })`. */
export interface AuthenticationState {
  creds: AuthenticationCreds
  keys: SignalKeyStore
}

// ------------------------------------------------------------------ options

/** A pino-compatible logger; only `warn` is used. */
export interface Logger {
  warn(obj: unknown, msg?: string, ...args: unknown[]): void
}

/** Which Baileys line to read exactly like. */
export type Flavor = 'v6' | 'v7' | 'any'

export interface AuthStateOptions {
  /**
   * Which Baileys line to read exactly like: `'v6'` or `'v7'` (their Buffer
   * revivers differ). The default, `'any'`, reads every form either line
   * reads. The writer is the same for both. Fresh credentials follow v6's key
   * set with `'v6'`, v7's otherwise.
   */
  flavor?: Flavor
  /**
   * Baileys' `proto` (from the Baileys line you use). When given,
   * `app-state-sync-key` values come back as true
   * `proto.Message.AppStateSyncKeyData` instances; without it, as an equal
   * plain object whose `keyData` is a Buffer and whose `timestamp` is a
   * Long-shaped `{ low, high, unsigned }`.
   */
  proto?: any
  /**
   * fsync each file before its rename, and the folder once per batch
   * (default `false`, like Baileys' speed; the rename still guarantees
   * old-or-new, never torn).
   */
  fsync?: boolean
  /**
   * Take the folder's owner lock, `.baileys-auth.lock` (default `true`):
   * another process opening the folder gets `AuthFolderLockedError`. The same
   * process may open it again. `false` neither takes nor checks it.
   */
  lock?: boolean
  /** Receives a `warn` when a key file cannot be read (it is then answered as missing and moved aside). */
  logger?: Logger
}

/** What `useMultiFileAuthState` resolves to. */
export interface MultiFileAuthState {
  /** Pass as `makeWASocket({ auth: state })`. */
  state: AuthenticationState
  /**
   * Writes the current contents of the very `state.creds` object to
   * `creds.json`, atomically. Use as the `creds.update` listener:
   * `sock.ev.on('creds.update', saveCreds)`.
   */
  saveCreds: () => Promise<void>
}

/** Options of `useSqliteAuthState`: those of the folder store, durable by default. */
export interface SqliteAuthStateOptions extends AuthStateOptions, EncryptionOptions {
  /**
   * `true` (the default): `synchronous = FULL`, every acknowledged call
   * survives a power loss. `false`: `NORMAL`, it survives a crash of the process.
   */
  fsync?: boolean
  /** Take the file's owner lock, `<dbPath>.lock` (default `true`). */
  lock?: boolean
}

/**
 * Encryption at rest, for the SQLite and PostgreSQL stores: every value and
 * the credentials sealed with XChaCha20-Poly1305, bound to their (account,
 * type, id). A sealed SQLite file no longer opens in Baileys' own store.
 */
export interface EncryptionOptions {
  /** 32 bytes (a Buffer or Uint8Array), or 64 hex digits. */
  encryptionKey?: Uint8Array | string
  /** Older keys that still open values (during a rotation). */
  previousEncryptionKeys?: Array<Uint8Array | string>
}

/** What `useSqliteAuthState` resolves to. */
export interface SqliteAuthState extends MultiFileAuthState {
  /** Waits for pending writes, then releases the file; later calls reject. */
  close: () => Promise<void>
  /** Counters of the file's writer, for tests and benchmarks: write groups, transactions and commits, committed calls. */
  counters: () => { groups: number; largestGroup: number; transactions: number; commits: number; committedCalls: number; [name: string]: number }
}

// ------------------------------------------------------------------ functions

/**
 * Drop-in replacement for Baileys' `useMultiFileAuthState(folder)`: same call,
 * same returned object, same files byte for byte, so Baileys' own helper can
 * open the folder at any time. Files are written atomically with private
 * modes (folder 0700, files 0600), one owner process per folder, and a
 * `creds.json` that cannot be read rejects with `AuthFileCorruptError`
 * instead of being silently replaced by fresh credentials.
 *
 * The folder is created (with missing parents) when missing; a path that is
 * not a directory rejects with Baileys' own message. Credentials are read
 * from `creds.json`, or fresh ones are made (not written until `saveCreds`).
 *
 * @example
 * const { state, saveCreds } = await useMultiFileAuthState('auth_info_baileys')
 * const sock = makeWASocket({ auth: state })
 * sock.ev.on('creds.update', saveCreds)
 */
export declare function useMultiFileAuthState(folder: string, options?: AuthStateOptions): Promise<MultiFileAuthState>

/**
 * The same auth state in one SQLite file, in the format of Baileys' own SQLite
 * store (its next line's `useSqliteAuthState({ dbPath })`): the two open each
 * other's files. One `set` call is one transaction, all of it or none of it;
 * a file that is not a database rejects with `AuthFileCorruptError`, left as
 * it was; another process holding the file gets `AuthFolderLockedError`.
 *
 * @example
 * const { state, saveCreds, close } = await useSqliteAuthState({ dbPath: 'auth.db' })
 */
export declare function useSqliteAuthState(
  config: string | ({ dbPath: string } & SqliteAuthStateOptions),
  options?: SqliteAuthStateOptions,
): Promise<SqliteAuthState>

/** node-postgres' connection object; what is left out comes from the `PG*` variables. */
export interface PostgresConnectionFields {
  host?: string
  port?: number
  user?: string
  password?: string
  database?: string
  /** `true`: TLS, certificate and host checked; `{ rejectUnauthorized: false }`: TLS unchecked; `{ ca }`: trust this CA. */
  ssl?: boolean | { rejectUnauthorized?: boolean; ca?: string | Uint8Array }
  /** A libpq string instead of the fields. */
  connectionString?: string
}

/** Options of `usePostgresAuthState`. */
export interface PostgresAuthStateOptions extends EncryptionOptions {
  flavor?: Flavor
  proto?: AuthStateOptions['proto']
  logger?: Logger
  /** How long the lease lasts without renewal (default 15000): the longest a takeover waits after the owner died. */
  leaseTtlMs?: number
  /** Connections of the server's pool, shared by every account of the process on that server (default 16; the first open sets it). */
  poolSize?: number
  /** The tables' schema (default: the connection's `search_path`). */
  schema?: string
  /** The tables' name prefix (default `'baileys_'`). */
  tablePrefix?: string
  /** Longest wait for a connection or an answer, in ms (default 10000). */
  timeoutMs?: number
  /** `false`: open without the lease, read-only, beside the account's owner. */
  lock?: boolean
}

/** What `usePostgresAuthState` resolves to. */
export interface PostgresAuthState extends Omit<SqliteAuthState, 'counters'> {
  /** Counters of the account: server round trips, write groups, committed calls, lease renewals, the fencing token. */
  counters: () => { roundTrips: number; groups: number; largestGroup: number; committedCalls: number; renewals: number; token: number }
}

/**
 * An account in a shared PostgreSQL database, for fleets on several hosts.
 * One owner at a time: another process opening a held account is refused
 * with `AuthFolderLockedError` (its `host`, `pid`, `until`); once the owner
 * closed it, or its lease ran out (by the server's clock), another can take
 * it over, and every later write of the old owner is refused in its own
 * transaction (`AuthLeaseLostError`, code `EBAILEYSFENCED`).
 *
 * @example
 * const { state, saveCreds, close } = await usePostgresAuthState(process.env.DATABASE_URL, 'shop-bot-1')
 */
export declare function usePostgresAuthState(
  connection: string | PostgresConnectionFields | undefined,
  account: string,
  options?: PostgresAuthStateOptions,
): Promise<PostgresAuthState>

/** A store named for `migrateAuthStores`: a folder or SQLite path, or an object. */
export type StoreSpec =
  | string
  | ({ kind: 'folder' | 'sqlite'; path: string } & EncryptionOptions)
  | ({ kind: 'postgres'; connection?: string | PostgresConnectionFields; account: string; schema?: string; tablePrefix?: string } & EncryptionOptions)

/** Seals every value of a store again under `encryptionKey` (key rotation). */
export declare function reencryptAuthStore(
  store: StoreSpec,
  keys: { encryptionKey: Uint8Array | string; previousEncryptionKeys?: Array<Uint8Array | string>; batchSize?: number },
): Promise<{ store: string; total: number }>

/** What `inspectPostgres` reports of one account, or of every account (`account` null). */
export interface PostgresLease {
  token: number
  host: string | null
  pid: number | null
  /** When the lease ends (ms since the epoch); null once released. */
  until: number | null
  held: boolean
}
export declare function inspectPostgres(
  connection: string | PostgresConnectionFields | undefined,
  account: string | null,
  options?: { verify?: boolean; flavor?: Flavor; schema?: string; tablePrefix?: string; timeoutMs?: number },
): Promise<
  | { accounts: Array<{ account: string; keys: number; hasCreds: boolean; lease: PostgresLease | null }> }
  | {
      account: string
      hasCreds: boolean
      registered: boolean | null
      accountId: string | null
      byType: Record<string, { keys: number; bytes: number }>
      lease: PostgresLease | null
      quarantined: number
      verified: number
      findings: Array<{ type: string | null; id: string | null; problem: string; detail: string }>
    }
>

/**
 * Fresh credentials, as Baileys' `initAuthCreds()`: X25519 key pairs, a
 * signed pre-key with an XEdDSA signature libsignal accepts, a random
 * `registrationId`. v7's key set (with `additionalData`), or v6's with `'v6'`.
 */
export declare function initAuthCreds(flavor?: Flavor): AuthenticationCreds

/**
 * The bytes Baileys' helper writes for a value:
 * `Buffer.from(JSON.stringify(value, BufferJSON.replacer))`, or `undefined`
 * where `JSON.stringify` gives `undefined`. Throws where that throws (a
 * `TypeError` for a BigInt or a cycle).
 */
export declare function encodeAuthValue(value: unknown): Buffer | undefined

/**
 * The value Baileys' helper reads from file bytes:
 * `JSON.parse(text, BufferJSON.reviver)` of the given line (by default, every
 * form either line reads). Throws a `SyntaxError` for text that is not JSON.
 */
export declare function decodeAuthValue(bytes: Uint8Array | string, flavor?: Flavor): any

// ------------------------------------------------------------------ folder tools

/** Options of the plain functions (`loadKeys(folder, type, id, options)` and friends). */
export interface PlainOptions {
  flavor?: Flavor
  /** Baileys' `proto`, for `app-state-sync-key` values (see `AuthStateOptions.proto`). */
  proto?: any
  fsync?: boolean
  logger?: Logger
}

/** The folder used when none is given: `$BAILEYS_AUTH_DIR`, else `./auth_info_baileys` (read at each call). */
export declare function defaultAuthFolder(): string

/**
 * `creds.json` of a folder (the default folder without one), or fresh
 * credentials when there is none (nothing is written). No lock. Rejects with
 * `AuthFileCorruptError` for a file that is not credentials.
 */
export declare function loadCredentials(folder?: string | null, options?: PlainOptions): Promise<AuthenticationCreds>
/** Writes `creds.json` atomically, under the folder's owner lock. */
export declare function saveCredentials(creds: AuthenticationCreds): Promise<void>
export declare function saveCredentials(folder: string | null | undefined, creds: AuthenticationCreds, options?: PlainOptions): Promise<void>
/** One key, read as `keys.get(type, [id])` reads it: the value, or `null`. No lock. */
export declare function loadKeys<T extends SignalDataType>(type: T, id: string): Promise<SignalDataTypeMap[T] | null>
export declare function loadKeys(type: string, id: string): Promise<any>
export declare function loadKeys<T extends SignalDataType>(folder: string | null | undefined, type: T, id: string, options?: PlainOptions): Promise<SignalDataTypeMap[T] | null>
export declare function loadKeys(folder: string | null | undefined, type: string, id: string, options?: PlainOptions): Promise<any>
/** One key, as `keys.set({ [type]: { [id]: value } })`: a falsy value deletes it. Under the owner lock. */
export declare function saveKeys(type: string, id: string, value: unknown): Promise<void>
export declare function saveKeys(folder: string | null | undefined, type: string, id: string, value: unknown, options?: PlainOptions): Promise<void>
/** Deletes one key (a missing one is not an error). Under the owner lock. */
export declare function deleteKeys(type: string, id: string): Promise<void>
export declare function deleteKeys(folder: string | null | undefined, type: string, id: string, options?: PlainOptions): Promise<void>

/** A problem `inspectFolder` found with one file. */
export interface FolderFinding {
  name: string
  problem: 'torn' | 'corrupt' | 'unknown' | 'misnamed' | 'too-large' | 'unreadable'
  detail: string
  /** Where `fix` moved the file, or `null`. */
  movedTo: string | null
}

/** What `inspectFolder` reports (the CLI's `stats` and `verify`). */
export interface FolderReport {
  /** The folder (canonical path). */
  folder: string
  hasCreds: boolean
  /** `null` without readable credentials. */
  registered: boolean | null
  accountId: string | null
  byType: { [type: string]: { files: number; bytes: number } }
  totalFiles: number
  totalBytes: number
  oldest: { name: string; mtimeMs: number } | null
  newest: { name: string; mtimeMs: number } | null
  /** Temporary files left by an interrupted write. */
  staleTemps: string[]
  movedAside: string[]
  /** Files read back (with `verify` or `fix`). */
  verified: number
  findings: FolderFinding[]
}

/**
 * Statistics on an auth folder and, with `verify`, every file read back.
 * Read-only (works beside a running bot) unless `fix`, which moves
 * unreadable files aside (never deletes) and needs the folder's lock.
 */
export declare function inspectFolder(folder: string, options?: { verify?: boolean; fix?: boolean; flavor?: Flavor }): Promise<FolderReport>

/** Every key type Baileys v6 and v7 store. */
export declare const KEY_TYPES: readonly SignalDataType[]

/** A key store that can list its keys (ours; Baileys' helper wrapped by `withListing`). */
export interface ListableKeyStore {
  get(type: string, ids: string[]): any
  set(data: any): any
  list(type: string): AsyncIterable<[string, any]>
  listIds?(type: string): AsyncIterable<string>
}

/** What the migration functions accept: `{ state, saveCreds }` or a bare `{ creds, keys }`. */
export type AuthEndpoint<K = { get(type: string, ids: string[]): any; set(data: any): any }> =
  | { state: { creds: any; keys: K }; saveCreds?: (...args: any[]) => any }
  | { creds: any; keys: K; saveCreds?: (...args: any[]) => any }

/**
 * Adds `list(type)` and `listIds(type)` to an auth state that has only `get`
 * and `set`, such as the one Baileys' own `useMultiFileAuthState(folder)`
 * returns (ids listed from `folder`, values read through the state's own
 * `get`). Returns an object of the same shape, leaving `auth` unchanged.
 */
export declare function withListing<A extends AuthEndpoint>(folder: string, auth: A): A

/** One difference found by a verifying migration. */
export interface MigrationDifference {
  type: string
  id: string | null
  problem: 'missing' | 'value' | 'extra'
  /** Where the values first differ, for `'value'`. */
  path?: string
}

/** A migration's progress event. */
export interface MigrationProgress {
  phase: 'copy' | 'creds' | 'verify'
  type?: string
  count?: number
  checked?: number
  total: number
  /** `migrateAuthStores` / `migrateAuthFolders` only: keys of the known types in the source. */
  expected?: number
}

export interface MigrationSummary {
  creds: true
  /** Keys copied, by type. */
  keys: { [type: string]: number }
  total: number
  verified: boolean
  /** The first differences found (at most 1000); `differenceCount` counts them all. */
  differences: MigrationDifference[]
  differenceCount: number
}

/**
 * Copies credentials and every key of every type from one auth state to
 * another, keys first and credentials last; with `verify`, reads everything
 * back and lists the differences.
 */
export declare function migrateAuthState(options: {
  from: AuthEndpoint<ListableKeyStore>
  to: AuthEndpoint
  verify?: boolean
  batchSize?: number
  types?: Iterable<string>
  onProgress?: (progress: MigrationProgress) => void
}): Promise<MigrationSummary>

/**
 * `migrateAuthState` between two folders: the source read without the lock
 * (a snapshot if it is in use), the destination written under it, files byte
 * for byte. Verifies by default. Rejects (`code: 'ENOCREDS'`) for a source
 * without `creds.json`.
 */
export declare function migrateAuthFolders(
  from: string,
  to: string,
  options?: {
    flavor?: Flavor
    fsync?: boolean
    verify?: boolean
    clear?: boolean
    batchSize?: number
    onProgress?: (progress: MigrationProgress) => void
  },
): Promise<MigrationSummary & { from: string; to: string }>

/** Options of `migrateAuthStores` and `migrateAuthFolders`. */
export interface StoreMigrationOptions {
  flavor?: Flavor
  /** Left out: each store's default (a folder: off; a SQLite file: on). */
  fsync?: boolean
  /** Read every key and the credentials back and compare them as bytes (default `true`). */
  verify?: boolean
  /** Delete the destination's keys first. */
  clear?: boolean
  /** Keys per destination write (one transaction in a SQLite file); default 256. */
  batchSize?: number
  onProgress?: (progress: MigrationProgress) => void
}

/**
 * Copies credentials and every key between two of this package's stores, in
 * any direction: a folder, or a SQLite file (a path ending in `.db`,
 * `.sqlite` or `.sqlite3`, or `sqlite:PATH`). Values go across as bytes, so
 * what the destination stores is byte for byte what the source held. The
 * source is read without its lock (a snapshot if it is in use), the
 * destination written under it. Verifies by default. Rejects (`code:
 * 'ENOCREDS'`) for a source without credentials.
 */
export declare function migrateAuthStores(from: StoreSpec, to: StoreSpec, options?: StoreMigrationOptions): Promise<MigrationSummary & { from: string; to: string }>

/** What `inspectSqlite` reports (the CLI's `stats` and `verify` of a SQLite file). */
export interface SqliteReport {
  file: string
  hasCreds: boolean
  /** `null` when the credentials cannot be read. */
  registered: boolean | null
  accountId: string | null
  byType: { [type: string]: { keys: number; bytes: number } }
  /** The database, its WAL and shared-memory file. */
  fileBytes: number
  /** Values kept aside because they could not be decoded. */
  quarantined: number
  /** Values decoded (with `verify`). */
  verified: number
  /** With `verify`: SQLite's `integrity_check` lines other than `ok`, and every value that does not decode. */
  findings: Array<{ type: string | null; id: string | null; problem: 'integrity' | 'corrupt' | 'revive' | 'creds'; detail: string }>
}

/** Read-only: works beside a running bot and never writes. */
export declare function inspectSqlite(dbPath: string, options?: { verify?: boolean; flavor?: Flavor }): Promise<SqliteReport>

// ------------------------------------------------------------------ errors

/**
 * `creds.json` exists but cannot be read as credentials (torn, not JSON, or
 * JSON that is not an object), or is missing next to a `creds.json.bak` of
 * Baileys' hardened helper (the message says how to restore it); or a SQLite
 * file is not an auth database; it was left exactly as it was. Baileys' own
 * helper would have started over with fresh credentials, logging the device
 * out.
 */
export declare class AuthFileCorruptError extends Error {
  constructor(message?: string)
  name: 'AuthFileCorruptError'
  /** The file. */
  path: string
  /** Why it could not be read (a `SyntaxError`). */
  cause: Error
  code: 'EBAILEYSCORRUPT'
}

/** Another process owns the auth folder (its `.baileys-auth.lock`). */
export declare class AuthFolderLockedError extends Error {
  constructor(message?: string)
  name: 'AuthFolderLockedError'
  /** The folder (canonical path). */
  folder: string
  /** The owner's pid, where known. */
  pid: number | null
  code: 'EBAILEYSLOCKED'
}
