/**
 * The one description of every table: local bootstrap creates tables from it and the CDK
 * stateful stack declares them from it, so local and cloud key schemas cannot drift.
 */
export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
}

export interface TableDefinition {
  /** Logical name; physical names come from the environment (see store config). */
  logicalName: 'claims' | 'records' | 'journal';
  partitionKey: string;
  sortKey?: string;
  indexes: IndexDefinition[];
  /** The journal table feeds the cloud integrator through its stream. */
  stream: boolean;
}

export const tableDefinitions: readonly TableDefinition[] = [
  {
    logicalName: 'claims',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [
      // A member's claims by date of service: prior claims for duplicate and velocity facts.
      { name: 'by-member', partitionKey: 'memberId', sortKey: 'memberSort' },
      // A provider's claims by date of service: provider patterns and summaries.
      { name: 'by-provider', partitionKey: 'billingProviderNpi', sortKey: 'providerSort' },
      // The fraud-review queue (sparse: review items only), highest score then oldest first;
      // one overloaded index serves status, provider and member partitions (reviews.repository.ts).
      { name: 'review-queue', partitionKey: 'queueKey', sortKey: 'queueSort' },
    ],
    stream: false,
  },
  { logicalName: 'records', partitionKey: 'pk', sortKey: 'sk', indexes: [], stream: false },
  { logicalName: 'journal', partitionKey: 'pk', sortKey: 'sk', indexes: [], stream: true },
];

/** Attribute types: every key attribute in this project is a string. */
export const keyAttributeType = 'S' as const;
