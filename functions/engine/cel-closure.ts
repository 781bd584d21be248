import type { ASTNode } from '@marcbachmann/cel-js';
import { RuleEvaluationError } from './errors.ts';

/**
 * Compiles a type-checked cel-js AST into one JavaScript function per expression. cel-js
 * parses and checks (so every node carries its checked type); its tree-walking evaluator
 * re-dispatches on runtime types at every node, which dominates rule evaluation. With types
 * known at load time each expression becomes straight-line JavaScript: property reads with
 * constant names, native comparisons, loops for the macros. Generating source (rather than
 * composing closures) gives every expression its own code and inline caches; composed
 * closures share code per node kind, so every field read and call site was megamorphic.
 *
 * Nothing from a rule file becomes code: field and variable names, strings and messages are
 * JSON-quoted, and numbers, regular expressions and functions are passed in as constants.
 *
 * The subset covered is what rule files use: literals, fact fields, has(), arithmetic and
 * comparison on int/double/string/bool, `in` on lists, && / || / ! / ?:, list literals,
 * size/int/double/string, string methods (matches, startsWith, endsWith, contains, size),
 * the macros exists/all/exists_one/filter/map and cel.bind, and the engine's own functions.
 * Anything else (dyn-typed operands, maps, optionals, bytes, uint, timestamps) returns
 * undefined and the caller keeps the cel-js evaluator for that expression, so coverage gaps
 * cost speed, never correctness. Semantics follow CEL: 64-bit int overflow and division by
 * zero are errors, && and || absorb an error when the other side decides, exists/all absorb
 * element errors the same way, and a missing field is an error unless tested with has().
 */

export type Closure = (context: Record<string, unknown>) => unknown;

/** The engine's functions by `name/arity`, called with evaluated arguments. */
export type FunctionTable = ReadonlyMap<string, (...args: never[]) => unknown>;

const INT_MAX = 2n ** 63n - 1n;
const INT_MIN = -(2n ** 63n);

function int(v: bigint): bigint {
  if (v > INT_MAX || v < INT_MIN) throw new RuleEvaluationError(`integer overflow: ${v}`);
  return v;
}

const fail = (message: string): never => {
  throw new RuleEvaluationError(message);
};

const typeOf = (node: ASTNode): string => {
  const t = (node as unknown as { checkedType?: { name?: string } }).checkedType;
  return t?.name ?? 'dyn';
};

const PRIMITIVES = new Set(['int', 'double', 'string', 'bool']);
const isList = (t: string) => t.startsWith('list<') && !t.includes('dyn');

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/** CEL equality on values of the same checked type (lists element-wise, messages field-wise). */
function equals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false;
    return true;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    if (a.constructor !== b.constructor) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) {
      if (!equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    }
    return true;
  }
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return false;
}

const regexCache = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern);
    } catch {
      return fail(`invalid regular expression: ${pattern}`);
    }
    if (regexCache.size > 1_000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** `xs[i]` with CEL's bounds check, worded as cel-js words it so both evaluators trace the same error. */
function at(xs: readonly unknown[], i: bigint): unknown {
  if (i < 0n || i >= BigInt(xs.length)) {
    return fail(`No such key: index out of bounds, index ${i} ${i < 0n ? '< 0' : `>= size ${xs.length}`}`);
  }
  return xs[Number(i)];
}

/** `v in xs` for values compared field-wise (messages, lists). */
function inEquals(v: unknown, xs: readonly unknown[]): boolean {
  for (const x of xs) if (equals(x, v)) return true;
  return false;
}

/** CEL `int(string)`. */
function toInt(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) return fail('int() type error: cannot convert to int');
  return int(BigInt(s));
}

/** What generated code calls, by the names it uses (none can clash with generated names). */
const helpers = { fail, int, equals, codePoints, regex, at, inEquals, toInt };
const PRELUDE = `"use strict";\nconst { ${Object.keys(helpers).join(', ')} } = helpers;\n`;

const MACROS = new Set(['exists', 'all', 'exists_one', 'filter', 'map']);

/** JSON-quotes a string: the only way text from a rule file enters generated code. */
const q = (s: string): string => JSON.stringify(s);

/** A function being generated: its temporaries (`let t0, t1`) are its own locals. */
interface Body {
  temps: number;
}

const temp = (b: Body): string => `t${b.temps++}`;
const locals = (b: Body): string =>
  b.temps === 0 ? '' : `let ${Array.from({ length: b.temps }, (_, i) => `t${i}`).join(', ')};\n`;

type Scope = ReadonlyMap<string, string>;

/**
 * Compiles `root` (already type-checked by cel-js) to a function of the context. Returns
 * undefined when the expression uses something outside the covered subset.
 *
 * Every generated fragment is a JavaScript expression that is safe to use as an operand
 * (parenthesised, a call, a name or a literal). Constructs that need statements (&&/|| with
 * their error absorption, the macros) become functions declared once next to the returned
 * one. Iteration variables live in variables shared by those functions: evaluation never
 * re-enters the same expression, so one set suffices.
 */
export function compileClosure(
  root: ASTNode,
  functions: FunctionTable,
  messageTypes: ReadonlySet<string>,
  /** Binds a table function to a table named by a literal, or undefined to call it generically. */
  bindTable?: (fn: string, table: string) => ((...args: never[]) => unknown) | undefined,
): Closure | undefined {
  const constants: unknown[] = [];
  const declarations: string[] = [];
  let variables = 0;

  const constant = (value: unknown): string => {
    constants.push(value);
    return `k${constants.length - 1}`;
  };
  const variable = (): string => `v${variables++}`;
  /** Declares `function fN(c, xs) { ... }` from a body generator; returns its name. */
  const declare = (params: string, build: (b: Body) => string | undefined): string | undefined => {
    const b: Body = { temps: 0 };
    const statements = build(b);
    if (statements === undefined) return undefined;
    const name = `f${declarations.length}`;
    declarations.push(`function ${name}(${params}) {\n${locals(b)}${statements}\n}`);
    return name;
  };

  const compile = (node: ASTNode, scope: Scope, b: Body): string | undefined => {
    const n = node as unknown as { op: string; args: unknown };
    switch (n.op) {
      case 'value': {
        const v = n.args;
        if (v === null) return 'null';
        switch (typeof v) {
          case 'bigint':
            return `(${v}n)`;
          case 'boolean':
            return v ? 'true' : 'false';
          case 'string':
            return q(v);
          case 'number':
            return constant(v);
          default:
            return undefined;
        }
      }
      case 'id': {
        const name = n.args as string;
        const bound = scope.get(name);
        if (bound !== undefined) return bound;
        const t = temp(b);
        return `((${t} = c[${q(name)}]) === undefined ? fail(${q(`Unknown variable: ${name}`)}) : ${t})`;
      }
      case '.': {
        const [objNode, field] = n.args as [ASTNode, string];
        if (!messageTypes.has(typeOf(objNode))) return undefined;
        const obj = compile(objNode, scope, b);
        return obj === undefined ? undefined : readField(obj, field, b);
      }
      case '[]': {
        const [listNode, indexNode] = n.args as [ASTNode, ASTNode];
        if (!isList(typeOf(listNode)) || typeOf(indexNode) !== 'int') return undefined;
        const list = compile(listNode, scope, b);
        const index = compile(indexNode, scope, b);
        if (list === undefined || index === undefined) return undefined;
        return `at(${list}, ${index})`;
      }
      case '&&':
      case '||': {
        const [ln, rn] = n.args as [ASTNode, ASTNode];
        // The side that decides wins over an error on the other side.
        const decides = n.op === '||';
        const f = declare('c', (fb) => {
          const l = compile(ln, scope, fb);
          const r = compile(rn, scope, fb);
          if (l === undefined || r === undefined) return undefined;
          return [
            'let error, a, b;',
            `try { a = ${l}; } catch (e) { error = e; }`,
            `if (a === ${decides}) return ${decides};`,
            `try { b = ${r}; } catch (e) { if (error !== undefined) throw error; throw e; }`,
            `if (b === ${decides}) return ${decides};`,
            'if (error !== undefined) throw error;',
            `if (typeof a !== 'boolean' || typeof b !== 'boolean') return fail(${q(`no such overload: ${n.op} on non-bool`)});`,
            `return ${!decides};`,
          ].join('\n');
        });
        return f === undefined ? undefined : `${f}(c)`;
      }
      case '!_': {
        const x = compile(n.args as ASTNode, scope, b);
        if (x === undefined || typeOf(n.args as ASTNode) !== 'bool') return undefined;
        return `(!${x})`;
      }
      case '-_': {
        const t = typeOf(n.args as ASTNode);
        const x = compile(n.args as ASTNode, scope, b);
        if (x === undefined) return undefined;
        if (t === 'int') return `int(-${x})`;
        if (t === 'double') return `(-${x})`;
        return undefined;
      }
      case '?:': {
        const [cond, yes, no] = (n.args as ASTNode[]).map((x) => compile(x, scope, b));
        if (cond === undefined || yes === undefined || no === undefined) return undefined;
        const t = temp(b);
        return `((${t} = ${cond}) === true ? ${yes} : ${t} === false ? ${no} : fail('ternary condition is not a bool'))`;
      }
      case 'list': {
        const items = (n.args as ASTNode[]).map((x) => compile(x, scope, b));
        if (items.some((x) => x === undefined)) return undefined;
        return `[${items.join(', ')}]`;
      }
      case 'call':
        return compileCall(n.args as [string, ASTNode[]], scope, b);
      case 'rcall':
        return compileMethod(n.args as [string, ASTNode, ASTNode[]], scope, b);
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=':
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case 'in':
        return compileBinary(n.op, n.args as [ASTNode, ASTNode], scope, b);
      default:
        return undefined;
    }
  };

  /** `obj.field`; CEL makes a missing key an error, not null. */
  const readField = (obj: string, field: string, b: Body): string => {
    const t = temp(b);
    return `((${t} = ${obj}?.[${q(field)}]) === undefined ? fail(${q(`No such key: ${field}`)}) : ${t})`;
  };

  const compileBinary = (
    op: string,
    [ln, rn]: [ASTNode, ASTNode],
    scope: Scope,
    b: Body,
  ): string | undefined => {
    const lt = typeOf(ln);
    const rt = typeOf(rn);
    if (lt.includes('dyn') || rt.includes('dyn')) return undefined;
    const l = compile(ln, scope, b);
    const r = compile(rn, scope, b);
    if (l === undefined || r === undefined) return undefined;
    switch (op) {
      case '==':
      case '!=': {
        const negate = op === '!=';
        if (PRIMITIVES.has(lt) && lt === rt) return `(${l} ${negate ? '!==' : '==='} ${r})`;
        if (lt !== rt) return undefined;
        return `(${negate ? '!' : ''}equals(${l}, ${r}))`;
      }
      case '<':
      case '<=':
      case '>':
      case '>=':
        if (lt !== rt || !PRIMITIVES.has(lt)) return undefined;
        return `(${l} ${op} ${r})`;
      case 'in':
        if (!isList(rt)) return undefined;
        // The list is evaluated first.
        if (PRIMITIVES.has(lt)) return `${r}.includes(${l})`;
        return `inEquals(${l}, ${r})`;
      default:
        break;
    }
    if (lt !== rt) return undefined;
    if (lt === 'int') {
      switch (op) {
        case '+':
        case '-':
        case '*':
          return `int(${l} ${op} ${r})`;
        case '/':
        case '%': {
          // The divisor first; the dividend only when it is not zero.
          const t = temp(b);
          const zero = op === '/' ? 'division by zero' : 'modulo by zero';
          const result = op === '/' ? `int(${l} / ${t})` : `(${l} % ${t})`;
          return `((${t} = ${r}) === 0n ? fail(${q(zero)}) : ${result})`;
        }
      }
    }
    if (lt === 'double' && op !== '%') return `(${l} ${op} ${r})`;
    if (op === '+' && lt === 'string') return `(${l} + ${r})`;
    if (op === '+' && isList(lt)) return `[...${l}, ...${r}]`;
    return undefined;
  };

  /** An identifier or a field selection chain, without checked types (inside has()). */
  const compileChain = (node: ASTNode, scope: Scope, b: Body): string | undefined => {
    const n = node as unknown as { op: string; args: unknown };
    if (n.op === 'id') return compile(node, scope, b);
    if (n.op !== '.') return undefined;
    const [objNode, field] = n.args as [ASTNode, string];
    const obj = compileChain(objNode, scope, b);
    return obj === undefined ? undefined : readField(obj, field, b);
  };

  const compileCall = ([fn, argNodes]: [string, ASTNode[]], scope: Scope, b: Body): string | undefined => {
    if (fn === 'has') {
      // cel-js leaves has()'s argument unannotated; the checker has already verified the
      // field exists on the type, so the selection chain is compiled structurally.
      const sel = argNodes[0] as unknown as { op: string; args: [ASTNode, string] } | undefined;
      if (sel?.op !== '.') return undefined;
      const obj = compileChain(sel.args[0], scope, b);
      if (obj === undefined) return undefined;
      const t = temp(b);
      return `((${t} = ${obj}) !== null && ${t} !== undefined && ${t}[${q(sel.args[1])}] !== undefined)`;
    }
    const tableName = argNodes[0] as unknown as { op: string; args: unknown } | undefined;
    if (bindTable && tableName?.op === 'value' && typeof tableName.args === 'string') {
      const bound = bindTable(fn, tableName.args);
      if (bound) {
        const rest = argNodes.slice(1).map((a) => compile(a, scope, b));
        if (rest.some((a) => a === undefined) || rest.length < 1 || rest.length > 2) return undefined;
        return `${constant(bound)}(${rest.join(', ')})`;
      }
    }
    const args = argNodes.map((a) => compile(a, scope, b));
    if (args.some((a) => a === undefined)) return undefined;
    const t0 = argNodes[0] ? typeOf(argNodes[0]) : '';
    if (argNodes.length === 1) {
      const a = args[0]!;
      switch (fn) {
        case 'size':
          if (isList(t0)) return `BigInt(${a}.length)`;
          if (t0 === 'string') return `BigInt(codePoints(${a}))`;
          return undefined;
        case 'int':
          if (t0 === 'int') return a;
          if (t0 === 'string') return `toInt(${a})`;
          return undefined;
        case 'double':
          if (t0 === 'int') return `Number(${a})`;
          if (t0 === 'double') return a;
          return undefined;
        case 'string':
          if (t0 === 'string') return a;
          if (t0 === 'int' || t0 === 'bool') return `String(${a})`;
          return undefined;
      }
    }
    const handler = functions.get(`${fn}/${argNodes.length}`);
    if (!handler) return undefined;
    return `${constant(handler)}(${args.join(', ')})`;
  };

  const compileMethod = (
    [fn, receiverNode, argNodes]: [string, ASTNode, ASTNode[]],
    scope: Scope,
    b: Body,
  ): string | undefined => {
    const first = argNodes[0] as unknown as { op: string; args: unknown } | undefined;
    const receiverType = typeOf(receiverNode);
    if (fn === 'bind' && first?.op === 'id') {
      const recv = receiverNode as unknown as { op: string; args: unknown };
      if (recv.op !== 'id' || recv.args !== 'cel' || argNodes.length !== 3) return undefined;
      const v = variable();
      const init = compile(argNodes[1]!, scope, b);
      const body = compile(argNodes[2]!, new Map(scope).set(first.args as string, v), b);
      if (init === undefined || body === undefined) return undefined;
      return `(${v} = ${init}, ${body})`;
    }
    if (MACROS.has(fn) && first?.op === 'id') {
      if (!isList(receiverType)) return undefined;
      const recv = compile(receiverNode, scope, b);
      const v = variable();
      const inner = new Map(scope).set(first.args as string, v);
      const loop = (body: string) =>
        `for (let i = 0; i < xs.length; i++) {\nconst x = xs[i];\n${v} = x;\n${body}\n}`;
      const f = declare('c, xs', (fb) => {
        const [p, m] = argNodes.slice(1).map((a) => compile(a, inner, fb));
        if (p === undefined || (argNodes.length > 2 && m === undefined)) return undefined;
        switch (fn) {
          case 'exists':
          case 'all': {
            // exists stops at the first true, all at the first false; an element error only
            // counts when no element decides.
            const decides = fn === 'exists';
            return [
              'let error;',
              loop(
                [
                  'let r;',
                  `try { r = ${p}; } catch (e) { error ??= e; continue; }`,
                  `if (r === ${decides}) return ${decides};`,
                  `if (typeof r !== 'boolean') return fail(${q(`${fn}() predicate is not a bool`)});`,
                ].join('\n'),
              ),
              'if (error !== undefined) throw error;',
              `return ${!decides};`,
            ].join('\n');
          }
          case 'exists_one':
            return `let count = 0;\n${loop(`if (${p} === true) count++;`)}\nreturn count === 1;`;
          case 'filter':
            return `const out = [];\n${loop(`if (${p} === true) out.push(x);`)}\nreturn out;`;
          case 'map':
            return m === undefined
              ? `const out = [];\n${loop(`out.push(${p});`)}\nreturn out;`
              : `const out = [];\n${loop(`if (${p} === true) out.push(${m});`)}\nreturn out;`;
          default:
            return undefined;
        }
      });
      if (recv === undefined || f === undefined) return undefined;
      return `${f}(c, ${recv})`;
    }
    const recv = compile(receiverNode, scope, b);
    const args = argNodes.map((a) => compile(a, scope, b));
    if (recv === undefined || args.some((a) => a === undefined)) return undefined;
    const [a] = args;
    if (receiverType === 'string') {
      switch (fn) {
        case 'size':
          return argNodes.length === 0 ? `BigInt(codePoints(${recv}))` : undefined;
        case 'startsWith':
        case 'endsWith':
          return a === undefined ? undefined : `${recv}.${fn}(${a})`;
        case 'contains':
          return a === undefined ? undefined : `${recv}.includes(${a})`;
        case 'matches': {
          if (a === undefined) return undefined;
          const literal = argNodes[0] as unknown as { op: string; args: unknown };
          if (literal.op === 'value' && typeof literal.args === 'string') {
            // An invalid pattern is a check error (see cel.ts); never compiled here.
            let re: RegExp;
            try {
              re = regex(literal.args);
            } catch {
              return undefined;
            }
            return `${constant(re)}.test(${recv})`;
          }
          return `regex(${a}).test(${recv})`;
        }
      }
      return undefined;
    }
    if (isList(receiverType) && fn === 'size' && argNodes.length === 0) return `BigInt(${recv}.length)`;
    return undefined;
  };

  const main: Body = { temps: 0 };
  const expression = compile(root, new Map(), main);
  if (expression === undefined) return undefined;
  const source = [
    PRELUDE,
    ...constants.map((_, i) => `const k${i} = constants[${i}];`),
    variables > 0 ? `let ${Array.from({ length: variables }, (_, i) => `v${i}`).join(', ')};` : '',
    ...declarations,
    `return function evaluate(c) {\n${locals(main)}return ${expression};\n};`,
  ].join('\n');
  const make = new Function('helpers', 'constants', source) as (
    h: typeof helpers,
    k: readonly unknown[],
  ) => Closure;
  return make(helpers, constants);
}
