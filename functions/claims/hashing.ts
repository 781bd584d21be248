import { createHash } from 'node:crypto';
import { canonicalize } from '#journal/canonical-json.ts';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Hash of a request body's meaning (RFC 8785 canonical form), not of its bytes or key order. */
export const contentHash = (value: unknown): string => sha256Hex(canonicalize(value));

/**
 * A claim's document id: derived from the billing NPI and the provider's own claim id, so a
 * retry lands on the same document and ids reveal neither.
 */
export const claimDocId = (billingProviderNpi: string, claimId: string): string =>
  `c${sha256Hex(`claim\u0000${billingProviderNpi}\u0000${claimId}`).slice(0, 31)}`;
