import { createHash } from 'node:crypto';
import type { ASTNode } from '@marcbachmann/cel-js';
import type * as z from '#functions/zod.ts';
import { type CelChecker, type CheckedExpression, type ExpressionFacts, expressionFacts } from './cel.ts';
import type { RuleSetIssue } from './errors.ts';
import type { Phase } from './fact-model.ts';
import type { RuleSetFile } from './hash.ts';
import type { RuleSetReaders } from './rule-set-loader.ts';
import type { RuleSource, SourcePath, SourcePosition } from './rule-source.ts';

/**
 * What synth records of a rule set for a Lambda bundle (`rule-sources.json` beside the
 * handler): each rule file's parsed value and the positions the loader asked for, and each
 * expression's type-checked AST, so that the function loads the rule set with neither a YAML
 * parser (112 KB) nor a CEL parser and type checker (81 KB). The record is tied to each file's
 * text by its SHA-256: it can only stand for the files the deployment pinned (RULE_SET_HASH),
 * which are shipped and hashed as before; an expression is found by its text.
 */
export interface RecordedRuleSources {
  format: typeof RECORDED_FORMAT;
  files: Record<string, RecordedFile>;
  /** By {@link expressionKey}. */
  expressions: Record<string, RecordedExpression>;
}

export interface RecordedExpression extends ExpressionFacts {
  ast: RecordedNode;
}

/** An AST node as the closure compiler reads it: operator, arguments, checked type. */
export interface RecordedNode {
  op: string;
  args?: RecordedArg;
  type?: string;
}

/** A node's argument: a node, a list of them, or a literal (CEL ints as `{ int: "…" }`). */
type RecordedArg = RecordedNode | RecordedArg[] | { int: string } | string | number | boolean | null;

export interface RecordedFile {
  /** SHA-256 (hex) of the file's text. */
  sha256: string;
  value: unknown;
  /** Positions by {@link positionKey}: [line, column]. */
  positions: Record<string, [number, number]>;
}

export const RECORDED_FORMAT = 'claimledger-rule-sources/2';

/** The record does not stand for these files (edited after synth, or another rule set). */
export class RecordedSourcesError extends Error {
  override name = 'RecordedSourcesError';
}

export const positionKey = (path: SourcePath) => JSON.stringify(path.map((p) => String(p)));

export const textSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Where an expression's record is kept: the same text checks alike in the same place. */
export const expressionKey = (
  source: string,
  phase: Phase,
  expect: readonly string[] | 'any',
  itType: string | undefined,
) => JSON.stringify([phase, itType ?? null, expect, source]);

/**
 * Reads rule files and expressions from `recorded`, refusing any file whose text is not the
 * one recorded, and any expression that was not recorded.
 */
export function recordedReaders(recorded: RecordedRuleSources): RuleSetReaders {
  if (recorded.format !== RECORDED_FORMAT) {
    throw new RecordedSourcesError(`unknown recorded rule sources format ${String(recorded.format)}`);
  }
  const checker: CelChecker = {
    check(source, phase, expect, itType) {
      const entry = recorded.expressions[expressionKey(source, phase, expect, itType)];
      if (!entry) throw new RecordedSourcesError(`the expression '${source}' was not recorded at synth`);
      const { ast, ...rest } = entry;
      return { ...rest, ast: decodeNode(ast) };
    },
  };
  return {
    source: (file: RuleSetFile) => {
      const entry = recorded.files[file.path];
      if (!entry) throw new RecordedSourcesError(`${file.path} was not recorded at synth`);
      if (entry.sha256 !== textSha256(file.content)) {
        throw new RecordedSourcesError(`${file.path} differs from the file recorded at synth`);
      }
      return new RecordedSource(file.path, entry);
    },
    cel: () => checker,
  };
}

/** The record of a checked expression; throws on a literal the record cannot carry (bytes, uint). */
export function recordExpression(checked: CheckedExpression): RecordedExpression {
  return { ...expressionFacts(checked), ast: encodeNode(checked.ast) };
}

const isNode = (x: unknown): x is { op: string; args?: unknown; checkedType?: { name?: string } } =>
  typeof x === 'object' && x !== null && 'op' in x;

function encodeNode(node: ASTNode): RecordedNode {
  const { op, args, checkedType } = node as unknown as {
    op: string;
    args?: unknown;
    checkedType?: { name?: string };
  };
  return {
    op,
    ...(args === undefined ? {} : { args: encodeArg(args) }),
    ...(checkedType?.name === undefined ? {} : { type: checkedType.name }),
  };
}

function encodeArg(arg: unknown): RecordedArg {
  if (isNode(arg)) return encodeNode(arg as unknown as ASTNode);
  if (Array.isArray(arg)) return arg.map(encodeArg);
  if (typeof arg === 'bigint') return { int: String(arg) };
  if (typeof arg === 'number' && !Number.isFinite(arg)) throw new Error(`cannot record the number ${arg}`);
  if (arg === null || ['string', 'number', 'boolean'].includes(typeof arg)) return arg as RecordedArg;
  throw new Error(`cannot record a CEL literal of type ${Object.prototype.toString.call(arg)}`);
}

function decodeNode(node: RecordedNode): ASTNode {
  return {
    op: node.op,
    args: node.args === undefined ? undefined : decodeArg(node.args),
    checkedType: node.type === undefined ? undefined : { name: node.type },
  } as unknown as ASTNode;
}

function decodeArg(arg: RecordedArg): unknown {
  if (Array.isArray(arg)) return arg.map(decodeArg);
  if (arg === null || typeof arg !== 'object') return arg;
  if ('int' in arg) return BigInt(arg.int);
  return decodeNode(arg);
}

/**
 * A rule file as recorded. Only a valid rule set is recorded, so the loader asks it nothing
 * but the value and the positions it asked when recording; anything else is a mismatch
 * between loader and record, reported loudly rather than with a wrong line.
 */
class RecordedSource implements RuleSource {
  constructor(
    readonly path: string,
    private readonly recorded: RecordedFile,
  ) {}

  syntaxIssues(): RuleSetIssue[] {
    return [];
  }

  toJS(): unknown {
    return structuredClone(this.recorded.value);
  }

  at(path: SourcePath): SourcePosition {
    const position = this.recorded.positions[positionKey(path)];
    if (!position)
      throw new RecordedSourcesError(`${this.path}: no recorded position for ${positionKey(path)}`);
    return { line: position[0], column: position[1] };
  }

  atKey(path: SourcePath): SourcePosition {
    return this.unexpected(path);
  }

  issue(path: SourcePath): RuleSetIssue {
    return this.unexpected(path);
  }

  inScalar(path: SourcePath): SourcePosition {
    return this.unexpected(path);
  }

  zodIssues(_error: z.core.$ZodError, base: SourcePath = []): RuleSetIssue[] {
    return this.unexpected(base);
  }

  private unexpected(path: SourcePath): never {
    throw new RecordedSourcesError(
      `${this.path}: the recorded rule set has a problem at ${positionKey(path)}, which synth did not find`,
    );
  }
}
