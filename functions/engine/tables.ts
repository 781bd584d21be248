import { type CsvCell, type CsvRow, CsvSyntaxError, parseCsv } from './csv.ts';
import { inWindow } from './dates.ts';
import type { RuleSetIssue } from './errors.ts';

/** Kinds of reference table a rule set can declare; each has its own CEL lookup function. */
export type TableKind = 'codeList' | 'codeValues' | 'feeSchedule' | 'ptp' | 'mue' | 'excludedProviders';

export const tableKinds: readonly TableKind[] = [
  'codeList',
  'codeValues',
  'feeSchedule',
  'ptp',
  'mue',
  'excludedProviders',
];

/** A date-of-service window; either bound may be open. Inclusive on both ends. */
export interface Window {
  from?: string | undefined;
  to?: string | undefined;
}

interface Dated<T> extends Window {
  value: T;
}

/**
 * Rows keyed by code (or code pair), each effective in its own window. Most keys have one
 * row, so a lookup is one Map get and one window test.
 */
class DatedIndex<T> {
  private readonly rows = new Map<string, Dated<T>[]>();

  add(key: string, row: Dated<T>): void {
    const list = this.rows.get(key);
    if (list) list.push(row);
    else this.rows.set(key, [row]);
  }

  get(key: string, asOf: string): T | undefined {
    const list = this.rows.get(key);
    if (!list) return undefined;
    for (const row of list) if (inWindow(asOf, row.from, row.to)) return row.value;
    return undefined;
  }

  get size(): number {
    return this.rows.size;
  }
}

/**
 * Rows keyed by two codes (code and modifier, or a PTP column pair). Nested maps instead of a
 * joined key: a lookup then builds no string, which made joined keys the costliest part of a
 * PTP or fee lookup.
 */
class PairIndex<T> {
  private readonly rows = new Map<string, Map<string, Dated<T>[]>>();
  private pairs = 0;

  add(first: string, second: string, row: Dated<T>): void {
    let inner = this.rows.get(first);
    if (!inner) {
      inner = new Map();
      this.rows.set(first, inner);
    }
    const list = inner.get(second);
    if (list) list.push(row);
    else {
      inner.set(second, [row]);
      this.pairs++;
    }
  }

  get(first: string, second: string, asOf: string): T | undefined {
    const list = this.rows.get(first)?.get(second);
    if (!list) return undefined;
    for (const row of list) if (inWindow(asOf, row.from, row.to)) return row.value;
    return undefined;
  }

  get size(): number {
    return this.pairs;
  }
}

/** A PTP edit as the CMS file states it. */
export interface PtpEdit {
  /** 0 = no modifier bypasses the edit, 1 = an NCCI-associated modifier may, 9 = not applicable. */
  modifierIndicator: 0 | 1 | 9;
  rationale: string;
}

/** A loaded reference table. `window` bounds the whole table; rows may narrow it further. */
export class ReferenceTable {
  readonly codes = new DatedIndex<true>();
  readonly values = new DatedIndex<number>();
  readonly fees = new PairIndex<number>();
  readonly ptpEdits = new PairIndex<PtpEdit>();
  readonly mueLimits = new DatedIndex<number>();
  readonly exclusions = new DatedIndex<true>();

  constructor(
    readonly name: string,
    readonly kind: TableKind,
    readonly window: Window,
    /** codeValues: the value of a code the table does not list. */
    readonly defaultValue = 0,
  ) {}

  private active(asOf: string): boolean {
    return inWindow(asOf, this.window.from, this.window.to);
  }

  /** Number of distinct keys loaded (codes, pairs, NPIs). */
  get size(): number {
    switch (this.kind) {
      case 'codeList':
        return this.codes.size;
      case 'codeValues':
        return this.values.size;
      case 'feeSchedule':
        return this.fees.size;
      case 'ptp':
        return this.ptpEdits.size;
      case 'mue':
        return this.mueLimits.size;
      default:
        return this.exclusions.size;
    }
  }

  inList(code: string, asOf: string): boolean {
    return this.active(asOf) && this.codes.get(code, asOf) === true;
  }

  codeValue(code: string, asOf: string): number {
    if (!this.active(asOf)) return this.defaultValue;
    return this.values.get(code, asOf) ?? this.defaultValue;
  }

  /** Allowed cents per unit: the first modifier with its own row wins, then the code alone. */
  fee(code: string, modifiers: readonly string[], asOf: string): number | undefined {
    if (!this.active(asOf)) return undefined;
    for (const modifier of modifiers) {
      const hit = this.fees.get(code, modifier, asOf);
      if (hit !== undefined) return hit;
    }
    return this.fees.get(code, '', asOf);
  }

  ptp(column1: string, column2: string, asOf: string): PtpEdit | undefined {
    if (!this.active(asOf)) return undefined;
    return this.ptpEdits.get(column1, column2, asOf);
  }

  mue(code: string, asOf: string): number | undefined {
    if (!this.active(asOf)) return undefined;
    return this.mueLimits.get(code, asOf);
  }

  excluded(npi: string, asOf: string): boolean {
    return this.active(asOf) && this.exclusions.get(npi, asOf) === true;
  }
}

/** Where a table's rows come from: a file's text, or values written inline in the manifest. */
export interface TableSource {
  name: string;
  kind: TableKind;
  window: Window;
  defaultValue?: number | undefined;
  file?: { path: string; text: string } | undefined;
  inlineCodes?: readonly string[] | undefined;
  inlineValues?: Readonly<Record<string, number>> | undefined;
}

type Issues = RuleSetIssue[];

/** Loads a reference table, adding located problems to `issues` instead of throwing. */
export function loadTable(source: TableSource, issues: Issues): ReferenceTable {
  const table = new ReferenceTable(source.name, source.kind, source.window, source.defaultValue ?? 0);
  for (const code of source.inlineCodes ?? []) table.codes.add(code, { value: true });
  for (const [code, value] of Object.entries(source.inlineValues ?? {})) table.values.add(code, { value });
  const file = source.file;
  if (!file) return table;
  const before = issues.length;
  const fail = (line: number, column: number, message: string) =>
    issues.push({ file: file.path, line, column, message });
  if (file.path.endsWith('.json')) {
    loadJsonTable(table, file.path, file.text, issues);
  } else {
    let rows: CsvRow[];
    try {
      const tab = file.path.endsWith('.txt') || file.path.endsWith('.tsv');
      rows = parseCsv(file.text, tab ? '\t' : ',');
    } catch (error: unknown) {
      if (error instanceof CsvSyntaxError) {
        fail(error.line, error.column, error.message);
        return table;
      }
      throw error;
    }
    loadCsvTable(table, rows, file.path, issues);
  }
  if (issues.length === before && table.size === 0) fail(1, 1, `table '${source.name}' has no rows`);
  return table;
}

/** Header names compared loosely: CMS files vary case, spacing and punctuation by quarter. */
const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9*]+/g, ' ')
    .trim();

/** Column finders per kind; the first header a predicate accepts is used. */
type ColumnSpec = Record<string, { required: boolean; match: (header: string) => boolean }>;

const effectiveColumns: ColumnSpec = {
  effectiveFrom: { required: false, match: (h) => h === 'effectivefrom' || h === 'effective from' },
  effectiveTo: { required: false, match: (h) => h === 'effectiveto' || h === 'effective to' },
};

const columnSpecs: Record<TableKind, ColumnSpec> = {
  codeList: { code: { required: true, match: (h) => h === 'code' }, ...effectiveColumns },
  codeValues: {
    code: { required: true, match: (h) => h === 'code' },
    value: { required: true, match: (h) => h === 'value' },
    ...effectiveColumns,
  },
  feeSchedule: {
    code: { required: true, match: (h) => h === 'code' || h === 'hcpcs' || h === 'procedure code' },
    modifier: { required: true, match: (h) => h === 'modifier' || h === 'mod' },
    allowedCents: { required: true, match: (h) => h === 'allowedcents' || h === 'allowed cents' },
    ...effectiveColumns,
  },
  // The official NCCI PTP layout: Column 1, Column 2, "* = In existence prior to 1996",
  // Effective Date, "Deletion Date *=no data", "Modifier 0=not allowed 1=allowed 9=not
  // applicable", PTP Edit Rationale.
  ptp: {
    column1: { required: true, match: (h) => h === 'column 1' || h === 'column1' },
    column2: { required: true, match: (h) => h === 'column 2' || h === 'column2' },
    prior1996: { required: false, match: (h) => h.includes('1996') },
    effective: { required: true, match: (h) => h.startsWith('effective') },
    deletion: { required: true, match: (h) => h.startsWith('deletion') },
    modifier: { required: true, match: (h) => h.startsWith('modifier') },
    rationale: { required: false, match: (h) => h.includes('rationale') },
  },
  // The official MUE layout: "HCPCS/CPT Code", "Practitioner Services MUE Values" (or the
  // facility/DME column), "MUE Adjudication Indicator", "MUE Rationale".
  mue: {
    code: { required: true, match: (h) => h.includes('hcpcs') || h.includes('cpt') || h === 'code' },
    maxUnits: { required: true, match: (h) => h.includes('mue value') || h === 'maxunits' },
    indicator: { required: false, match: (h) => h.includes('adjudication') },
    rationale: { required: false, match: (h) => h.includes('rationale') },
    ...effectiveColumns,
  },
  // The official LEIE layout (UPDATED.csv): NPI, EXCLDATE (YYYYMMDD), REINDATE.
  excludedProviders: {
    npi: { required: true, match: (h) => h === 'npi' },
    excludedFrom: { required: true, match: (h) => h === 'excldate' || h === 'excludedfrom' },
    reinstatedOn: { required: false, match: (h) => h === 'reindate' || h === 'reinstatedon' },
  },
};

// Tables repeat their dates (a quarter's effective date on every MUE row): each is checked once.
const parsedDates = new Map<string, string | null | undefined>();

/** YYYYMMDD (CMS, OIG) or YYYY-MM-DD to ISO; '' / '*' / '00000000' mean "none"; undefined: not a date. */
function parseDate(raw: string): string | null | undefined {
  let parsed = parsedDates.get(raw);
  if (parsed === undefined && !parsedDates.has(raw)) {
    parsed = checkDate(raw);
    if (parsedDates.size < 100_000) parsedDates.set(raw, parsed);
  }
  return parsed;
}

function checkDate(raw: string): string | null | undefined {
  const s = raw.trim();
  if (s === '' || s === '*' || s === '00000000') return null;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  const iso = compact ? `${compact[1]}-${compact[2]}-${compact[3]}` : s;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return undefined;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(iso) ? iso : undefined;
}

/** The day before an ISO date: a deletion or reinstatement date ends the window the day before. */
function dayBefore(iso: string): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

function loadCsvTable(table: ReferenceTable, rows: CsvRow[], path: string, issues: Issues): void {
  const header = rows[0];
  if (!header) return;
  const spec = columnSpecs[table.kind];
  const index: Record<string, number> = {};
  const headers = header.cells.map((c) => norm(c.value));
  for (const [key, col] of Object.entries(spec)) {
    const i = headers.findIndex((h) => col.match(h));
    if (i >= 0) index[key] = i;
    else if (col.required) {
      issues.push({
        file: path,
        line: header.line,
        column: 1,
        message: `a ${table.kind} table needs a '${key}' column (found: ${header.cells.map((c) => c.value).join(', ')})`,
      });
    }
  }
  if (Object.entries(spec).some(([key, col]) => col.required && index[key] === undefined)) return;
  // The helpers read the row in hand: made once, not once per row (tables run to ~10,000 rows,
  // loaded on a function's first request).
  let row = header;
  const cell = (key: string): CsvCell | undefined => {
    const i = index[key];
    return i === undefined ? undefined : row.cells[i];
  };
  const text = (key: string) => cell(key)?.value.trim() ?? '';
  const fail = (key: string, message: string) => {
    const c = cell(key);
    issues.push({ file: path, line: c?.line ?? row.line, column: c?.column ?? 1, message });
  };
  const date = (key: string): string | null | undefined => {
    const parsed = parseDate(text(key));
    if (parsed === undefined) fail(key, `'${text(key)}' is not a date (YYYY-MM-DD or YYYYMMDD)`);
    return parsed;
  };
  const window = (): Window | undefined => {
    const from = index.effectiveFrom === undefined ? null : date('effectiveFrom');
    const to = index.effectiveTo === undefined ? null : date('effectiveTo');
    if (from === undefined || to === undefined) return undefined;
    return { from: from ?? undefined, to: to ?? undefined };
  };
  const integer = (key: string, min: number): number | undefined => {
    const s = text(key);
    const v = Number(s);
    if (s === '' || !Number.isInteger(v) || v < min) {
      fail(key, `'${s}' must be a whole number ≥ ${min}`);
      return undefined;
    }
    return v;
  };
  const code = (key: string): string | undefined => {
    const s = text(key);
    if (!/^[A-Za-z0-9.]{1,10}$/.test(s)) {
      fail(key, `'${s}' is not a code`);
      return undefined;
    }
    return s;
  };
  for (row of rows.slice(1)) {
    if (row.cells.length < header.cells.length) {
      issues.push({
        file: path,
        line: row.line,
        column: 1,
        message: `row has ${row.cells.length} cells, the header has ${header.cells.length}`,
      });
      continue;
    }
    switch (table.kind) {
      case 'codeList': {
        const c = code('code');
        const w = window();
        if (c !== undefined && w) table.codes.add(c, { value: true, ...w });
        break;
      }
      case 'codeValues': {
        const c = code('code');
        const v = integer('value', Number.MIN_SAFE_INTEGER);
        const w = window();
        if (c !== undefined && v !== undefined && w) table.values.add(c, { value: v, ...w });
        break;
      }
      case 'feeSchedule': {
        const c = code('code');
        const modifier = text('modifier');
        if (modifier !== '' && !/^[A-Z0-9]{2}$/.test(modifier)) {
          fail('modifier', `'${modifier}' is not a modifier (two letters or digits, or empty)`);
          break;
        }
        const v = integer('allowedCents', 0);
        const w = window();
        if (c !== undefined && v !== undefined && w) table.fees.add(c, modifier, { value: v, ...w });
        break;
      }
      case 'ptp': {
        const c1 = code('column1');
        const c2 = code('column2');
        const from = date('effective');
        const deleted = date('deletion');
        const m = text('modifier');
        if (m !== '0' && m !== '1' && m !== '9') {
          fail('modifier', `modifier indicator '${m}' must be 0, 1 or 9`);
          break;
        }
        if (c1 === undefined || c2 === undefined || from === undefined || deleted === undefined) break;
        if (from === null) {
          fail('effective', 'a PTP edit needs an effective date');
          break;
        }
        // CMS deletion dates are the first day the edit no longer applies.
        const to = deleted === null ? undefined : dayBefore(deleted);
        table.ptpEdits.add(c1, c2, {
          value: { modifierIndicator: Number(m) as 0 | 1 | 9, rationale: text('rationale') },
          from,
          to,
        });
        break;
      }
      case 'mue': {
        const c = code('code');
        const v = integer('maxUnits', 0);
        const w = window();
        if (c !== undefined && v !== undefined && w) table.mueLimits.add(c, { value: v, ...w });
        break;
      }
      case 'excludedProviders': {
        const npi = text('npi');
        if (!/^\d{10}$/.test(npi)) {
          fail('npi', `'${npi}' is not a 10-digit NPI`);
          break;
        }
        const from = date('excludedFrom');
        const reinstated = index.reinstatedOn === undefined ? null : date('reinstatedOn');
        if (from === undefined || reinstated === undefined) break;
        table.exclusions.add(npi, {
          value: true,
          from: from ?? undefined,
          to: reinstated === null ? undefined : dayBefore(reinstated),
        });
        break;
      }
    }
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * JSON tables in the shapes the shared reference data uses: a code list as an array of
 * codes, MUE as `{code: {maxUnits}}`, excluded providers as `{npi: {date: "MM/YYYY"}}`.
 */
function loadJsonTable(table: ReferenceTable, path: string, text: string, issues: Issues): void {
  let data: unknown;
  const fail = (message: string) => issues.push({ file: path, line: 1, column: 1, message });
  try {
    data = JSON.parse(text);
  } catch (error: unknown) {
    fail(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  switch (table.kind) {
    case 'codeList':
      if (!Array.isArray(data) || !data.every((c) => typeof c === 'string')) {
        fail('a JSON code list must be an array of code strings');
        return;
      }
      for (const code of data as string[]) table.codes.add(code, { value: true });
      return;
    case 'mue':
      if (!isRecord(data)) {
        fail('a JSON MUE table must map each code to {"maxUnits": n}');
        return;
      }
      for (const [code, entry] of Object.entries(data)) {
        const max = isRecord(entry) ? entry.maxUnits : undefined;
        if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
          fail(`entry '${code}': maxUnits must be a whole number ≥ 0`);
          continue;
        }
        table.mueLimits.add(code, { value: max });
      }
      return;
    case 'excludedProviders':
      if (!isRecord(data)) {
        fail('a JSON exclusion list must map each NPI to {"date": "MM/YYYY"}');
        return;
      }
      for (const [npi, entry] of Object.entries(data)) {
        const date = isRecord(entry) ? entry.date : undefined;
        const m = typeof date === 'string' ? /^(\d{2})\/(\d{4})$/.exec(date) : null;
        if (!/^\d{10}$/.test(npi) || !m) {
          fail(`entry '${npi}': needs a 10-digit NPI and a "date" of the form MM/YYYY`);
          continue;
        }
        table.exclusions.add(npi, { value: true, from: `${m[2]}-${m[1]}-01` });
      }
      return;
    default:
      fail(`a ${table.kind} table must be CSV`);
  }
}
