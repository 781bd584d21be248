import * as z from '#functions/zod.ts';
import type { Aggregation } from './rule-model.ts';
import { tableKinds } from './tables.ts';

/**
 * The rule-file format (YAML), validated with zod. Strict objects throughout: a misspelt key
 * in a rule file is an error, never silently ignored.
 */

const isoDay = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD'),
  z.refine((s: string) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a calendar date'),
);

/** Date-of-service window a rule, table or row applies in (inclusive; open when absent). */
export const effectiveSchema = z.strictObject({ from: z.optional(isoDay), to: z.optional(isoDay) }).check(
  z.refine((w) => w.from === undefined || w.to === undefined || w.from <= w.to, {
    message: "'to' is before 'from'",
  }),
);

const name = z
  .string()
  .check(z.regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and "-" (like fee-schedule)'));
const ruleId = z
  .string()
  .check(
    z.regex(
      /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/,
      'must be dotted lower-case words (like coding.mue-units)',
    ),
  );
// `when: true` and `amount: 0` are YAML booleans and numbers; as CEL they mean the same text.
// (zod/mini has no z.preprocess: a transform piped into the schema is what it builds.)
const cel = z.pipe(
  z.transform((v: unknown) => (typeof v === 'boolean' || typeof v === 'number' ? String(v) : v)),
  z.string().check(z.minLength(1, 'must not be empty')),
);
export const groupSchema = z.enum(['CO', 'PR', 'OA', 'PI', 'CR']);
const carc = z
  .string()
  .check(z.regex(/^([1-9][0-9]{0,3}|[A-D][0-9]{1,2}|P[0-9]{1,2}|W[0-9])$/, 'is not a CARC code'));
const rarc = z.string().check(z.regex(/^(M|N|MA)[0-9]{1,4}$/, 'is not a RARC code (like N20, M51, MA130)'));

export const phaseSchema = z.enum(['claim', 'edit', 'price', 'benefit']);

const denySchema = z.strictObject({
  group: groupSchema,
  carc,
  rarc: z.optional(rarc),
  message: z.string().check(z.minLength(1)),
});
const pendSchema = z.strictObject({
  reason: name,
  rarc: z.optional(rarc),
  message: z.string().check(z.minLength(1)),
});
const signalSchema = z.strictObject({
  name,
  weight: z.number().check(z.int(), z.gte(0), z.lte(1000)),
  evidence: z.optional(
    z.record(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be a plain word')), cel),
  ),
});
const allowSchema = z.strictObject({
  amount: cel,
  group: z._default(groupSchema, 'CO'),
  carc: z._default(carc, '45'),
  rarc: z.optional(rarc),
  message: z._default(z.string().check(z.minLength(1)), 'Charge exceeds the fee schedule amount'),
});
const adjustSchema = z.strictObject({
  amount: cel,
  group: groupSchema,
  carc,
  rarc: z.optional(rarc),
  message: z.string().check(z.minLength(1)),
  accumulate: z._default(z.array(z.enum(['deductible', 'outOfPocket'])), []),
});

const cellSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Output columns a decision-table row may set; together they make the row's effect. */
export const tableOutputColumns = [
  'action',
  'group',
  'carc',
  'rarc',
  'reason',
  'message',
  'signal',
  'weight',
  'score',
  'effectiveFrom',
  'effectiveTo',
] as const;

/** Output columns that hold numbers (what SUM, MIN and MAX aggregate). */
export const numericOutputColumns: readonly (typeof tableOutputColumns)[number][] = ['weight', 'score'];

const dmnMarks: Readonly<Record<string, Aggregation>> = {
  'C+': 'SUM',
  'C<': 'MIN',
  'C>': 'MAX',
  'C#': 'COUNT',
};

/** DMN COLLECT aggregators, by name or by DMN's own marks (C+, C<, C>, C#). */
const aggregationNames = z.enum(['SUM', 'MIN', 'MAX', 'COUNT', 'C+', 'C<', 'C>', 'C#']);
const aggregationSchema = z.pipe(
  aggregationNames,
  z.transform((a: z.output<typeof aggregationNames>): Aggregation => dmnMarks[a] ?? (a as Aggregation)),
);

const decisionTableSchema = z
  .strictObject({
    hitPolicy: z.enum(['UNIQUE', 'FIRST', 'PRIORITY', 'COLLECT']),
    /**
     * COLLECT only: the matching rows' single output reduced to one number (DMN C+, C<, C>,
     * C#), which raises the one signal named by `signal`, weighted by that number.
     */
    aggregation: z.optional(aggregationSchema),
    /** The signal an aggregated table raises. */
    signal: z.optional(name),
    /** Declares that every combination of inputs matches a row; checked at load time. */
    complete: z._default(z.boolean(), false),
    inputs: z
      .array(
        z.strictObject({
          name: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be a word (letters, digits, "-")')),
          expr: cel,
          /** The finite set of values this input takes, for the completeness check. */
          values: z.optional(z.array(z.union([z.string(), z.number(), z.boolean()]))),
        }),
      )
      .check(z.minLength(1)),
    outputs: z.array(z.enum(tableOutputColumns)).check(z.minLength(1)),
    /** PRIORITY: actions from highest to lowest priority (DMN output-value order). */
    priority: z._default(z.array(z.enum(['deny', 'pend', 'signal', 'none'])), [
      'deny',
      'pend',
      'signal',
      'none',
    ]),
    rows: z.optional(z.array(z.union([z.array(cellSchema), z.record(z.string(), cellSchema)]))),
    file: z.optional(z.string()),
  })
  .check(
    z.refine((t) => (t.rows === undefined) !== (t.file === undefined), {
      message: "give either 'rows' or 'file' (a CSV), not both",
    }),
  );

export const ruleSchema = z
  .strictObject({
    id: ruleId,
    description: z.string().check(z.minLength(1)),
    phase: z.optional(phaseSchema),
    effective: z.optional(effectiveSchema),
    when: z.optional(cel),
    deny: z.optional(denySchema),
    pend: z.optional(pendSchema),
    signal: z.optional(signalSchema),
    allow: z.optional(allowSchema),
    adjust: z.optional(adjustSchema),
    visit: z.optional(z.literal(true)),
    table: z.optional(decisionTableSchema),
  })
  .check(
    z.superRefine((r, ctx) => {
      const effects = (['deny', 'pend', 'signal', 'allow', 'adjust', 'visit'] as const).filter(
        (k) => r[k] !== undefined,
      );
      if (r.table !== undefined && (effects.length > 0 || r.when !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: "a rule with a decision 'table' takes its effects from the table rows",
        });
      }
      if (r.table === undefined && effects.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'a rule needs an effect: deny, pend, signal, allow, adjust or visit',
        });
      }
      if (r.deny !== undefined && r.pend !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'a rule either denies or pends, not both' });
      }
    }),
  );

export const ruleFileSchema = z.strictObject({
  /** Phase of every rule in the file unless a rule says otherwise. */
  phase: z._default(phaseSchema, 'edit'),
  rules: z.array(z.unknown()).check(z.minLength(1)),
});

export const tableDeclSchema = z
  .strictObject({
    name,
    kind: z.enum(tableKinds as unknown as [string, ...string[]]),
    description: z.optional(z.string()),
    file: z.optional(z.string()),
    // Unquoted codes (99213) are YAML numbers; they mean the code.
    codes: z.optional(
      z.array(
        z.pipe(
          z.transform((v: unknown) => (typeof v === 'number' ? String(v) : v)),
          z.string().check(z.regex(/^[A-Za-z0-9.]{1,10}$/, 'is not a code')),
        ),
      ),
    ),
    values: z.optional(z.record(z.string(), z.number().check(z.int()))),
    default: z.optional(z.number().check(z.int())),
    effective: z.optional(effectiveSchema),
  })
  .check(
    z.superRefine((t, ctx) => {
      const sources = [t.file, t.codes, t.values].filter((x) => x !== undefined).length;
      if (sources !== 1)
        ctx.addIssue({ code: 'custom', message: "give exactly one of 'file', 'codes' or 'values'" });
      if (t.codes !== undefined && t.kind !== 'codeList') {
        ctx.addIssue({ code: 'custom', message: "inline 'codes' are for codeList tables" });
      }
      if ((t.values !== undefined || t.default !== undefined) && t.kind !== 'codeValues') {
        ctx.addIssue({ code: 'custom', message: "'values' and 'default' are for codeValues tables" });
      }
    }),
  );

export const manifestSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  version: z.pipe(z.union([z.string(), z.number()]), z.transform(String)),
  description: z.optional(z.string()),
  fraud: z.strictObject({ threshold: z.number().check(z.int(), z.gte(0)) }),
  params: z._default(
    z.record(
      z.string().check(z.regex(/^[a-z][A-Za-z0-9]*$/, 'must be a camelCase word')),
      z.union([z.number(), z.string(), z.boolean()]),
    ),
    {},
  ),
  /** Rule files, evaluated in this order within each phase. */
  files: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  tables: z._default(z.array(z.unknown()), []),
});

export type RuleDoc = z.infer<typeof ruleSchema>;
export type DecisionTableDoc = NonNullable<RuleDoc['table']>;
export type TableDeclDoc = z.infer<typeof tableDeclSchema>;
export type ManifestDoc = z.infer<typeof manifestSchema>;
export type Effective = z.infer<typeof effectiveSchema>;
