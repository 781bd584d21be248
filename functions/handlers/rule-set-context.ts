import { activationKey } from '#claims/rule-simulation.ts';
import { RecordedSourcesError } from '#engine/recorded-source.ts';
import type { RuleSet } from '#engine/rule-set.ts';
import { loadShippedRuleSet } from '#engine/shipped-rule-set.ts';
import { log } from '#http/logger.ts';
import * as app from './app-context.ts';

// Kept apart from app-context so that only the handlers that decide claims bundle the engine
// (the CEL compiler and the rule files' schemas); the others stay small and start fast. No YAML
// or CEL parser: the rule files and their expressions are read through what was recorded when
// they were checked (RULE_SOURCES).

let ruleSet: Promise<RuleSet> | undefined;

/** The shipped rule files are not the ones the deployment pinned: nothing may be decided. */
export class RuleSetPinError extends Error {
  override name = 'RuleSetPinError';
}

/**
 * The rule set this deployment decides with, loaded and compiled once, on first use. A failure
 * to journal its activation (a throttled write) is retried by the next request; a rule set
 * that is not the pinned one never decides anything in this process.
 */
export function activeRuleSet(): Promise<RuleSet> {
  ruleSet ??= Promise.resolve()
    .then(loadShipped)
    .then(async (loaded) => {
      checkPinned(loaded.hash, app.config().RULE_SET_HASH);
      await journalActivation(loaded);
      return loaded;
    })
    .catch((error: unknown) => {
      if (!(error instanceof RuleSetPinError)) ruleSet = undefined;
      throw error;
    });
  return ruleSet;
}

/** The rule files beside this function, read through their record. */
function loadShipped(): RuleSet {
  const { RULES_DIR, RULE_SOURCES } = app.config();
  if (RULE_SOURCES === undefined) {
    throw new Error(
      'RULE_SOURCES is not set: the recorded rule sources (rule-sources.json) are needed to load the rules',
    );
  }
  try {
    return loadShippedRuleSet(RULES_DIR, RULE_SOURCES);
  } catch (error: unknown) {
    // Files that are not the ones recorded at synth are not the pinned ones either.
    if (!(error instanceof RecordedSourcesError)) throw error;
    refuse(
      `the rule files beside this function are not the ones recorded at synth (${error.message}): refusing to decide`,
    );
  }
}

function checkPinned(hash: string, pinned: string | undefined): void {
  if (pinned === undefined || pinned === hash) return;
  refuse(
    `the rule files beside this function hash to ${hash}, the deployment pinned ${pinned}: refusing to decide`,
  );
}

function refuse(message: string): never {
  log('error', { component: 'rules', message });
  throw new RuleSetPinError(message);
}

/**
 * Journals the rule set's activation once per content hash, before it decides anything, so
 * every decision's `ruleSetHash` points back at an entry saying what that rule set was.
 */
async function journalActivation(ruleSet: RuleSet): Promise<void> {
  const journal = app.journal();
  const clock = app.clock;
  await journal.appendOnce(activationKey(ruleSet.hash), {
    type: 'ruleset.activated',
    docId: `ruleset/${ruleSet.hash}`,
    docRevision: 1,
    ruleSetHash: ruleSet.hash,
    actor: { sub: 'claimledger', role: 'system' },
    at: clock(),
    payload: {
      name: ruleSet.name,
      version: ruleSet.version,
      rules: ruleSet.rules.map((rule) => rule.id),
      files: [...ruleSet.files],
      fraudThreshold: ruleSet.fraudThreshold,
    },
  });
}
