import { z } from 'zod';
import type { Aggregation } from './rule-model.ts';
import { tableKinds } from './tables.ts';

/**
 * The rule-file format (YAML), validated with zod. Strict objects throughout: a misspelt key
 * in a rule file is an error, never silently ignored.
 */

const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a calendar date');

/** Date-of-service window a rule, table or row applies in (inclusive; open when absent). */
export const effectiveSchema = z
  .strictObject({ from: isoDay.optional(), to: isoDay.optional() })
  .refine((w) => w.from === undefined || w.to === undefined || w.from <= w.to, {
    message: "'to' is before 'from'",
  });

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and "-" (like fee-schedule)');
const ruleId = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/,
    'must be dotted lower-case words (like coding.mue-units)',
  );
// `when: true` and `amount: 0` are YAML booleans and numbers; as CEL they mean the same text.
const cel = z.preprocess(
  (v) => (typeof v === 'boolean' || typeof v === 'number' ? String(v) : v),
  z.string().min(1, 'must not be empty'),
);
export const groupSchema = z.enum(['CO', 'PR', 'OA', 'PI', 'CR']);
const carc = z.string().regex(/^([1-9][0-9]{0,3}|[A-D][0-9]{1,2}|P[0-9]{1,2}|W[0-9])$/, 'is not a CARC code');
const rarc = z.string().regex(/^(M|N|MA)[0-9]{1,4}$/, 'is not a RARC code (like N20, M51, MA130)');

export const phaseSchema = z.enum(['claim', 'edit', 'price', 'benefit']);

const denySchema = z.strictObject({
  group: groupSchema,
  carc,
  rarc: rarc.optional(),
  message: z.string().min(1),
});
const pendSchema = z.strictObject({
  reason: name,
  rarc: rarc.optional(),
  message: z.string().min(1),
});
const signalSchema = z.strictObject({
  name,
  weight: z.number().int().min(0).max(1000),
  evidence: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be a plain word'), cel).optional(),
});
const allowSchema = z.strictObject({
  amount: cel,
  group: groupSchema.default('CO'),
  carc: carc.default('45'),
  rarc: rarc.optional(),
  message: z.string().min(1).default('Charge exceeds the fee schedule amount'),
});
const adjustSchema = z.strictObject({
  amount: cel,
  group: groupSchema,
  carc,
  rarc: rarc.optional(),
  message: z.string().min(1),
  accumulate: z.array(z.enum(['deductible', 'outOfPocket'])).default([]),
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
const aggregationSchema = z
  .enum(['SUM', 'MIN', 'MAX', 'COUNT', 'C+', 'C<', 'C>', 'C#'])
  .transform((a): Aggregation => dmnMarks[a] ?? (a as Aggregation));

const decisionTableSchema = z
  .strictObject({
    hitPolicy: z.enum(['UNIQUE', 'FIRST', 'PRIORITY', 'COLLECT']),
    /**
     * COLLECT only: the matching rows' single output reduced to one number (DMN C+, C<, C>,
     * C#), which raises the one signal named by `signal`, weighted by that number.
     */
    aggregation: aggregationSchema.optional(),
    /** The signal an aggregated table raises. */
    signal: name.optional(),
    /** Declares that every combination of inputs matches a row; checked at load time. */
    complete: z.boolean().default(false),
    inputs: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be a word (letters, digits, "-")'),
          expr: cel,
          /** The finite set of values this input takes, for the completeness check. */
          values: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
        }),
      )
      .min(1),
    outputs: z.array(z.enum(tableOutputColumns)).min(1),
    /** PRIORITY: actions from highest to lowest priority (DMN output-value order). */
    priority: z.array(z.enum(['deny', 'pend', 'signal', 'none'])).default(['deny', 'pend', 'signal', 'none']),
    rows: z.array(z.union([z.array(cellSchema), z.record(z.string(), cellSchema)])).optional(),
    file: z.string().optional(),
  })
  .refine((t) => (t.rows === undefined) !== (t.file === undefined), {
    message: "give either 'rows' or 'file' (a CSV), not both",
  });

export const ruleSchema = z
  .strictObject({
    id: ruleId,
    description: z.string().min(1),
    phase: phaseSchema.optional(),
    effective: effectiveSchema.optional(),
    when: cel.optional(),
    deny: denySchema.optional(),
    pend: pendSchema.optional(),
    signal: signalSchema.optional(),
    allow: allowSchema.optional(),
    adjust: adjustSchema.optional(),
    visit: z.literal(true).optional(),
    table: decisionTableSchema.optional(),
  })
  .superRefine((r, ctx) => {
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
  });

export const ruleFileSchema = z.strictObject({
  /** Phase of every rule in the file unless a rule says otherwise. */
  phase: phaseSchema.default('edit'),
  rules: z.array(z.unknown()).min(1),
});

export const tableDeclSchema = z
  .strictObject({
    name,
    kind: z.enum(tableKinds as unknown as [string, ...string[]]),
    description: z.string().optional(),
    file: z.string().optional(),
    // Unquoted codes (99213) are YAML numbers; they mean the code.
    codes: z
      .array(
        z.preprocess(
          (v) => (typeof v === 'number' ? String(v) : v),
          z.string().regex(/^[A-Za-z0-9.]{1,10}$/, 'is not a code'),
        ),
      )
      .optional(),
    values: z.record(z.string(), z.number().int()).optional(),
    default: z.number().int().optional(),
    effective: effectiveSchema.optional(),
  })
  .superRefine((t, ctx) => {
    const sources = [t.file, t.codes, t.values].filter((x) => x !== undefined).length;
    if (sources !== 1)
      ctx.addIssue({ code: 'custom', message: "give exactly one of 'file', 'codes' or 'values'" });
    if (t.codes !== undefined && t.kind !== 'codeList') {
      ctx.addIssue({ code: 'custom', message: "inline 'codes' are for codeList tables" });
    }
    if ((t.values !== undefined || t.default !== undefined) && t.kind !== 'codeValues') {
      ctx.addIssue({ code: 'custom', message: "'values' and 'default' are for codeValues tables" });
    }
  });

export const manifestSchema = z.strictObject({
  name: z.string().min(1),
  version: z.union([z.string(), z.number()]).transform(String),
  description: z.string().optional(),
  fraud: z.strictObject({ threshold: z.number().int().min(0) }),
  params: z
    .record(
      z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'must be a camelCase word'),
      z.union([z.number(), z.string(), z.boolean()]),
    )
    .default({}),
  /** Rule files, evaluated in this order within each phase. */
  files: z.array(z.string().min(1)).min(1),
  tables: z.array(z.unknown()).default([]),
});

export type RuleDoc = z.infer<typeof ruleSchema>;
export type DecisionTableDoc = NonNullable<RuleDoc['table']>;
export type TableDeclDoc = z.infer<typeof tableDeclSchema>;
export type ManifestDoc = z.infer<typeof manifestSchema>;
export type Effective = z.infer<typeof effectiveSchema>;
