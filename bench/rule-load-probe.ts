/**
 * Run by bench/cold.bench.ts, bundled as the functions are, in a fresh process: how long a
 * deciding function's first request spends loading the rule set from the files shipped beside
 * it (RULES_DIR, RULE_SOURCES), the part of its cold start that comes after the import.
 */
import { loadShippedRuleSet } from '../functions/engine/shipped-rule-set.ts';

const started = performance.now();
loadShippedRuleSet(String(process.env.RULES_DIR), String(process.env.RULE_SOURCES));
process.stdout.write(JSON.stringify({ ms: performance.now() - started }));
