import { createHash } from 'node:crypto';

/** A rule-set file as the loader sees it: a path relative to the rule-set root, and its text. */
export interface RuleSetFile {
  path: string;
  content: string;
}

/**
 * Canonical text of a file: no byte-order mark, LF line endings. A rule set checked out on
 * Windows (CRLF) or saved by an editor that adds a BOM keeps its identity; any other change,
 * comments included, changes it.
 */
export function canonicalText(content: string): string {
  const noBom = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  return noBom.replace(/\r\n?/g, '\n');
}

/**
 * SHA-256 (hex) identifying a rule set: over every file in the set, sorted by relative path
 * (code-unit order), each contributing its path, its canonical byte length and its canonical
 * bytes. Length-prefixing keeps file boundaries unambiguous.
 */
export function ruleSetHash(files: readonly RuleSetFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  for (const f of sorted) {
    const bytes = Buffer.from(canonicalText(f.content), 'utf8');
    h.update(`${f.path}\n${bytes.length}\n`);
    h.update(bytes);
    h.update('\n');
  }
  return h.digest('hex');
}
