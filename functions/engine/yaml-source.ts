import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument, Scalar } from 'yaml';
import type * as z from '#functions/zod.ts';
import type { RuleSetIssue } from './errors.ts';
import type { SourcePath as Path, RuleSource } from './rule-source.ts';

/**
 * A YAML file kept with its source positions, so every later problem (schema, CEL, table)
 * can be reported at the file, line and column an analyst edits.
 */
export class YamlSource implements RuleSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    // uniqueKeys: a repeated key silently overriding the first is a classic rule-file bug.
    // merge: YAML merge keys (<<: *base) keep long test fixtures short.
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: true,
      uniqueKeys: true,
      merge: true,
    });
  }

  /** YAML syntax errors, located. */
  syntaxIssues(): RuleSetIssue[] {
    return [...this.doc.errors, ...this.doc.warnings].map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return {
        file: this.path,
        line: pos.line,
        column: pos.col,
        message: (e.message.split('\n')[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, ''),
      };
    });
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  private position(offset: number): { line: number; column: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Where the node at `path` starts; falls back to the nearest ancestor that exists. */
  at(path: Path): { line: number; column: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return this.position(node.range[0]);
    }
    return { line: 1, column: 1 };
  }

  /** Where key `key` of the mapping at `path` is written. */
  atKey(path: Path, key: string): { line: number; column: number } {
    const node = path.length === 0 ? this.doc.contents : this.doc.getIn(path as unknown[], true);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.value === key && pair.key.range)
          return this.position(pair.key.range[0]);
      }
    }
    return this.at(path);
  }

  issue(path: Path, message: string): RuleSetIssue {
    return { file: this.path, ...this.at(path), message };
  }

  /**
   * Position of character `offset` of the string value at `path`. Block scalars keep the
   * expression's lines, so the error line is found by searching the source for that line's
   * text; quoted and plain one-liners map by offset.
   */
  inScalar(path: Path, offset: number): { line: number; column: number } {
    const node = this.doc.getIn(path as unknown[], true);
    if (!isScalar(node) || !node.range || typeof node.value !== 'string') return this.at(path);
    const value = node.value;
    const [start, end] = node.range;
    const raw = this.text.slice(start, end);
    // An error at the very end (unclosed bracket) is shown at the expression's last character.
    const at = Math.max(0, Math.min(offset, value.trimEnd().length - 1));
    // Folding, indentation and quoting change whitespace but keep the other characters in
    // order, so the n-th non-blank character of the value is the n-th of the source body.
    let body = 0;
    if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) body = raw.indexOf('\n') + 1;
    else if (node.type === Scalar.QUOTE_SINGLE || node.type === Scalar.QUOTE_DOUBLE) body = 1;
    let wanted = 0;
    for (let i = 0; i < at; i++) if (!/\s/.test(value[i]!)) wanted++;
    for (let i = body, seen = 0; i < raw.length; i++) {
      if (/\s/.test(raw[i]!)) continue;
      if (seen === wanted) return this.position(start + i);
      seen++;
    }
    return this.position(start);
  }

  /** Turns zod issues into located, plain-language issues. */
  zodIssues(error: z.core.$ZodError, base: Path = []): RuleSetIssue[] {
    return error.issues.map((issue) => {
      const path = [...base, ...issue.path];
      const where = describePath(path);
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0] ?? '';
        return {
          file: this.path,
          ...this.atKey(path, key),
          message: `${where}unknown key '${issue.keys.join("', '")}'`,
        };
      }
      return { file: this.path, ...this.at(path), message: `${where}${plainMessage(issue)}` };
    });
  }
}

function describePath(path: Path): string {
  if (path.length === 0) return '';
  const text = path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  return `${text}: `;
}

function plainMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return /received undefined/.test(issue.message)
        ? `is required (${issue.expected})`
        : `must be ${article(issue.expected)}, found ${/received (\w+)/.exec(issue.message)?.[1] ?? 'something else'}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
