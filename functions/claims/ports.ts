import type { JournalEntry } from '#journal/entry.ts';
import type { ClaimSubmission } from './claim.schema.ts';
import type { ClaimFacts, Decision, Outcome } from './decision.ts';
import type { MemberCoverage, TreatmentRecord } from './records.schema.ts';
import type { ReviewStatus, StoredReview } from './review.ts';

/** Where an entry landed in the journal: enough to ask for its inclusion proof. */
export interface JournalReceipt {
  index: number;
  leafHash: string;
  key: string;
}

export type ClaimStatus = Outcome;

/** A claim as stored: the submission, its current decision and where it was journaled. */
export interface StoredClaim {
  id: string;
  revision: number;
  status: ClaimStatus;
  bodyHash: string;
  submission: ClaimSubmission;
  decision: Decision;
  submittedBy: string;
  createdAt: string;
  updatedAt: string;
  journalKey: string;
}

/** Storage as the claim use cases need it. Implemented over DynamoDB in functions/store. */
export interface ClaimRepositoryPort {
  find(id: string): Promise<StoredClaim | null>;
  /** Coverage, treatment records, accumulators and prior claims, read before evaluation. */
  gatherFacts(claim: ClaimSubmission): Promise<ClaimFacts>;
  /**
   * One atomic write: the claim, its accumulator updates (conditional on the versions in
   * `facts`), its review-queue item when the claim is pended (see review.ts `openReview`) and
   * its journal entry. Throws AccumulatorConflictError when another claim moved the
   * accumulators first, ClaimExistsError when the claim id is already taken.
   */
  saveDecided(claim: StoredClaim, facts: ClaimFacts, entry: JournalEntry): Promise<JournalReceipt>;
  receipt(journalKey: string): Promise<JournalReceipt | null>;
}

/** What the read use cases need of the claims store. */
export type ClaimReadPort = Pick<ClaimRepositoryPort, 'find' | 'receipt'>;

export interface StoredCoverage extends MemberCoverage {
  memberId: string;
  revision: number;
  updatedAt: string;
}

export interface RecordRepositoryPort {
  findCoverage(memberId: string): Promise<StoredCoverage | null>;
  /** Writes the coverage if its revision is still `expectedRevision`, with its journal entry. */
  saveCoverage(
    coverage: StoredCoverage,
    expectedRevision: number,
    entry: JournalEntry,
  ): Promise<JournalReceipt>;
  findTreatment(memberId: string, recordId: string): Promise<(TreatmentRecord & { bodyHash: string }) | null>;
  saveTreatment(record: TreatmentRecord, bodyHash: string, entry: JournalEntry): Promise<JournalReceipt>;
}

export type Clock = () => string;

export class ClaimExistsError extends Error {
  override name = 'ClaimExistsError';
}

/** A write lost a race on a record's revision; the caller reloads and decides again. */
export class RevisionConflictError extends Error {
  override name = 'RevisionConflictError';
}

/** A sequenced journal entry as stored: its canonical JSON text and leaf hash (hex). */
export interface SequencedEntry {
  index: number;
  key: string;
  leafHash: string;
  entry: string;
}

/** A signed checkpoint: a C2SP signed note over (origin, size, root). */
export interface PublishedCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  note: string;
}

/**
 * The journal as its readers need it. Sizes past the integrated tree are refused with a
 * {@link TreeRangeError}-like error by the proofs; the use cases check ranges first.
 */
export interface JournalReadPort {
  latestCheckpoint(): Promise<PublishedCheckpoint | null>;
  /** Number of entries in the integrated Merkle tree (proofs exist up to this size). */
  treeSize(): Promise<number>;
  entries(indices: number[]): Promise<SequencedEntry[]>;
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
  /** Inclusion proofs of several entries in one tree, read together. */
  inclusionProofs(indices: number[], size: number): Promise<Uint8Array[][]>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
  /** Every entry about one document, by revision; `index` is absent while still pending. */
  documentEntries(docId: string): Promise<{ key: string; index?: number; leafHash: string }[]>;
}

/** Filters of the review queue; `status` and `limit` always set (defaults applied by the caller). */
export interface ReviewQuery {
  status: ReviewStatus;
  /** Only reviews whose fraud score is at least this. */
  minScore?: number;
  /** Only reviews with this fraud signal. */
  signal?: string;
  /** Billing provider NPI. */
  provider?: string;
  member?: string;
  /** Pended on or after this ISO date (UTC). */
  from?: string;
  /** Pended on or before this ISO date (UTC). */
  to?: string;
  limit: number;
  /** Opaque, from the previous page; bound to the same filters. */
  cursor?: string;
}

export interface ReviewPage {
  /** Highest fraud score first, then oldest first. */
  reviews: StoredReview[];
  /** Null on the last page. A page may hold fewer than `limit` reviews and still have a cursor. */
  cursor: string | null;
}

/** One line of a member's or provider's recent claims, as the review detail lists them. */
export interface ClaimSummary {
  id: string;
  claimId: string;
  status: ClaimStatus;
  billingProviderNpi: string;
  memberId: string;
  serviceDateFrom: string;
  chargeCents: number;
  procedureCodes: string[];
  submittedAt: string;
}

/** An analyst's action on a review, written as one transaction (see ReviewRepositoryPort). */
export interface ReviewChange {
  /** The claim's next revision (status and decision as the action leaves them). */
  claim: StoredClaim;
  previousRevision: number;
  /** The review's next version. */
  review: StoredReview;
  expectedVersion: number;
  /** The facts an approval was evaluated on: its accumulator deltas apply against these versions. */
  facts: ClaimFacts | null;
  entry: JournalEntry;
}

/** The review queue's storage. Implemented over DynamoDB in functions/store/reviews.repository.ts. */
export interface ReviewRepositoryPort {
  find(claimId: string): Promise<StoredReview | null>;
  /** One page of the queue. Throws InvalidCursorError for a cursor it did not issue for `query`. */
  queue(query: ReviewQuery): Promise<ReviewPage>;
  /** The newest claims (by date of service) of a member or billing provider. */
  recentClaims(
    by: { memberId: string } | { billingProviderNpi: string },
    limit: number,
  ): Promise<ClaimSummary[]>;
  /**
   * One atomic write: the claim's next revision (conditional on `previousRevision`), the
   * review's next version (conditional on `expectedVersion`), the approval's accumulator
   * deltas (conditional on the versions in `facts`) and the journal entry. Throws
   * StaleReviewError when the claim or review moved, AccumulatorConflictError when the
   * accumulators did.
   */
  saveAction(change: ReviewChange): Promise<JournalReceipt>;
}
