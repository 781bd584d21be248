import type * as z from '#functions/zod.ts';
import type { RuleSetIssue } from './errors.ts';

/** A path into a rule file's value: keys and list indices. */
export type SourcePath = readonly PropertyKey[];

export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * A rule file as the loader reads it: its value, and where each part of it is written, so
 * that problems and traces name the file and line an analyst edits. YAML (yaml-source.ts)
 * when rule files are checked or run locally; the synth-time record of that (recorded-source.ts)
 * in a Lambda bundle, which then carries no YAML parser.
 */
export interface RuleSource {
  readonly path: string;
  /** Syntax errors, located; none for a recorded source (it was checked when recorded). */
  syntaxIssues(): RuleSetIssue[];
  toJS(): unknown;
  /** Where the node at `path` starts; falls back to the nearest ancestor that exists. */
  at(path: SourcePath): SourcePosition;
  /** Where key `key` of the mapping at `path` is written. */
  atKey(path: SourcePath, key: string): SourcePosition;
  issue(path: SourcePath, message: string): RuleSetIssue;
  /** Position of character `offset` of the string value at `path`. */
  inScalar(path: SourcePath, offset: number): SourcePosition;
  /** Turns zod issues into located, plain-language issues. */
  zodIssues(error: z.core.$ZodError, base?: SourcePath): RuleSetIssue[];
}

/** How the loader gets a {@link RuleSource} for a rule file. */
export type SourceReader = (file: { path: string; content: string }) => RuleSource;
