/**
 * SASL user credentials, loaded from a JSON file:
 *
 *   { "users": {
 *       "alice": { "password": "alice-secret" },
 *       "bob":   { "scramSha256": { "salt": "<base64>", "iterations": 4096,
 *                                  "storedKey": "<base64>", "serverKey": "<base64>" } } } }
 *
 * A "password" entry serves PLAIN and SCRAM-SHA-256 (its SCRAM keys are derived once at load, with
 * a random salt). A "scramSha256" entry keeps no password on disk, as Kafka's SCRAM credentials
 * (RFC 5802 StoredKey / ServerKey); PLAIN checks a password against it by deriving the StoredKey.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../../errors.js';

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export interface UserCredential {
  /** Null when only salted SCRAM keys are stored. */
  readonly password: string | null;
  readonly scramSha256: ScramCredential;
}

/** Kafka's minimum for SCRAM-SHA-256 (ScramMechanism.minIterations). */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Iterations used when deriving keys from a plain password. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;
const SHA256_BYTES = 32;

/** RFC 5802 key derivation: SaltedPassword, then ClientKey -> StoredKey and ServerKey. */
export function scramCredentialFromPassword(password: string, salt: Buffer, iterations: number): ScramCredential {
  const saltedPassword = pbkdf2Sync(password, salt, iterations, SHA256_BYTES, 'sha256');
  const clientKey = hmacSha256(saltedPassword, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: sha256(clientKey),
    serverKey: hmacSha256(saltedPassword, 'Server Key'),
  };
}

export function hmacSha256(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Compares secrets in constant time whatever their lengths (hashing first equalizes them). */
export function secretsEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export class CredentialStore {
  private readonly users: ReadonlyMap<string, UserCredential>;

  constructor(users: ReadonlyMap<string, UserCredential>) {
    this.users = users;
  }

  get(user: string): UserCredential | undefined {
    return this.users.get(user);
  }

  /** PLAIN: the password against a stored password, or against the SCRAM StoredKey. */
  verifyPassword(user: string, password: string): boolean {
    const credential = this.users.get(user);
    if (credential === undefined) return false;
    if (credential.password !== null) return secretsEqual(credential.password, password);
    const { salt, iterations, storedKey } = credential.scramSha256;
    return timingSafeEqual(scramCredentialFromPassword(password, salt, iterations).storedKey, storedKey);
  }
}

/** Reads and checks the credentials file; every problem is an InvalidConfigError naming the file and the user. */
export function loadCredentials(file: string): CredentialStore {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidConfigError(`SASL credentials file "${file}" cannot be read as JSON: ${(error as Error).message}`);
  }
  const users = (data as { users?: unknown } | null)?.users;
  if (typeof users !== 'object' || users === null || Array.isArray(users)) {
    throw new InvalidConfigError(`SASL credentials file "${file}" must hold { "users": { "<name>": { "password": "..." } } }`);
  }
  const credentials = new Map<string, UserCredential>();
  for (const [user, entry] of Object.entries(users)) {
    const where = `user "${user}" in SASL credentials file "${file}"`;
    if (user.length === 0) throw new InvalidConfigError(`an empty user name in SASL credentials file "${file}"`);
    if (typeof entry !== 'object' || entry === null) throw new InvalidConfigError(`${where} must be an object`);
    const { password, scramSha256 } = entry as { password?: unknown; scramSha256?: unknown };
    if (password !== undefined) {
      if (typeof password !== 'string' || password.length === 0) throw new InvalidConfigError(`${where}: "password" must be a non-empty string`);
      credentials.set(user, {
        password,
        scramSha256: scramCredentialFromPassword(password, randomBytes(SCRAM_SALT_BYTES), SCRAM_DEFAULT_ITERATIONS),
      });
    } else if (scramSha256 !== undefined) {
      credentials.set(user, { password: null, scramSha256: parseScram(scramSha256, where) });
    } else {
      throw new InvalidConfigError(`${where} needs a "password" or a "scramSha256" entry`);
    }
  }
  return new CredentialStore(credentials);
}

function parseScram(value: unknown, where: string): ScramCredential {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const iterations = v.iterations;
  if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) {
    throw new InvalidConfigError(`${where}: scramSha256.iterations must be an integer >= ${SCRAM_MIN_ITERATIONS}`);
  }
  const bytes = (name: string, size?: number): Buffer => {
    const text = v[name];
    const decoded = typeof text === 'string' ? Buffer.from(text, 'base64') : Buffer.alloc(0);
    if (decoded.length === 0 || (size !== undefined && decoded.length !== size)) {
      throw new InvalidConfigError(`${where}: scramSha256.${name} must be base64${size === undefined ? '' : ` of ${size} bytes`}`);
    }
    return decoded;
  };
  return { salt: bytes('salt'), iterations, storedKey: bytes('storedKey', SHA256_BYTES), serverKey: bytes('serverKey', SHA256_BYTES) };
}
