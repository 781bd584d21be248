import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** What differs between stages. Everything else is the same in dev and prod. */
export interface StageConfig {
  name: string;
  prod: boolean;
  /** Data-bearing resources (tables, keys, user pool, log groups): kept in prod, dropped elsewhere. */
  removalPolicy: RemovalPolicy;
  /** Object Lock (compliance mode) retention of each published checkpoint version, in days. */
  checkpointRetentionDays: number;
}

/** Six years: HIPAA's retention period for required documentation (45 CFR 164.316(b)(2)). */
const PROD_CHECKPOINT_RETENTION_DAYS = 6 * 365;

/**
 * The stage's settings; `-c checkpointRetentionDays=N` overrides the Object Lock retention
 * (default: six years in prod, one day elsewhere, since compliance mode cannot be shortened).
 */
export function stageConfig(scope: Construct, name: string): StageConfig {
  const prod = name === 'prod';
  const raw = scope.node.tryGetContext('checkpointRetentionDays');
  const days = raw === undefined ? (prod ? PROD_CHECKPOINT_RETENTION_DAYS : 1) : Number(raw);
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new Error(`checkpointRetentionDays must be a positive whole number of days, not ${String(raw)}`);
  }
  return {
    name,
    prod,
    removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    checkpointRetentionDays: days,
  };
}
