import type { RuleSet } from '#engine/rule-set.ts';
import { parseRecords } from '#engine/test-records.ts';
import * as z from '#functions/zod.ts';
import { claimSubmissionSchema } from './claim.schema.ts';
import type { Decision } from './decision.ts';

/**
 * What rules-admins see of the rule engine through the API: the rule set that is live, where
 * its activation is journaled, and what it would decide for a claim they make up. Activation
 * itself is by deployment (the rule set ships in the bundle), so there is nothing to upload.
 */

/** The journal key of a rule set's activation (app-context.ts journals it on first use). */
export const activationKey = (hash: string) => `ruleset/${hash}`;

/** The one journal lookup the active-rules view needs (JournalRepository implements it). */
export interface ActivationLookupPort {
  /** The receipt of an entry by key; `index` is absent while the entry is still pending. */
  findByKey(key: string): Promise<{ index?: number; leafHash: string } | null>;
}

/**
 * The active rule set as an auditor needs it: identity (name, version, hash), its rules and
 * tables, the fraud threshold, and the journal receipt of its `ruleset.activated` entry, so the
 * claim "these rules were live" can be checked against a signed checkpoint.
 */
export async function activeRules(ruleSet: RuleSet, journal: ActivationLookupPort) {
  const key = activationKey(ruleSet.hash);
  const receipt = await journal.findByKey(key);
  return {
    name: ruleSet.name,
    version: ruleSet.version,
    description: ruleSet.description,
    hash: ruleSet.hash,
    fraudThreshold: ruleSet.fraudThreshold,
    rules: ruleSet.rules.map(({ id, phase, description, effective }) => ({
      id,
      phase,
      description,
      // Only effective-dated rules say when they apply; the rest apply to every date of service.
      ...(effective.from !== undefined || effective.to !== undefined ? { effective } : {}),
    })),
    tables: ruleSet.tables.map((table) => ({ name: table.name, kind: table.kind, entries: table.entries })),
    // Null only if the entry is missing (a journal restored without it): the view says so
    // rather than inventing a receipt.
    activation: receipt === null ? null : { key, index: receipt.index ?? null, leafHash: receipt.leafHash },
  };
}

// The records a simulation supplies are bounded before they are parsed: a 1 MB body of empty
// objects would otherwise become a 422 listing hundreds of thousands of errors, and nesting
// deeper than any record goes would recurse through the parser. Coverages are capped as
// PUT /members/{memberId}/coverage caps them; the rest well above what one member gathers.
const MAX_RECORDS_DEPTH = 8;
const recordBounds = z.looseObject({
  coverages: z.optional(z.array(z.unknown()).check(z.maxLength(20))),
  treatments: z.optional(z.array(z.unknown()).check(z.maxLength(1_000))),
  accumulators: z.optional(z.array(z.unknown()).check(z.maxLength(100))),
  priorClaimLines: z.optional(z.array(z.unknown()).check(z.maxLength(5_000))),
});

/** True when no object or array in `value` is nested more than `depth` levels deep. */
function nestedWithin(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth === 0) return false;
  return Object.values(value).every((v) => nestedWithin(v, depth - 1));
}

/**
 * parseRecords reports `dotted.path: message`; its schema is strict objects and arrays only,
 * so a segment is a known field name or an index and never contains ": ".
 */
function recordIssue(error: string): { path: (string | number)[]; message: string } {
  const at = error.indexOf(': ');
  const where = error.slice(0, at);
  const path = where === '(records)' ? [] : where.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  return { path, message: error.slice(at + 2) };
}

const recordsField = z._default(z.unknown(), {}).check(
  z.superRefine((raw, ctx) => {
    const bounded = recordBounds.safeParse(raw);
    if (!bounded.success) {
      for (const issue of bounded.error.issues) {
        ctx.addIssue({ code: 'custom', path: issue.path as (string | number)[], message: issue.message });
      }
      return;
    }
    if (!nestedWithin(raw, MAX_RECORDS_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `is nested deeper than ${MAX_RECORDS_DEPTH} levels` });
      return;
    }
    // The member id only fills facts.memberId; it does not change what is valid.
    const parsed = parseRecords(raw, '');
    if (!parsed.ok)
      for (const error of parsed.errors) ctx.addIssue({ code: 'custom', ...recordIssue(error) });
  }),
);

/**
 * Body of POST /rules/simulate: a claim as a provider submits it and the records the claim
 * path would gather for it (member, coverages, treatments, accumulators, priorClaimLines), in
 * the shape rule tests use. Records may be omitted: the claim is then decided for a member
 * with no records at all.
 */
const simulationBody = z.strictObject({ claim: claimSubmissionSchema, records: recordsField });
export const simulationRequestSchema = z.pipe(
  simulationBody,
  z.transform((body: z.output<typeof simulationBody>, ctx) => {
    const parsed = parseRecords(body.records, body.claim.memberId);
    if (!parsed.ok) {
      // Unreachable: recordsField has already accepted these records. (zod/mini's transform
      // context has no addIssue: the issue is pushed as classic zod's addIssue would push it.)
      ctx.issues.push({ code: 'custom', path: ['records'], message: 'are not valid records', input: body });
      return z.NEVER;
    }
    return { claim: body.claim, facts: parsed.facts };
  }),
);

export type SimulationRequest = z.infer<typeof simulationRequestSchema>;

export interface SimulationResult {
  ruleSet: { name: string; version: string; hash: string };
  /** The decision, trace included, exactly as POST /claims would have stored it. */
  decision: Decision;
}

/**
 * What the active rule set would decide for `claim` given `facts`. Pure: the engine is a
 * function of (claim, facts, rule set), so nothing is read, stored or journaled, and no
 * accumulator moves. An expression that fails pends the claim (engine-error); it never throws.
 */
export function simulateClaim(ruleSet: RuleSet, request: SimulationRequest): SimulationResult {
  return {
    ruleSet: { name: ruleSet.name, version: ruleSet.version, hash: ruleSet.hash },
    decision: ruleSet.evaluate(request.claim, request.facts),
  };
}
