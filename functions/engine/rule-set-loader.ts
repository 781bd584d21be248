import { posix } from 'node:path';
import type * as z from '#functions/zod.ts';
import type { AdjustmentGroup } from '../claims/decision.ts';
import {
  type CelFrontEnd,
  type CompiledExpression,
  isProblem,
  mergeReads,
  type ParamValue,
  RuleSetCel,
} from './cel.ts';
import { type CsvRow, CsvSyntaxError, parseCsv } from './csv.ts';
import { analyseTable, compileCell } from './decision-table.ts';
import { RuleSetError, type RuleSetIssue } from './errors.ts';
import type { Phase } from './fact-model.ts';
import { type RuleSetFile, ruleSetHash } from './hash.ts';
import {
  effectiveSchema,
  groupSchema,
  manifestSchema,
  numericOutputColumns,
  type RuleDoc,
  ruleFileSchema,
  ruleSchema,
  tableDeclSchema,
  type tableOutputColumns,
} from './rule-file.schema.ts';
import {
  type CompiledDecisionTable,
  type CompiledEffect,
  type CompiledInput,
  type CompiledRow,
  type CompiledRule,
  compileTemplate,
  type MessageTemplate,
} from './rule-model.ts';
import { RuleSet } from './rule-set.ts';
import type { RuleSource, SourceReader } from './rule-source.ts';
import { loadTable, type ReferenceTable, type TableKind, type Window } from './tables.ts';
import { factsReader } from './trace-values.ts';

/**
 * How the loader reads a rule set: each rule file's value and positions, and each expression's
 * parse and type check. YAML and cel-js (loader.ts), or what synth recorded of them
 * (recorded-source.ts) in a Lambda bundle, which then ships neither parser.
 */
export interface RuleSetReaders {
  source: SourceReader;
  cel: CelFrontEnd;
}

/** How to load a rule set. */
export interface LoadOptions {
  /**
   * How expressions run: 'compiled' (default) turns each type-checked expression into a
   * generated JavaScript function, falling back to cel-js per expression; 'cel-js' uses cel-js's own
   * evaluator throughout (the reference the compiled form is tested against).
   */
  evaluator?: 'compiled' | 'cel-js';
}

/** The manifest every rule set has at its root. */
export const MANIFEST = 'ruleset.yaml';

type Path = readonly PropertyKey[];

/** Which effects each phase may use (tables rows may deny, pend and signal). */
const phaseEffects: Record<Phase, readonly CompiledEffect['kind'][]> = {
  claim: ['deny', 'pend', 'signal'],
  edit: ['deny', 'pend', 'signal'],
  price: ['allow', 'deny', 'pend', 'signal'],
  benefit: ['adjust', 'visit', 'deny', 'pend', 'signal'],
};

/**
 * Rules that iterate the same list read different fields of its elements; showing each list
 * once per line with the union of those fields lets the trace convert it once instead of once
 * per rule (a list is the costliest fact to record).
 */
function unifyProjections(rules: Record<Phase, CompiledRule[]>): void {
  const union = new Map<string, Map<string, readonly string[]>>();
  const all = Object.values(rules).flat();
  for (const rule of all) {
    for (const read of rule.reads) {
      if (!read.fields) continue;
      const key = read.path.join('.');
      const fields = union.get(key) ?? new Map<string, readonly string[]>();
      for (const f of read.fields) fields.set(f.join('.'), f);
      union.set(key, fields);
    }
  }
  for (const phase of Object.keys(rules) as Phase[]) {
    rules[phase] = rules[phase].map((rule) => {
      const reads = rule.reads.map((read) => {
        const fields = read.fields && union.get(read.path.join('.'));
        return fields
          ? { path: read.path, fields: [...fields.values()], fieldsKey: [...fields.keys()].sort().join(',') }
          : read;
      });
      return {
        ...rule,
        reads,
        readFacts: factsReader(
          reads,
          rule.table?.inputs.map((i) => i.name),
        ),
      };
    });
  }
}

/** Turns `./tables/x.csv` and `tables\x.csv` into `tables/x.csv`; rejects paths leaving the root. */
function normalisePath(path: string): string | undefined {
  const p = posix.normalize(path.replaceAll('\\', '/')).replace(/^\.\//, '');
  if (p.startsWith('../') || p === '..' || p.startsWith('/')) return undefined;
  return p;
}

/** A decision-table row before compiling: cell texts by column, and how to locate a cell. */
interface RawRow {
  cells: Map<string, string>;
  source: { file: string; line: number };
  file: string;
  /** Position of character `offset` of the cell in `column`. */
  locate: (column: string, offset: number) => { line: number; column: number };
}

class Loader {
  readonly issues: RuleSetIssue[] = [];
  readonly warnings: RuleSetIssue[] = [];
  private readonly files = new Map<string, RuleSetFile>();
  private readonly used = new Map<string, RuleSetFile>();
  private cel!: RuleSetCel;
  private tables = new Map<string, ReferenceTable>();

  constructor(
    files: readonly RuleSetFile[],
    private readonly readers: RuleSetReaders,
    private readonly options: LoadOptions = {},
  ) {
    for (const f of files) {
      const p = normalisePath(f.path);
      if (p !== undefined) this.files.set(p, { path: p, content: f.content });
    }
  }

  /** Reads a file of the set, marking it part of the hash. */
  private file(path: string): RuleSetFile | undefined {
    const p = normalisePath(path);
    const f = p === undefined ? undefined : this.files.get(p);
    if (f) this.used.set(f.path, f);
    return f;
  }

  private schema<T>(
    src: RuleSource,
    schema: z.ZodMiniType<T>,
    value: unknown,
    base: Path = [],
  ): T | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    this.issues.push(...src.zodIssues(r.error, base));
    return undefined;
  }

  load(): RuleSet | undefined {
    const manifestFile = this.file(MANIFEST);
    if (!manifestFile) {
      this.issues.push({
        file: MANIFEST,
        line: 1,
        column: 1,
        message: `a rule set needs a ${MANIFEST} at its root`,
      });
      return undefined;
    }
    const src = this.readers.source(manifestFile);
    const syntax = src.syntaxIssues();
    if (syntax.length > 0) {
      this.issues.push(...syntax);
      return undefined;
    }
    const manifest = this.schema(src, manifestSchema, src.toJS());
    if (!manifest) return undefined;

    for (const [i, raw] of manifest.tables.entries()) this.loadTableDecl(src, raw, i);
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(manifest.params)) {
      params[k] = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
    }
    this.cel = new RuleSetCel(params, this.tables, this.readers.cel);
    this.cel.useClosures = this.options.evaluator !== 'cel-js';

    const rules: Record<Phase, CompiledRule[]> = { claim: [], edit: [], price: [], benefit: [] };
    const ids = new Map<string, string>();
    for (const [i, name] of manifest.files.entries()) {
      const f = this.file(name);
      if (!f) {
        this.issues.push(src.issue(['files', i], `rule file '${name}' is not in the rule set`));
        continue;
      }
      for (const rule of this.loadRuleFile(f)) {
        const seen = ids.get(rule.id);
        if (seen) {
          this.issues.push({
            file: rule.source.file,
            line: rule.source.line,
            column: 1,
            message: `rule id '${rule.id}' is already used in ${seen}`,
          });
          continue;
        }
        ids.set(rule.id, `${rule.source.file}:${rule.source.line}`);
        rules[rule.phase].push(rule);
      }
    }
    if (this.issues.length > 0) return undefined;
    unifyProjections(rules);

    for (const f of this.files.values()) {
      if (!this.used.has(f.path) && /\.(ya?ml|csv|json|txt|tsv)$/.test(f.path)) {
        this.warnings.push({
          file: f.path,
          line: 1,
          column: 1,
          message: `not referenced from ${MANIFEST}; it is not part of the rule set`,
        });
      }
    }
    const usedFiles = [...this.used.values()];
    return new RuleSet({
      hash: ruleSetHash(usedFiles),
      name: manifest.name,
      version: manifest.version,
      description: manifest.description ?? '',
      fraudThreshold: manifest.fraud.threshold,
      cel: this.cel,
      rules,
      tables: [...this.tables.values()],
      files: usedFiles.map((f) => f.path).sort(),
      warnings: this.warnings,
    });
  }

  private loadTableDecl(src: RuleSource, raw: unknown, i: number): void {
    const decl = this.schema(src, tableDeclSchema, raw, ['tables', i]);
    if (!decl) return;
    if (this.tables.has(decl.name)) {
      this.issues.push(src.issue(['tables', i, 'name'], `table '${decl.name}' is declared twice`));
      return;
    }
    let file: { path: string; text: string } | undefined;
    if (decl.file !== undefined) {
      const f = this.file(decl.file);
      if (!f) {
        this.issues.push(src.issue(['tables', i, 'file'], `file '${decl.file}' is not in the rule set`));
        return;
      }
      file = { path: f.path, text: f.content };
    }
    const table = loadTable(
      {
        name: decl.name,
        kind: decl.kind as TableKind,
        window: { from: decl.effective?.from, to: decl.effective?.to },
        defaultValue: decl.default,
        file,
        inlineCodes: decl.codes,
        inlineValues: decl.values,
      },
      this.issues,
    );
    this.tables.set(decl.name, table);
  }

  private loadRuleFile(f: RuleSetFile): CompiledRule[] {
    const src = this.readers.source(f);
    const syntax = src.syntaxIssues();
    if (syntax.length > 0) {
      this.issues.push(...syntax);
      return [];
    }
    const doc = this.schema(src, ruleFileSchema, src.toJS());
    if (!doc) return [];
    const out: CompiledRule[] = [];
    for (const [i, raw] of doc.rules.entries()) {
      const rule = this.schema(src, ruleSchema, raw, ['rules', i]);
      if (!rule) continue;
      const compiled = this.compileRule(src, rule, ['rules', i], rule.phase ?? doc.phase);
      if (compiled) out.push(compiled);
    }
    return out;
  }

  /** Compiles a CEL expression written at `path`, reporting problems at their exact position. */
  private expr(
    src: RuleSource,
    path: Path,
    source: string,
    phase: Phase,
    expect: readonly string[] | 'any',
  ): CompiledExpression | undefined {
    const c = this.cel.compile(source, phase, expect);
    if (!isProblem(c)) return c;
    this.issues.push({
      file: src.path,
      ...src.inScalar(path, c.offset),
      message: `${c.message} in: ${source.trim()}`,
    });
    return undefined;
  }

  private template(src: RuleSource, path: Path, text: string, phase: Phase): MessageTemplate | undefined {
    const t = compileTemplate(text, this.cel, phase);
    if (!('offset' in t)) return t;
    this.issues.push({ file: src.path, ...src.inScalar(path, t.offset), message: t.message });
    return undefined;
  }

  private compileRule(src: RuleSource, rule: RuleDoc, at: Path, phase: Phase): CompiledRule | undefined {
    const before = this.issues.length;
    const effects: CompiledEffect[] = [];
    const when =
      rule.when === undefined ? undefined : this.expr(src, [...at, 'when'], rule.when, phase, ['bool']);
    if (rule.deny) {
      const message = this.template(src, [...at, 'deny', 'message'], rule.deny.message, phase);
      if (message)
        effects.push({
          kind: 'deny',
          group: rule.deny.group,
          carc: rule.deny.carc,
          rarc: rule.deny.rarc,
          message,
        });
    }
    if (rule.pend) {
      const message = this.template(src, [...at, 'pend', 'message'], rule.pend.message, phase);
      if (message) effects.push({ kind: 'pend', reason: rule.pend.reason, rarc: rule.pend.rarc, message });
    }
    if (rule.signal) {
      const evidence: [string, CompiledExpression][] = [];
      for (const [key, source] of Object.entries(rule.signal.evidence ?? {})) {
        const c = this.expr(src, [...at, 'signal', 'evidence', key], source, phase, 'any');
        if (c) evidence.push([key, c]);
      }
      effects.push({ kind: 'signal', name: rule.signal.name, weight: rule.signal.weight, evidence });
    }
    if (rule.allow) {
      const amount = this.expr(src, [...at, 'allow', 'amount'], rule.allow.amount, phase, ['int']);
      const message = this.template(src, [...at, 'allow', 'message'], rule.allow.message, phase);
      if (amount && message) {
        effects.push({
          kind: 'allow',
          amount,
          group: rule.allow.group,
          carc: rule.allow.carc,
          rarc: rule.allow.rarc,
          message,
        });
      }
    }
    if (rule.adjust) {
      const a = rule.adjust;
      const amount = this.expr(src, [...at, 'adjust', 'amount'], a.amount, phase, ['int']);
      const message = this.template(src, [...at, 'adjust', 'message'], a.message, phase);
      if (amount && message) {
        effects.push({
          kind: 'adjust',
          amount,
          group: a.group,
          carc: a.carc,
          rarc: a.rarc,
          message,
          accumulate: {
            deductible: a.accumulate.includes('deductible'),
            outOfPocket: a.accumulate.includes('outOfPocket'),
          },
        });
      }
    }
    if (rule.visit) effects.push({ kind: 'visit' });
    for (const e of effects) {
      if (!phaseEffects[phase].includes(e.kind)) {
        this.issues.push({
          file: src.path,
          ...src.atKey(at, e.kind),
          message: `'${e.kind}' cannot be used in the ${phase} phase (allowed: ${phaseEffects[phase].join(', ')})`,
        });
      }
    }
    const table = rule.table ? this.compileTable(src, rule, [...at, 'table'], phase) : undefined;
    if (this.issues.length > before) return undefined;
    const exprs: CompiledExpression[] = [];
    if (when) exprs.push(when);
    for (const e of effects) if (e.kind === 'allow' || e.kind === 'adjust') exprs.push(e.amount);
    for (const input of table?.inputs ?? []) exprs.push(input.expr);
    const reads = mergeReads(exprs.flatMap((e) => e.reads));
    return {
      id: rule.id,
      description: rule.description,
      phase,
      source: { file: src.path, line: src.at(at).line },
      window: { from: rule.effective?.from, to: rule.effective?.to },
      when,
      effects,
      table,
      reads,
      readKeys: reads.map((r) => r.path.join('.')),
      // Replaced once every rule is known (see unifyProjections).
      readFacts: factsReader(
        reads,
        table?.inputs.map((i) => i.name),
      ),
    };
  }

  private compileTable(
    src: RuleSource,
    rule: RuleDoc,
    at: Path,
    phase: Phase,
  ): CompiledDecisionTable | undefined {
    const doc = rule.table!;
    const before = this.issues.length;
    const inputs: CompiledInput[] = [];
    for (const [i, input] of doc.inputs.entries()) {
      const expr = this.expr(src, [...at, 'inputs', i, 'expr'], input.expr, phase, 'any');
      if (expr) inputs.push({ name: input.name, expr, type: expr.type, values: input.values });
    }
    const names = new Set<string>();
    for (const n of [...doc.inputs.map((x) => x.name), ...doc.outputs]) {
      if (names.has(n)) this.issues.push(src.issue([...at], `column '${n}' is declared twice`));
      names.add(n);
    }
    const aggregation = this.tableAggregation(src, doc, at);
    if (this.issues.length > before) return undefined;
    const columns = [...doc.inputs.map((x) => x.name), ...doc.outputs];
    const raws: RawRow[] = [];
    if (doc.rows) {
      for (const [r, row] of doc.rows.entries()) {
        const rowPath = [...at, 'rows', r];
        const cells = new Map<string, string>();
        if (Array.isArray(row)) {
          if (row.length !== columns.length) {
            this.issues.push(
              src.issue(
                rowPath,
                `row has ${row.length} cells; the table has ${columns.length} columns (${columns.join(', ')})`,
              ),
            );
            continue;
          }
          row.forEach((v, c) => {
            cells.set(columns[c]!, v === null ? '' : String(v));
          });
        } else {
          for (const key of Object.keys(row)) {
            if (!columns.includes(key))
              this.issues.push({
                file: src.path,
                ...src.atKey(rowPath, key),
                message: `unknown column '${key}'`,
              });
          }
          for (const c of columns)
            cells.set(c, row[c] === undefined || row[c] === null ? '' : String(row[c]));
        }
        const keyOf = (column: string): PropertyKey =>
          Array.isArray(row) ? columns.indexOf(column) : column;
        raws.push({
          cells,
          file: src.path,
          source: { file: src.path, line: src.at(rowPath).line },
          locate: (column, offset) => src.inScalar([...rowPath, keyOf(column)], offset),
        });
      }
    } else {
      const f = this.file(doc.file!);
      if (!f) {
        this.issues.push(src.issue([...at, 'file'], `file '${doc.file}' is not in the rule set`));
        return undefined;
      }
      let rows: CsvRow[];
      try {
        rows = parseCsv(f.content);
      } catch (error: unknown) {
        if (error instanceof CsvSyntaxError) {
          this.issues.push({ file: f.path, line: error.line, column: error.column, message: error.message });
          return undefined;
        }
        throw error;
      }
      const header = rows[0];
      if (!header) {
        this.issues.push({ file: f.path, line: 1, column: 1, message: 'decision table file is empty' });
        return undefined;
      }
      const headerNames = header.cells.map((c) => c.value.trim());
      for (const c of columns) {
        if (!headerNames.includes(c)) {
          this.issues.push({
            file: f.path,
            line: header.line,
            column: 1,
            message: `missing column '${c}' (the rule declares: ${columns.join(', ')})`,
          });
        }
      }
      for (const [i, h] of headerNames.entries()) {
        if (!columns.includes(h)) {
          this.issues.push({
            file: f.path,
            line: header.line,
            column: header.cells[i]!.column,
            message: `column '${h}' is not an input or output of rule ${rule.id}`,
          });
        }
      }
      if (this.issues.length > before) return undefined;
      for (const row of rows.slice(1)) {
        if (row.cells.length !== headerNames.length) {
          this.issues.push({
            file: f.path,
            line: row.line,
            column: 1,
            message: `row has ${row.cells.length} cells, the header has ${headerNames.length}`,
          });
          continue;
        }
        const cells = new Map<string, string>();
        const pos = new Map<string, { line: number; column: number }>();
        headerNames.forEach((h, i) => {
          cells.set(h, row.cells[i]!.value);
          pos.set(h, { line: row.cells[i]!.line, column: row.cells[i]!.column });
        });
        raws.push({
          cells,
          file: f.path,
          source: { file: f.path, line: row.line },
          locate: (column, offset) => {
            const p = pos.get(column) ?? { line: row.line, column: 1 };
            return { line: p.line, column: p.column + offset };
          },
        });
      }
    }
    const compiledRows: CompiledRow[] = [];
    for (const [r, raw] of raws.entries()) {
      const row = this.compileRow(raw, r + 1, inputs, doc.outputs, phase, aggregation);
      if (row) compiledRows.push(row);
    }
    if (this.issues.length > before) return undefined;
    const table: CompiledDecisionTable = {
      hitPolicy: doc.hitPolicy,
      aggregation,
      complete: doc.complete,
      inputs,
      rows: compiledRows,
      priority: doc.priority,
    };
    for (const finding of analyseTable(table)) {
      const issue = src.issue(at, `rule ${rule.id}: ${finding.message}`);
      if (finding.kind === 'not-analysable') this.warnings.push(issue);
      else this.issues.push(issue);
    }
    return table;
  }

  /**
   * Checks a table's DMN aggregator: only under COLLECT, over exactly one output column
   * (DMN does not aggregate compound outputs; row windows do not count), numeric for SUM, MIN
   * and MAX, and with the name of the signal the aggregate raises.
   */
  private tableAggregation(
    src: RuleSource,
    doc: NonNullable<RuleDoc['table']>,
    at: Path,
  ): CompiledDecisionTable['aggregation'] {
    const kind = doc.aggregation;
    if (kind === undefined) {
      if (doc.signal !== undefined) {
        this.issues.push(
          src.issue(
            [...at, 'signal'],
            "a table-level 'signal' is raised by an aggregated table: add 'aggregation' (SUM, MIN, MAX or COUNT), or name signals in the rows",
          ),
        );
      }
      if (doc.outputs.includes('score')) {
        this.issues.push(
          src.issue(
            [...at, 'outputs'],
            "'score' is what rows add up in an aggregated table: add 'aggregation' (SUM, MIN, MAX or COUNT)",
          ),
        );
      }
      return undefined;
    }
    const before = this.issues.length;
    if (doc.hitPolicy !== 'COLLECT') {
      this.issues.push(
        src.issue(
          [...at, 'aggregation'],
          `aggregation ${kind} needs hitPolicy COLLECT, not ${doc.hitPolicy}`,
        ),
      );
    }
    const values = doc.outputs.filter((o) => o !== 'effectiveFrom' && o !== 'effectiveTo');
    const output = values[0];
    if (output === undefined || values.length > 1) {
      this.issues.push(
        src.issue(
          [...at, 'outputs'],
          `an aggregated table has exactly one output column besides effectiveFrom/effectiveTo, not ${values.length} (${values.join(', ') || 'none'})`,
        ),
      );
    } else if (kind !== 'COUNT' && !numericOutputColumns.includes(output)) {
      this.issues.push(
        src.issue(
          [...at, 'outputs'],
          `${kind} needs a numeric output column (${numericOutputColumns.join(' or ')}); '${output}' is not a number`,
        ),
      );
    }
    if (doc.signal === undefined) {
      this.issues.push(
        src.issue(
          [...at, 'aggregation'],
          `an aggregated table needs 'signal': the signal its ${kind} raises`,
        ),
      );
    }
    if (this.issues.length > before || output === undefined || doc.signal === undefined) return undefined;
    return { kind, output, signal: doc.signal };
  }

  private compileRow(
    raw: RawRow,
    number: number,
    inputs: readonly CompiledInput[],
    outputs: readonly (typeof tableOutputColumns)[number][],
    phase: Phase,
    aggregation: CompiledDecisionTable['aggregation'],
  ): CompiledRow | undefined {
    const before = this.issues.length;
    const fail = (column: string, offset: number, message: string) =>
      this.issues.push({
        file: raw.file,
        ...raw.locate(column, offset),
        message: `row ${number}, ${column}: ${message}`,
      });
    const cells = inputs.map((input) => {
      const text = raw.cells.get(input.name) ?? '';
      const cell = compileCell(text, input.type, this.cel, phase);
      if ('offset' in cell) {
        fail(input.name, cell.offset, cell.message);
        return undefined;
      }
      return cell;
    });
    const out = (name: string) => (outputs.includes(name as never) ? (raw.cells.get(name) ?? '').trim() : '');
    if (aggregation) {
      const value = aggregatedValue(out, aggregation, fail);
      return this.finishRow(before, raw, number, cells, out, fail, { action: 'none', effects: [], value });
    }
    const action = out('action') || 'none';
    const effects: CompiledEffect[] = [];
    const message = (): MessageTemplate | undefined => {
      const text = out('message');
      if (!text) {
        fail('message', 0, `a ${action} row needs a message`);
        return undefined;
      }
      const t = compileTemplate(text, this.cel, phase);
      if ('offset' in t) {
        fail('message', t.offset, t.message);
        return undefined;
      }
      return t;
    };
    switch (action) {
      case 'deny': {
        const group = groupSchema.safeParse(out('group'));
        if (!group.success) fail('group', 0, `'${out('group')}' must be one of CO, PR, OA, PI, CR`);
        const carc = out('carc');
        if (!/^([1-9][0-9]{0,3}|[A-D][0-9]{1,2}|P[0-9]{1,2}|W[0-9])$/.test(carc))
          fail('carc', 0, `'${carc}' is not a CARC code`);
        const rarc = out('rarc');
        if (rarc && !/^(M|N|MA)[0-9]{1,4}$/.test(rarc)) fail('rarc', 0, `'${rarc}' is not a RARC code`);
        const m = message();
        if (group.success && m) {
          effects.push({
            kind: 'deny',
            group: group.data as AdjustmentGroup,
            carc,
            rarc: rarc || undefined,
            message: m,
          });
        }
        break;
      }
      case 'pend': {
        const reason = out('reason');
        if (!/^[a-z][a-z0-9-]*$/.test(reason))
          fail('reason', 0, `'${reason}' must be a lower-case reason name`);
        const rarc = out('rarc');
        const m = message();
        if (m) effects.push({ kind: 'pend', reason, rarc: rarc || undefined, message: m });
        break;
      }
      case 'signal':
      case 'none':
        break;
      default:
        fail('action', 0, `'${action}' must be deny, pend, signal or none`);
    }
    const signal = out('signal');
    if (signal) {
      const weight = Number(out('weight'));
      if (!/^[a-z][a-z0-9-]*$/.test(signal))
        fail('signal', 0, `'${signal}' must be a lower-case signal name`);
      if (!Number.isInteger(weight) || weight < 0 || weight > 1000)
        fail('weight', 0, `'${out('weight')}' must be a whole number 0..1000`);
      effects.push({ kind: 'signal', name: signal, weight, evidence: [] });
    } else if (action === 'signal') {
      fail('signal', 0, 'a signal row needs a signal name and weight');
    }
    return this.finishRow(before, raw, number, cells, out, fail, {
      action: action as CompiledRow['action'],
      effects,
    });
  }

  /** The row with its window, unless it or one of its cells had a problem since `before`. */
  private finishRow(
    before: number,
    raw: RawRow,
    number: number,
    cells: readonly (CompiledRow['cells'][number] | undefined)[],
    out: (name: string) => string,
    fail: (column: string, offset: number, message: string) => void,
    outputs: Pick<CompiledRow, 'action' | 'effects' | 'value'>,
  ): CompiledRow | undefined {
    const window = rowWindow(out, fail);
    if (this.issues.length > before || cells.some((c) => c === undefined)) return undefined;
    return { number, source: raw.source, cells: cells as CompiledRow['cells'], window, ...outputs };
  }
}

/** An aggregated table's row has no effects of its own, just the value its output contributes. */
function aggregatedValue(
  out: (name: string) => string,
  aggregation: NonNullable<CompiledDecisionTable['aggregation']>,
  fail: (column: string, offset: number, message: string) => void,
): number | undefined {
  if (!numericOutputColumns.includes(aggregation.output as never)) return undefined;
  const text = out(aggregation.output);
  const [min, max] = aggregation.output === 'weight' ? [0, 1000] : [-1000, 1000];
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    fail(aggregation.output, 0, `'${text}' must be a whole number ${min}..${max}`);
  return value;
}

/** A row's effective window from its effectiveFrom/effectiveTo outputs (empty when invalid: `fail` says why). */
function rowWindow(
  out: (name: string) => string,
  fail: (column: string, offset: number, message: string) => void,
): Window {
  const window = effectiveSchema.safeParse({
    ...(out('effectiveFrom') ? { from: out('effectiveFrom') } : {}),
    ...(out('effectiveTo') ? { to: out('effectiveTo') } : {}),
  });
  if (!window.success) {
    fail(
      out('effectiveFrom') ? 'effectiveFrom' : 'effectiveTo',
      0,
      'effective dates must be YYYY-MM-DD, from ≤ to',
    );
    return {};
  }
  return { from: window.data.from, to: window.data.to };
}

/**
 * Loads a rule set from in-memory files (paths relative to the rule-set root, which holds
 * ruleset.yaml), read through `readers`. Throws RuleSetError listing every located problem.
 * loader.ts reads YAML with cel-js; a Lambda bundle reads what synth recorded.
 */
export function loadRuleSetWith(
  files: readonly RuleSetFile[],
  readers: RuleSetReaders,
  options: LoadOptions = {},
): RuleSet {
  const loader = new Loader(files, readers, options);
  const ruleSet = loader.load();
  if (!ruleSet || loader.issues.length > 0) throw new RuleSetError(loader.issues);
  return ruleSet;
}
