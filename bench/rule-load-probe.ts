/**
 * Run by bench/cold.bench.ts, bundled as the functions are, in a fresh process: how long a
 * deciding function's first request spends loading the rule set from the files shipped beside
 * it (RULES_DIR, RULE_SOURCES), the part of its cold start that comes after the import.
 */
import { readFileSync } from 'node:fs';
import { recordedReaders } from '../functions/engine/recorded-source.ts';
import { readRuleSetFiles } from '../functions/engine/rule-files.ts';
import { loadRuleSetWith } from '../functions/engine/rule-set-loader.ts';

const started = performance.now();
const recorded = JSON.parse(readFileSync(String(process.env.RULE_SOURCES), 'utf8'));
loadRuleSetWith(readRuleSetFiles(String(process.env.RULES_DIR)), recordedReaders(recorded));
process.stdout.write(JSON.stringify({ ms: performance.now() - started }));
