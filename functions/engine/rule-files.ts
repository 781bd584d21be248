import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuleSetFile } from './hash.ts';

/** The repository's rule set (`rules/`), used when RULES_DIR is not set: locally and in tests. */
export const REPOSITORY_RULES_DIR = fileURLToPath(new URL('../../rules', import.meta.url));

/**
 * Files under `dir` that belong to a rule set: everything except tests, docs and dotfiles.
 * Synchronous: it runs once at cold start, and at synth time, where the stack pins the hash.
 */
export function readRuleSetFiles(dir: string): RuleSetFile[] {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  const files: RuleSetFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const rel = relative(dir, full).split(sep).join('/');
    if (
      rel.split('/').some((seg) => seg.startsWith('.')) ||
      rel.startsWith('tests/') ||
      /\.(md|ts|js)$/i.test(rel)
    ) {
      continue;
    }
    files.push({ path: rel, content: readFileSync(full, 'utf8') });
  }
  return files;
}

/** The rule test files of the rule set in `dir` (tests/*.yaml). */
export async function readRuleTestFiles(dir: string): Promise<RuleSetFile[]> {
  const testsDir = join(dir, 'tests');
  let names: string[];
  try {
    names = await readdir(testsDir);
  } catch {
    return [];
  }
  const files: RuleSetFile[] = [];
  for (const name of names.filter((n) => /\.ya?ml$/.test(n)).sort()) {
    files.push({ path: `tests/${name}`, content: await readFile(join(testsDir, name), 'utf8') });
  }
  return files;
}
