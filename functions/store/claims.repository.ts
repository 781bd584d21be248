import { gzipSync } from 'node:zlib';
import type { ClaimSubmission } from '#claims/claim.schema.ts';
import type { AccumulatorDelta, Accumulators, ClaimFacts, PriorClaimLine } from '#claims/decision.ts';
import { AccumulatorConflictError } from '#claims/errors.ts';
import {
  ClaimExistsError,
  type ClaimRepositoryPort,
  type JournalReceipt,
  type StoredClaim,
} from '#claims/ports.ts';
import { openReview } from '#claims/review.ts';
import type { JournalEntry } from '#journal/entry.ts';
import { ClaimReads, claimPk, claimSk } from './claim-reads.ts';
import { daysBefore, HISTORY_DAYS } from './dates.ts';
import type { DocumentClient } from './dynamo.ts';
import type { DocTransactItem, JournalRepository } from './journal.repository.ts';
import { queryAll } from './query-all.ts';
import { accumulatorSk, memberPk, type RecordRepository } from './records.repository.ts';
import { reviewPutItems } from './reviews.repository.ts';
import { failedConditions, isContention } from './transactions.ts';

// Key design of the claims table, in one place (the claim's own key, read by the read
// handlers too, is in claim-reads.ts).

/** The compact line view other claims' rules read (duplicates, velocity, patterns). */
export type CompactLine = Omit<PriorClaimLine, 'claimDocId' | 'billingProviderNpi' | 'memberId'>;

/**
 * The claim's item: the claim itself, its decision compressed, and the attributes of the
 * by-member and by-provider indexes. A review rewrites it whole as the next revision.
 */
export function claimItem(claim: StoredClaim): Record<string, unknown> {
  const { submission } = claim;
  const sort = historySortKey(claim);
  return {
    pk: claimPk(claim.id),
    sk: claimSk,
    id: claim.id,
    revision: claim.revision,
    status: claim.status,
    bodyHash: claim.bodyHash,
    submission,
    // Decisions with full traces can be large and deep: stored compressed, well under 400 KB.
    decisionGz: gzipSync(JSON.stringify(claim.decision)),
    submittedBy: claim.submittedBy,
    createdAt: claim.createdAt,
    updatedAt: claim.updatedAt,
    journalKey: claim.journalKey,
    memberId: submission.memberId,
    memberSort: sort,
    billingProviderNpi: submission.billingProviderNpi,
    providerSort: sort,
    compactLines: compactLines(claim),
  };
}

/**
 * The claim's lines under its member (`MEMBER#<id>`, sorted by first date of service), written
 * in every transaction that writes the claim. The rules' view of prior claims is read from
 * these with a strongly consistent Query, not from the by-member index: an index is eventually
 * consistent, so a claim decided a moment ago (a duplicate resubmitted at once, or the other
 * side of an accumulator race being decided again) could be missing from it and be paid twice.
 */
export function memberClaimItem(claim: StoredClaim): Record<string, unknown> {
  const { submission } = claim;
  return {
    pk: memberClaimsPk(submission.memberId),
    sk: historySortKey(claim),
    id: claim.id,
    memberId: submission.memberId,
    billingProviderNpi: submission.billingProviderNpi,
    compactLines: compactLines(claim),
  };
}

export const memberClaimsPk = (memberId: string) => `MEMBER#${memberId}`;

/** A claim's place in its member's (and provider's) history: first date of service, then id. */
const historySortKey = (claim: StoredClaim) => `${claim.submission.serviceDateFrom}#${claim.id}`;

/**
 * The member's claims version, in the same partition as its claim lines and sorted after them
 * (`~` follows every date), so one consistent Query reads the lines and the version together.
 * Every transaction that writes a claim of the member moves it, conditional on the version its
 * facts were read at: two claims for one member decided at the same time never both commit on
 * the same view of the member's claims, whether or not they touch accumulators (a pended or
 * denied claim does not), and the loser is decided again on a view that holds the winner.
 */
const MEMBER_VERSION_SK = '~version';

export function memberVersionBump(table: string, memberId: string, readVersion?: number): DocTransactItem {
  const key = { pk: memberClaimsPk(memberId), sk: MEMBER_VERSION_SK };
  if (readVersion === undefined) {
    // A write that did not read the lines first (a review action): it still moves the version,
    // so a claim decided concurrently on the old view is decided again.
    return {
      Update: {
        TableName: table,
        Key: key,
        UpdateExpression: 'ADD #v :one',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':one': 1 },
      },
    };
  }
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: 'SET #v = :next',
      ConditionExpression: readVersion === 0 ? 'attribute_not_exists(#v)' : '#v = :read',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: {
        ':next': readVersion + 1,
        ...(readVersion === 0 ? {} : { ':read': readVersion }),
      },
    },
  };
}

function compactLines(claim: StoredClaim): CompactLine[] {
  const { submission, decision } = claim;
  return submission.lines.map((line, i) => ({
    serviceDate: line.serviceDate,
    procedureCode: line.procedureCode,
    modifiers: line.modifiers,
    units: line.units,
    chargeCents: line.chargeCents,
    status: decision.lines[i]?.status ?? 'pended',
  }));
}

/** The accumulator writes of a decision's non-zero deltas, each conditional on the version read. */
export function accumulatorUpdates(
  table: string,
  memberId: string,
  deltas: readonly AccumulatorDelta[],
  read: readonly Accumulators[],
): DocTransactItem[] {
  return deltas
    .filter((d) => d.deductibleCents || d.outOfPocketCents || d.paidCents || d.visits)
    .map((delta) => accumulatorUpdate(table, memberId, delta, read));
}

/** Adds a delta to the accumulator the decision read, only if nobody changed it since. */
function accumulatorUpdate(
  table: string,
  memberId: string,
  delta: AccumulatorDelta,
  read: readonly Accumulators[],
): DocTransactItem {
  const current = read.find((a) => a.coverageId === delta.coverageId && a.planYear === delta.planYear);
  const Key = { pk: memberPk(memberId), sk: accumulatorSk(delta.coverageId, delta.planYear) };
  if (!current) {
    return {
      Put: {
        TableName: table,
        Item: {
          ...Key,
          coverageId: delta.coverageId,
          planYear: delta.planYear,
          deductibleMetCents: delta.deductibleCents,
          outOfPocketMetCents: delta.outOfPocketCents,
          paidCents: delta.paidCents,
          visits: delta.visits,
          version: 1,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
  return {
    Update: {
      TableName: table,
      Key,
      UpdateExpression:
        'SET deductibleMetCents = deductibleMetCents + :d, outOfPocketMetCents = outOfPocketMetCents + :o, paidCents = paidCents + :p, visits = visits + :v, version = :next',
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: {
        ':d': delta.deductibleCents,
        ':o': delta.outOfPocketCents,
        ':p': delta.paidCents,
        ':v': delta.visits,
        ':version': current.version,
        ':next': current.version + 1,
      },
    },
  };
}

export class ClaimRepository extends ClaimReads implements ClaimRepositoryPort {
  /**
   * The member's claims version each facts object was read at, for the conditional write that
   * saves its decision; kept here because it is storage's concern, not the rules'.
   */
  private readonly readVersions = new WeakMap<ClaimFacts, number>();

  constructor(
    client: DocumentClient,
    protected override readonly tables: { claims: string; records: string },
    private readonly records: RecordRepository,
    journal: JournalRepository,
  ) {
    super(client, tables, journal);
  }

  async gatherFacts(claim: ClaimSubmission): Promise<ClaimFacts> {
    const since = daysBefore(claim.serviceDateFrom, HISTORY_DAYS);
    const [coverage, treatments, accumulators, prior] = await Promise.all([
      this.records.findCoverage(claim.memberId),
      this.records.treatments(claim.memberId, since, claim.serviceDateTo),
      this.records.accumulators(claim.memberId),
      this.priorClaimLines(claim.memberId, since),
    ]);
    const facts: ClaimFacts = {
      memberId: claim.memberId,
      member: coverage?.member ?? null,
      coverages: coverage?.coverages ?? [],
      treatments,
      accumulators,
      priorClaimLines: prior.lines,
    };
    this.readVersions.set(facts, prior.version);
    return facts;
  }

  async saveDecided(claim: StoredClaim, facts: ClaimFacts, entry: JournalEntry): Promise<JournalReceipt> {
    const { submission, decision } = claim;
    const claimPut: DocTransactItem = {
      Put: {
        TableName: this.tables.claims,
        Item: claimItem(claim),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const memberPut: DocTransactItem = {
      Put: { TableName: this.tables.claims, Item: memberClaimItem(claim) },
    };
    const memberVersion = memberVersionBump(
      this.tables.claims,
      submission.memberId,
      this.readVersions.get(facts),
    );
    // A pended claim enters the review queue in the same transaction: no pended claim is ever
    // without its review, and no review without its claim.
    const reviewPuts = claim.status === 'pended' ? reviewPutItems(this.tables.claims, openReview(claim)) : [];
    const accumulatorItems = accumulatorUpdates(
      this.tables.records,
      submission.memberId,
      decision.accumulatorDeltas,
      facts.accumulators,
    );
    try {
      return await this.journal.append(claim.journalKey, entry, [
        claimPut,
        memberPut,
        memberVersion,
        ...reviewPuts,
        ...accumulatorItems,
      ]);
    } catch (error: unknown) {
      const failed = failedConditions(error);
      if (failed?.includes(0)) throw new ClaimExistsError(`claim ${claim.id} exists`);
      // A condition on the accumulators failed, or DynamoDB cancelled the transaction for a
      // concurrent one on the same items (TransactionConflict): either way, decide again.
      if (failed?.length || isContention(error)) {
        throw new AccumulatorConflictError(`claims or accumulators of ${submission.memberId} moved`);
      }
      throw error;
    }
  }

  /**
   * The member's claim lines since `since` and the member's claims version, from one strongly
   * consistent Query (see memberClaimItem and MEMBER_VERSION_SK).
   */
  private async priorClaimLines(
    memberId: string,
    since: string,
  ): Promise<{ lines: PriorClaimLine[]; version: number }> {
    const items = await queryAll(this.client, {
      TableName: this.tables.claims,
      KeyConditionExpression: 'pk = :pk AND sk >= :since',
      ExpressionAttributeValues: { ':pk': memberClaimsPk(memberId), ':since': since },
      ProjectionExpression: 'sk, id, billingProviderNpi, memberId, compactLines, version',
      ConsistentRead: true,
    });
    const versionItem = items.find((item) => item.sk === MEMBER_VERSION_SK);
    const lines = items
      .filter((item) => item !== versionItem)
      .flatMap((item) =>
        ((item.compactLines ?? []) as CompactLine[]).map((line) => ({
          claimDocId: String(item.id),
          billingProviderNpi: String(item.billingProviderNpi),
          memberId: String(item.memberId),
          ...line,
        })),
      );
    return { lines, version: versionItem ? Number(versionItem.version) : 0 };
  }
}
