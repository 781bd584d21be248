import type { JournalEntry } from '#journal/entry.ts';
import type { ClaimSubmission } from './claim.schema.ts';
import type { Decision, RuleSetPort } from './decision.ts';
import { AccumulatorConflictError, ConflictError, ForbiddenError } from './errors.ts';
import { claimDocId, contentHash } from './hashing.ts';
import { actingRole, type Identity } from './identity.ts';
import type { KeyedSerializer } from './keyed-serializer.ts';
import {
  ClaimExistsError,
  type ClaimRepositoryPort,
  type Clock,
  type JournalReceipt,
  type StoredClaim,
} from './ports.ts';

export interface SubmitClaimPorts {
  claims: ClaimRepositoryPort;
  ruleSet: RuleSetPort;
  clock: Clock;
  /** Decides one member's claims one at a time within this process (see keyed-serializer.ts). */
  serialize?: KeyedSerializer;
}

export interface SubmitClaimResult {
  /** `replayed` when this exact submission was decided before: the first decision stands. */
  outcome: 'created' | 'replayed';
  claim: StoredClaim;
  receipt: JournalReceipt;
}

// Losing an accumulator race is normal when one member's claims arrive together: each round
// one contender wins, so the others retry after a jittered, growing pause (≤ 250 ms) until a
// deadline that leaves the request inside the function's 10 s timeout.
const RETRY_DEADLINE_MS = 7_000;
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 10 * 2 ** attempt)));

/**
 * Decides a provider's claim: authorize, idempotency, gather facts, evaluate, then one atomic
 * write of claim + accumulators + journal entry. Losing an accumulator race re-gathers facts
 * and re-evaluates, so no two claims consume the same deductible dollars.
 */
export async function submitClaim(
  submission: ClaimSubmission,
  identity: Identity,
  ports: SubmitClaimPorts,
): Promise<SubmitClaimResult> {
  if (!identity.roles.includes('provider') || !identity.npis.includes(submission.billingProviderNpi)) {
    throw new ForbiddenError(
      `This client may not submit claims for billing provider NPI ${submission.billingProviderNpi}.`,
    );
  }
  const decide = () => decideNew(submission, identity, ports);
  return ports.serialize ? ports.serialize(submission.memberId, decide) : decide();
}

async function decideNew(
  submission: ClaimSubmission,
  identity: Identity,
  ports: SubmitClaimPorts,
): Promise<SubmitClaimResult> {
  const id = claimDocId(submission.billingProviderNpi, submission.claimId);
  const bodyHash = contentHash(submission);

  const existing = await ports.claims.find(id);
  if (existing) return replay(existing, bodyHash, ports.claims);

  const deadline = Date.now() + RETRY_DEADLINE_MS;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const facts = await ports.claims.gatherFacts(submission);
    const decision = ports.ruleSet.evaluate(submission, facts);
    const now = ports.clock();
    const claim: StoredClaim = {
      id,
      revision: 1,
      status: decision.outcome,
      bodyHash,
      submission,
      decision,
      submittedBy: identity.sub,
      createdAt: now,
      updatedAt: now,
      journalKey: `claim.decided/${id}/1`,
    };
    try {
      const receipt = await ports.claims.saveDecided(claim, facts, decidedEntry(claim, identity, now));
      return { outcome: 'created', claim, receipt };
    } catch (error: unknown) {
      if (error instanceof AccumulatorConflictError) {
        await backoff(attempt);
        continue;
      }
      if (error instanceof ClaimExistsError) {
        // The same claim raced in from a concurrent retry: answer as a retry would.
        const winner = await ports.claims.find(id);
        if (winner) return replay(winner, bodyHash, ports.claims);
      }
      throw error;
    }
  }
  throw new ConflictError(
    'The member’s benefit accumulators kept changing under concurrent claims; submit the claim again.',
  );
}

async function replay(
  existing: StoredClaim,
  bodyHash: string,
  claims: ClaimRepositoryPort,
): Promise<SubmitClaimResult> {
  if (existing.bodyHash !== bodyHash) {
    throw new ConflictError(
      `Claim ${existing.submission.claimId} was already submitted with different content; use a new claim id for a corrected claim.`,
    );
  }
  const receipt = await claims.receipt(existing.journalKey);
  if (!receipt) throw new Error(`claim ${existing.id} has no journal entry`);
  return { outcome: 'replayed', claim: existing, receipt };
}

/** The journal entry of a decision: what was decided, under which rules, for whom. */
function decidedEntry(claim: StoredClaim, identity: Identity, at: string): JournalEntry {
  const { submission, decision } = claim;
  return {
    type: 'claim.decided',
    docId: `claim/${claim.id}`,
    docRevision: claim.revision,
    ruleSetHash: decision.ruleSetHash,
    actor: { sub: identity.sub, role: actingRole(identity) },
    at,
    payload: {
      claimId: submission.claimId,
      billingProviderNpi: submission.billingProviderNpi,
      memberId: submission.memberId,
      submissionHash: claim.bodyHash,
      ...decisionSummary(decision),
    },
  };
}

/** The parts of a decision that are journaled (the full trace stays on the claim document). */
export function decisionSummary(decision: Decision) {
  return {
    outcome: decision.outcome,
    totals: decision.totals,
    lines: decision.lines.map((line) => ({
      lineNumber: line.lineNumber,
      status: line.status,
      allowedCents: line.allowedCents,
      paidCents: line.paidCents,
      adjustments: line.adjustments.map((a) => ({
        group: a.group,
        carc: a.carc,
        ...(a.rarc ? { rarc: a.rarc } : {}),
        amountCents: a.amountCents,
        ruleId: a.ruleId,
      })),
    })),
    fraudScore: decision.fraud.score,
    fraudSignals: decision.fraud.signals.map((s) => s.signal),
  };
}
