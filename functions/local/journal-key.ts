// The development checkpoint-signing key: one line in the local state directory, in the
// signer key-string format of local-signer.ts (`PRIVATE+KEY+<name>+<id>+<key>`), created on
// first start. The cloud signs with KMS behind the same NoteSigner port.

import { randomUUID } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair, localSignerFromKeyString, signerKeyString } from '#journal/local-signer.ts';
import { type NoteSigner, verifierKeyString } from '#journal/note.ts';

/** File name of the key inside the state directory. */
export const JOURNAL_KEY_FILE = 'journal-signing-key';

/** A loaded or freshly created journal signing key. */
export interface JournalKey {
  signer: NoteSigner;
  /** Verifier key string (`<name>+<id>+<base64 key>`) to publish to auditors and clients. */
  verifierKey: string;
  /** True when this call created the key (print the verifier key then). */
  created: boolean;
  file: string;
}

/** The key file exists but cannot be used. */
export class JournalKeyError extends Error {
  override name = 'JournalKeyError';
}

/**
 * Loads the journal signing key from `stateDir`, or creates it (mode 0600) named `name`.
 * Creation is atomic and exclusive: the key is written to a temporary file and hard-linked
 * into place, so a crash never leaves a truncated key and two processes starting at once end
 * up with the same key.
 *
 * @throws JournalKeyError when the file holds no valid key or a key with another name (a
 *   renamed key would silently change the checkpoints' signer identity).
 */
export function loadOrCreateJournalKey(stateDir: string, name: string): JournalKey {
  const file = join(stateDir, JOURNAL_KEY_FILE);
  let created = false;
  let text = readIfExists(file);
  if (text === null) {
    const { privateKey } = generateEd25519KeyPair();
    const line = `${signerKeyString(name, privateKey)}\n`;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const temporary = join(stateDir, `.${JOURNAL_KEY_FILE}.${randomUUID()}`);
    writeFileSync(temporary, line, { mode: 0o600, flag: 'wx' });
    // writeFileSync's mode is filtered by the umask; the key must be owner-only whatever it is.
    chmodSync(temporary, 0o600);
    try {
      linkSync(temporary, file);
      created = true;
    } catch (error: unknown) {
      // Another process created the key first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
    text = readFileSync(file, 'utf8');
  }

  let signer: NoteSigner;
  try {
    signer = localSignerFromKeyString(text.trim());
  } catch (error: unknown) {
    throw new JournalKeyError(
      `${file} does not hold a valid journal signing key: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (signer.name !== name) {
    throw new JournalKeyError(
      `${file} holds the key ${JSON.stringify(signer.name)}, not ${JSON.stringify(name)}`,
    );
  }
  return { signer, verifierKey: verifierKeyString(signer.name, signer.publicKey), created, file };
}

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
