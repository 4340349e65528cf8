/**
 * SASL credentials files for tests: users given a password entry, and users given only salted
 * SCRAM-SHA-256 keys (derived here from their password, with a random salt), as a deployment
 * that keeps no password on disk would have them.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { SCRAM_MIN_ITERATIONS, scramCredentialFromPassword } from '../../src/server/sasl/credentials.js';

export function writeCredentialsFile(file: string, users: { passwords?: Record<string, string>; scramOnly?: Record<string, string> }): void {
  const entries: Record<string, unknown> = {};
  for (const [user, password] of Object.entries(users.passwords ?? {})) entries[user] = { password };
  for (const [user, password] of Object.entries(users.scramOnly ?? {})) {
    const salted = scramCredentialFromPassword(password, randomBytes(16), SCRAM_MIN_ITERATIONS);
    entries[user] = {
      scramSha256: {
        salt: salted.salt.toString('base64'),
        iterations: salted.iterations,
        storedKey: salted.storedKey.toString('base64'),
        serverKey: salted.serverKey.toString('base64'),
      },
    };
  }
  writeFileSync(file, JSON.stringify({ users: entries }));
}
