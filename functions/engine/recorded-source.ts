import { createHash } from 'node:crypto';
import type * as z from '#functions/zod.ts';
import type { RuleSetIssue } from './errors.ts';
import type { RuleSetFile } from './hash.ts';
import type { RuleSource, SourcePath, SourcePosition, SourceReader } from './rule-source.ts';

/**
 * What synth records of each rule file for a Lambda bundle (`rule-sources.json` beside the
 * handler): its parsed value and the positions the loader asked for, so that the function
 * loads the rule set without a YAML parser (112 KB of every deciding bundle). The record is
 * tied to each file's text by its SHA-256: it can only stand for the files the deployment
 * pinned (RULE_SET_HASH), which are shipped and hashed as before.
 */
export interface RecordedRuleSources {
  format: typeof RECORDED_FORMAT;
  files: Record<string, RecordedFile>;
}

export interface RecordedFile {
  /** SHA-256 (hex) of the file's text. */
  sha256: string;
  value: unknown;
  /** Positions by {@link positionKey}: [line, column]. */
  positions: Record<string, [number, number]>;
}

export const RECORDED_FORMAT = 'claimledger-rule-sources/1';

/** The record does not stand for these files (edited after synth, or another rule set). */
export class RecordedSourcesError extends Error {
  override name = 'RecordedSourcesError';
}

export const positionKey = (path: SourcePath) => JSON.stringify(path.map((p) => String(p)));

export const textSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Reads rule files from `recorded`, refusing any file whose text is not the one recorded. */
export function recordedSourceReader(recorded: RecordedRuleSources): SourceReader {
  if (recorded.format !== RECORDED_FORMAT) {
    throw new RecordedSourcesError(`unknown recorded rule sources format ${String(recorded.format)}`);
  }
  return (file: RuleSetFile) => {
    const entry = recorded.files[file.path];
    if (!entry) throw new RecordedSourcesError(`${file.path} was not recorded at synth`);
    if (entry.sha256 !== textSha256(file.content)) {
      throw new RecordedSourcesError(`${file.path} differs from the file recorded at synth`);
    }
    return new RecordedSource(file.path, entry);
  };
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
