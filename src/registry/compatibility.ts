/**
 * Confluent's compatibility levels, on top of each schema type's one question (can a reader of
 * schema R read data written with schema W):
 *
 *   BACKWARD   the new schema reads data written with the latest version (consumers upgrade first)
 *   FORWARD    the latest version reads data written with the new schema (producers upgrade first)
 *   FULL       both
 *   *_TRANSITIVE  the same against every live version, not only the latest
 *   NONE       no check
 */
import type { ParsedSchema } from './schema.js';

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/**
 * The incompatibilities of `candidate` with `previous` (a subject's live versions, oldest first)
 * under `level`; empty when it may be registered.
 */
export function checkCompatibility(level: CompatibilityLevel, candidate: ParsedSchema, previous: readonly ParsedSchema[]): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const problems: string[] = [];
  // Newest first, as Confluent reports them.
  for (const existing of [...against].reverse()) {
    if (existing.schemaType !== candidate.schemaType) {
      problems.push(`{errorType:'TYPE_MISMATCH', description:'the subject holds ${existing.schemaType} schemas, not ${candidate.schemaType}'}`);
      continue;
    }
    if (backward) problems.push(...candidate.readerIncompatibilities(existing));
    if (forward) problems.push(...existing.readerIncompatibilities(candidate));
  }
  return problems;
}
