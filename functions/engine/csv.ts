/** One CSV cell with where it starts (1-based), so table errors point at the cell. */
export interface CsvCell {
  value: string;
  line: number;
  column: number;
}

export interface CsvRow {
  line: number;
  cells: CsvCell[];
}

/** A CSV syntax problem (unterminated quote, text after a closing quote). */
export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const endsCell = (c: number, separator: number) => c === separator || c === LF || c === CR;

/**
 * Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) or, with `delimiter: '\t'`,
 * the tab-separated text CMS publishes. Lines starting with `#` are comments, so a derived
 * table can say where it came from; blank lines are skipped.
 */
export function parseCsv(text: string, delimiter = ','): CsvRow[] {
  const separator = delimiter.charCodeAt(0);
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  const n = text.length;
  while (i < n) {
    const rowLine = line;
    if (text[i] === '#') {
      while (i < n && text[i] !== '\n') i++;
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) {
      i += text[i] === '\r' ? 2 : 1;
      line++;
      lineStart = i;
      continue;
    }
    const cells: CsvCell[] = [];
    for (;;) {
      const column = i - lineStart + 1;
      const cellLine = line;
      let value = '';
      if (text.charCodeAt(i) === QUOTE) {
        i++;
        // Whole runs up to the next quote at a time: a quote doubled inside is one quote.
        for (;;) {
          const close = text.indexOf('"', i);
          if (close === -1) throw new CsvSyntaxError('quoted field is never closed', cellLine, column);
          for (let nl = text.indexOf('\n', i); nl !== -1 && nl < close; nl = text.indexOf('\n', nl + 1)) {
            line++;
            lineStart = nl + 1;
          }
          value += text.slice(i, close);
          i = close + 1;
          if (text.charCodeAt(i) !== QUOTE) break;
          value += '"';
          i++;
        }
        if (i < n && !endsCell(text.charCodeAt(i), separator)) {
          throw new CsvSyntaxError('unexpected text after a closing quote', line, i - lineStart + 1);
        }
      } else {
        const start = i;
        while (i < n && !endsCell(text.charCodeAt(i), separator)) i++;
        value = text.slice(start, i);
      }
      cells.push({ value, line: cellLine, column });
      if (i < n && text.charCodeAt(i) === separator) {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    lineStart = i;
    rows.push({ line: rowLine, cells });
  }
  return rows;
}
