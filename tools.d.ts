// Types of the tools of baileys-auth-native: plain functions over an auth
// folder, migration between auth states, and folder inspection (the CLI's
// `stats` and `verify`). Re-exported by index.d.ts.

/// <reference types="node" />

import type { AuthenticationCreds, AuthStateOptions } from './index'

// ---------------------------------------------------------------- plain functions

/**
 * Options of the folder form of the plain functions: those of
 * `useMultiFileAuthState` that make sense for one call. There is no `lock`:
 * reading functions never take the folder's lock (they work beside a running
 * owner) and writing functions always do.
 */
export type PlainOptions = Pick<AuthStateOptions, 'flavor' | 'fsync' | 'proto' | 'logger'>

/**
 * The folder the plain functions use when none is given:
 * `process.env.BAILEYS_AUTH_DIR` when set (and not empty), else
 * `'./auth_info_baileys'` (relative to the working directory). Read at each call.
 */
export declare function defaultAuthFolder(): string

/**
 * The credentials in `creds.json`, or fresh ones (`initAuthCreds()`, not
 * written) when there is no such file or no folder. A `creds.json` that
 * cannot be read as credentials rejects with `AuthFileCorruptError` (the file
 * is left untouched). Never takes the lock, never creates the folder.
 */
export declare function loadCredentials(): Promise<AuthenticationCreds>
export declare function loadCredentials(folder: string | undefined, options?: PlainOptions): Promise<AuthenticationCreds>

/**
 * Writes `creds` to `creds.json` (atomically, mode 0600), as `saveCreds()`
 * does. Takes the folder's owner lock: another process owning the folder
 * makes it reject with `AuthFolderLockedError`; in this process the lock is
 * shared (with `useMultiFileAuthState` too). Creates a missing folder (0700).
 */
export declare function saveCredentials(creds: AuthenticationCreds | object): Promise<void>
export declare function saveCredentials(folder: string | undefined, creds: AuthenticationCreds | object, options?: PlainOptions): Promise<void>

/**
 * One key, as `keys.get(type, [id])` reads it: the value, or `null` when
 * missing (or unreadable: it is then moved aside and the `logger` warned).
 * `app-state-sync-key` values go through `options.proto`'s
 * `AppStateSyncKeyData.fromObject` when given. `type` and `id` are turned
 * into text as Baileys does (`String(x)`). Never takes the lock, never
 * creates the folder.
 *
 * The form is told apart by the number of arguments: `loadKeys(type, id)`
 * uses the default folder, `loadKeys(folder, type, id, options?)` the given one.
 */
export declare function loadKeys(type: string, id: string | number): Promise<any | null>
export declare function loadKeys(folder: string | undefined, type: string, id: string | number, options?: PlainOptions): Promise<any | null>

/**
 * Writes one key, as `keys.set({ [type]: { [id]: value } })`: a truthy value
 * is written (atomically), a falsy one (`null`, `undefined`, `0`, `''`,
 * `false`, `NaN`) deletes the key. Takes the folder's owner lock (see
 * `saveCredentials`). `saveKeys(type, id, value)` uses the default folder.
 */
export declare function saveKeys(type: string, id: string | number, value: unknown): Promise<void>
export declare function saveKeys(folder: string | undefined, type: string, id: string | number, value: unknown, options?: PlainOptions): Promise<void>

/**
 * Deletes one key; a missing key is not an error (a missing folder is not
 * created). Takes the folder's owner lock (see `saveCredentials`).
 * `deleteKeys(type, id)` uses the default folder.
 */
export declare function deleteKeys(type: string, id: string | number): Promise<void>
export declare function deleteKeys(folder: string | undefined, type: string, id: string | number, options?: PlainOptions): Promise<void>

// ---------------------------------------------------------------- migration

/** The ten key types Baileys v6 and v7 store, in the order migration copies them. */
export declare const KEY_TYPES: readonly [
  'pre-key',
  'session',
  'sender-key',
  'sender-key-memory',
  'app-state-sync-key',
  'app-state-sync-version',
  'lid-mapping',
  'device-list',
  'tctoken',
  'identity-key',
]

/** A key store that can be migrated from: Baileys' `get`/`set` plus `list`. */
export interface ListableKeyStore {
  get(type: string, ids: string[]): Promise<{ [id: string]: any }>
  set(data: { [type: string]: { [id: string]: any } }): Promise<void>
  /** Every `[id, value]` of a type (values `null` or missing are skipped), read a page at a time. */
  list(type: string): AsyncIterable<[string, any]>
  /** Every id of a type. Used, when present, to find ids only a destination has. */
  listIds?(type: string): AsyncIterable<string>
  clear?(): Promise<void>
}

/** An auth state with any key store (`keys` needs `list` on the source side, `set` on the destination side). */
export interface AnyAuthState<K = any> {
  creds: AuthenticationCreds | any
  keys: K
}

/**
 * One side of a migration: what `useMultiFileAuthState` returns
 * (`{ state, saveCreds }`) or a bare auth state (`{ creds, keys }`,
 * optionally with its own `saveCreds`).
 */
export type MigrationEndpoint<K = any> =
  | { state: AnyAuthState<K>; saveCreds?: (creds?: any) => Promise<unknown> | unknown }
  | (AnyAuthState<K> & { saveCreds?: (creds?: any) => Promise<unknown> | unknown })

export interface MigrationProgress {
  /** `'copy'` after each batch written, `'verify'` after each batch compared, `'creds'` once the credentials are saved. */
  phase: 'copy' | 'verify' | 'creds'
  /** The type of the batch (not for `'creds'`). */
  type?: string
  /** Keys of this type copied so far (`'copy'`). */
  count?: number
  /** Keys compared so far, all types (`'verify'`). */
  checked?: number
  /** Keys copied so far, all types. */
  total: number
  /** `migrateAuthFolders` only: key files of the known types in the source. */
  expected?: number
}

export interface MigrationOptions {
  /** The source; its `keys.list(type)` must exist (wrap Baileys' helper state with `withListing`). */
  from: MigrationEndpoint<ListableKeyStore | any>
  /** The destination; its `keys.set` receives the batches, its `saveCreds` (if any) the credentials. */
  to: MigrationEndpoint
  /** Read every key back through `to.keys.get` and compare ids and values with the source (default `false`). */
  verify?: boolean
  /** Keys per `to.keys.set` call (default 256). */
  batchSize?: number
  /** Key types to copy (default `KEY_TYPES`). */
  types?: Iterable<string>
  onProgress?: (progress: MigrationProgress) => void
}

export interface MigrationDifference {
  /** A key type, or `'creds'`. */
  type: string
  /** The key's id (`null` for the credentials). */
  id: string | null
  /**
   * `missing`: the destination has no value for a source key; `value`: the
   * values differ (at `path`, such as `'keyData'` or `'list[2].x'`);
   * `extra`: an id only the destination has.
   */
  problem: 'missing' | 'value' | 'extra'
  path?: string
}

export interface MigrationSummary {
  /** The credentials were copied (always `true` when the call resolves). */
  creds: true
  /** Keys copied, by type (every type asked for, `0` included). */
  keys: { [type: string]: number }
  /** Keys copied, all types. */
  total: number
  /** Whether the copy was read back and compared. */
  verified: boolean
  /** What verification found (the first 1,000). */
  differences: MigrationDifference[]
  /** How many differences verification found in all. */
  differenceCount: number
}

/**
 * Copies the credentials and every key of every type (`KEY_TYPES`) from one
 * auth state to another, in batches: ours, Baileys' own helper (wrapped with
 * `withListing`), or any store with the same shape (SQL, Redis, memory…).
 *
 * Keys are copied first (one `to.keys.set` per batch), the credentials last:
 * they are copied into the very `to.state.creds` object (its own keys replaced
 * by the source's, in the source's order) and then `to.saveCreds(creds)` is
 * awaited when the destination has one — for `useMultiFileAuthState`'s
 * result that writes `creds.json`; a store without `saveCreds` keeps them in
 * its `creds` object. Values are handed over as the source gives them (not
 * cloned).
 *
 * With `verify`, every key is read back through `to.keys.get` and compared
 * with the source: ids and values (Buffers and other byte views as bytes,
 * objects by their own enumerable keys in any order, so a protobuf message
 * equals the plain object of its fields); ids only the destination has are
 * found when it has `listIds` or `list`.
 */
export declare function migrateAuthState(options: MigrationOptions): Promise<MigrationSummary>

/**
 * Adds `list(type)` and `listIds(type)` to an auth state that only has `get`
 * and `set`, such as the one Baileys' own `useMultiFileAuthState(folder)`
 * returns: ids come from listing `folder` (natively; `sender-key` never
 * catches `sender-key-memory` files), values are read through the state's own
 * `keys.get`, so Baileys itself reads them. Returns a new object of the same
 * shape as `auth` with the same `creds` object and `saveCreds`; `auth` is not
 * changed. A missing folder lists nothing.
 */
export declare function withListing<T extends { state: AnyAuthState } | AnyAuthState>(
  folder: string,
  auth: T,
): T extends { state: AnyAuthState }
  ? Omit<T, 'state'> & { state: AnyAuthState<ListableKeyStore> }
  : Omit<T, 'keys'> & { keys: ListableKeyStore }

export interface MigrateFoldersOptions {
  /** Read the source back and compare (default `true`); `creds.json` of the destination is read back too. */
  verify?: boolean
  batchSize?: number
  /** Delete the destination's key files first (default `false`). */
  clear?: boolean
  /** Read as that Baileys line does (default `'any'`). */
  flavor?: 'v6' | 'v7' | 'any'
  /** fsync every file written in the destination. */
  fsync?: boolean
  onProgress?: (progress: MigrationProgress) => void
}

/**
 * `migrateAuthState` between two folders (what `baileys-auth-native migrate`
 * does): the source is opened without its lock (it may be in use: the copy is
 * then a snapshot), the destination with it (created when missing). Values go
 * across as the files hold them, so the destination's files are byte for byte
 * the source's, without Baileys. Rejects (`code: 'ENOCREDS'`) when the source
 * has no `creds.json`.
 */
export declare function migrateAuthFolders(
  from: string,
  to: string,
  options?: MigrateFoldersOptions,
): Promise<MigrationSummary & { from: string; to: string }>

// ---------------------------------------------------------------- inspection

export interface FolderFinding {
  /** The file's name in the folder. */
  name: string
  /**
   * `torn`: cut short (empty included); `corrupt`: not JSON (or, for
   * `creds.json`, not an object); `unknown`: a `*.json` no key type claims;
   * `misnamed`: a name Baileys cannot write (holds `:`); `too-large`: over
   * 64 MiB; `unreadable`: not a regular file, or no permission.
   */
  problem: 'torn' | 'corrupt' | 'unknown' | 'misnamed' | 'too-large' | 'unreadable'
  detail: string
  /** Where `fix` moved it (`<name>.corrupt-<unix-ms>`), else `null`. */
  movedTo: string | null
}

export interface FolderReport {
  /** The folder's canonical path. */
  folder: string
  hasCreds: boolean
  /** `creds.registered`; `null` without a readable `creds.json`. */
  registered: boolean | null
  /** `creds.me.id` when paired. */
  accountId: string | null
  /** Key files and bytes by type; `'(unknown)'` for `*.json` files no type claims. */
  byType: { [type: string]: { files: number; bytes: number } }
  /** `*.json` files (creds.json included). */
  totalFiles: number
  totalBytes: number
  oldest: { name: string; mtimeMs: number } | null
  newest: { name: string; mtimeMs: number } | null
  /** Temporary files left by a process that died mid-write (removed at the next open). */
  staleTemps: string[]
  /** Files moved aside earlier as unreadable (`*.corrupt-*`). */
  movedAside: string[]
  /** Files parsed (`verify`); 0 otherwise. */
  verified: number
  /** Problems found; without `verify` only about `creds.json`. */
  findings: FolderFinding[]
}

/**
 * Looks inside an auth folder (the CLI's `stats`, and with `verify` its
 * `verify`): read-only, so it works beside a running owner. `fix` (implies
 * `verify`) moves torn, corrupt and too-large files aside, never deletes,
 * and needs the folder's lock (`AuthFolderLockedError` otherwise). A missing
 * folder rejects with `code: 'ENOENT'`.
 */
export declare function inspectFolder(
  folder: string,
  options?: { verify?: boolean; fix?: boolean; flavor?: 'v6' | 'v7' | 'any' },
): Promise<FolderReport>
