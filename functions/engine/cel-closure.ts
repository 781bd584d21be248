import type { ASTNode } from '@marcbachmann/cel-js';
import { RuleEvaluationError } from './errors.ts';

/**
 * Compiles a type-checked cel-js AST into plain JavaScript closures. cel-js parses and checks
 * (so every node carries its checked type); its tree-walking evaluator re-dispatches on
 * runtime types at every node, which dominates rule evaluation. With types known at load
 * time each node becomes one specialised closure.
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

/** Reads `field` of the message `obj` yields; CEL makes a missing key an error, not null. */
const readField =
  (obj: Closure, field: string): Closure =>
  (c) => {
    const v = (obj(c) as Record<string, unknown> | null)?.[field];
    return v === undefined ? fail(`No such key: ${field}`) : v;
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

const MACROS = new Set(['exists', 'all', 'exists_one', 'filter', 'map']);

/**
 * Compiles `root` (already type-checked by cel-js). Returns undefined when the expression
 * uses something outside the covered subset.
 */
export function compileClosure(
  root: ASTNode,
  functions: FunctionTable,
  messageTypes: ReadonlySet<string>,
  /** Binds a table function to a table named by a literal, or undefined to call it generically. */
  bindTable?: (fn: string, table: string) => ((...args: never[]) => unknown) | undefined,
): Closure | undefined {
  // Iteration variables live in slots of one frame per expression: evaluation never re-enters
  // the same expression, so one frame suffices.
  const frame: unknown[] = [];
  let slots = 0;

  const compile = (node: ASTNode, scope: ReadonlyMap<string, number>): Closure | undefined => {
    const n = node as unknown as { op: string; args: unknown };
    switch (n.op) {
      case 'value': {
        const v = n.args;
        if (v === null || ['bigint', 'number', 'string', 'boolean'].includes(typeof v)) return () => v;
        return undefined;
      }
      case 'id': {
        const name = n.args as string;
        const slot = scope.get(name);
        if (slot !== undefined) return () => frame[slot];
        return (c) => {
          const v = c[name];
          if (v === undefined) return fail(`Unknown variable: ${name}`);
          return v;
        };
      }
      case '.': {
        const [objNode, field] = n.args as [ASTNode, string];
        if (!messageTypes.has(typeOf(objNode))) return undefined;
        const obj = compile(objNode, scope);
        if (!obj) return undefined;
        return readField(obj, field);
      }
      case '[]': {
        const [listNode, indexNode] = n.args as [ASTNode, ASTNode];
        if (!isList(typeOf(listNode)) || typeOf(indexNode) !== 'int') return undefined;
        const list = compile(listNode, scope);
        const index = compile(indexNode, scope);
        if (!list || !index) return undefined;
        return (c) => {
          const xs = list(c) as unknown[];
          const i = index(c) as bigint;
          if (i < 0n || i >= BigInt(xs.length)) {
            // Worded as cel-js words it, so both evaluators trace the same error.
            return fail(
              `No such key: index out of bounds, index ${i} ${i < 0n ? '< 0' : `>= size ${xs.length}`}`,
            );
          }
          return xs[Number(i)];
        };
      }
      case '&&':
      case '||': {
        const [l, r] = (n.args as [ASTNode, ASTNode]).map((x) => compile(x, scope));
        if (!l || !r) return undefined;
        // The side that decides wins over an error on the other side.
        const decides = n.op === '||';
        return (c) => {
          let error: unknown;
          let a: unknown;
          try {
            a = l(c);
          } catch (e: unknown) {
            error = e;
          }
          if (a === decides) return decides;
          let b: unknown;
          try {
            b = r(c);
          } catch (e: unknown) {
            if (error !== undefined) throw error;
            throw e;
          }
          if (b === decides) return decides;
          if (error !== undefined) throw error;
          if (typeof a !== 'boolean' || typeof b !== 'boolean')
            return fail(`no such overload: ${n.op} on non-bool`);
          return !decides;
        };
      }
      case '!_': {
        const x = compile(n.args as ASTNode, scope);
        if (!x || typeOf(n.args as ASTNode) !== 'bool') return undefined;
        return (c) => !(x(c) as boolean);
      }
      case '-_': {
        const t = typeOf(n.args as ASTNode);
        const x = compile(n.args as ASTNode, scope);
        if (!x) return undefined;
        if (t === 'int') return (c) => int(-(x(c) as bigint));
        if (t === 'double') return (c) => -(x(c) as number);
        return undefined;
      }
      case '?:': {
        const [cond, a, b] = (n.args as ASTNode[]).map((x) => compile(x, scope));
        if (!cond || !a || !b) return undefined;
        return (c) => {
          const t = cond(c);
          if (typeof t !== 'boolean') return fail('ternary condition is not a bool');
          return t ? a(c) : b(c);
        };
      }
      case 'list': {
        const items = (n.args as ASTNode[]).map((x) => compile(x, scope));
        if (items.some((x) => !x)) return undefined;
        const fns = items as Closure[];
        return (c) => fns.map((f) => f(c));
      }
      case 'call':
        return compileCall(n.args as [string, ASTNode[]], scope);
      case 'rcall':
        return compileMethod(n.args as [string, ASTNode, ASTNode[]], scope);
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
        return compileBinary(n.op, n.args as [ASTNode, ASTNode], scope);
      default:
        return undefined;
    }
  };

  const compileBinary = (
    op: string,
    [ln, rn]: [ASTNode, ASTNode],
    scope: ReadonlyMap<string, number>,
  ): Closure | undefined => {
    const lt = typeOf(ln);
    const rt = typeOf(rn);
    if (lt.includes('dyn') || rt.includes('dyn')) return undefined;
    const l = compile(ln, scope);
    const r = compile(rn, scope);
    if (!l || !r) return undefined;
    switch (op) {
      case '==':
      case '!=': {
        const negate = op === '!=';
        if (PRIMITIVES.has(lt) && lt === rt) return negate ? (c) => l(c) !== r(c) : (c) => l(c) === r(c);
        if (lt !== rt) return undefined;
        return (c) => equals(l(c), r(c)) !== negate;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        if (lt !== rt || !PRIMITIVES.has(lt)) return undefined;
        if (op === '<') return (c) => (l(c) as number) < (r(c) as number);
        if (op === '<=') return (c) => (l(c) as number) <= (r(c) as number);
        if (op === '>') return (c) => (l(c) as number) > (r(c) as number);
        return (c) => (l(c) as number) >= (r(c) as number);
      }
      case 'in': {
        if (!isList(rt)) return undefined;
        if (PRIMITIVES.has(lt)) return (c) => (r(c) as unknown[]).includes(l(c));
        return (c) => {
          const v = l(c);
          for (const x of r(c) as unknown[]) if (equals(x, v)) return true;
          return false;
        };
      }
      default:
        break;
    }
    if (lt !== rt) return undefined;
    if (lt === 'int') {
      switch (op) {
        case '+':
          return (c) => int((l(c) as bigint) + (r(c) as bigint));
        case '-':
          return (c) => int((l(c) as bigint) - (r(c) as bigint));
        case '*':
          return (c) => int((l(c) as bigint) * (r(c) as bigint));
        case '/':
          return (c) => {
            const b = r(c) as bigint;
            if (b === 0n) return fail('division by zero');
            return int((l(c) as bigint) / b);
          };
        case '%':
          return (c) => {
            const b = r(c) as bigint;
            if (b === 0n) return fail('modulus by zero');
            return (l(c) as bigint) % b;
          };
      }
    }
    if (lt === 'double' && op !== '%') {
      if (op === '+') return (c) => (l(c) as number) + (r(c) as number);
      if (op === '-') return (c) => (l(c) as number) - (r(c) as number);
      if (op === '*') return (c) => (l(c) as number) * (r(c) as number);
      return (c) => (l(c) as number) / (r(c) as number);
    }
    if (op === '+' && lt === 'string') return (c) => (l(c) as string) + (r(c) as string);
    if (op === '+' && isList(lt)) return (c) => [...(l(c) as unknown[]), ...(r(c) as unknown[])];
    return undefined;
  };

  /** An identifier or a field selection chain, without checked types (inside has()). */
  const compileChain = (node: ASTNode, scope: ReadonlyMap<string, number>): Closure | undefined => {
    const n = node as unknown as { op: string; args: unknown };
    if (n.op === 'id') return compile(node, scope);
    if (n.op !== '.') return undefined;
    const [objNode, field] = n.args as [ASTNode, string];
    const obj = compileChain(objNode, scope);
    if (!obj) return undefined;
    return readField(obj, field);
  };

  const compileCall = (
    [fn, argNodes]: [string, ASTNode[]],
    scope: ReadonlyMap<string, number>,
  ): Closure | undefined => {
    if (fn === 'has') {
      // cel-js leaves has()'s argument unannotated; the checker has already verified the
      // field exists on the type, so the selection chain is compiled structurally.
      const sel = argNodes[0] as unknown as { op: string; args: [ASTNode, string] } | undefined;
      if (sel?.op !== '.') return undefined;
      const obj = compileChain(sel.args[0], scope);
      const field = sel.args[1];
      if (!obj) return undefined;
      return (c) => {
        const o = obj(c) as Record<string, unknown> | null;
        return o !== null && o !== undefined && o[field] !== undefined;
      };
    }
    const tableName = argNodes[0] as unknown as { op: string; args: unknown } | undefined;
    if (bindTable && tableName?.op === 'value' && typeof tableName.args === 'string') {
      const bound = bindTable(fn, tableName.args) as ((...xs: unknown[]) => unknown) | undefined;
      if (bound) {
        const rest = argNodes.slice(1).map((a) => compile(a, scope));
        if (rest.some((a) => !a)) return undefined;
        const [a, b] = rest as [Closure, Closure | undefined];
        if (rest.length === 1) return (c) => bound(a(c));
        if (rest.length === 2 && b) return (c) => bound(a(c), b(c));
        return undefined;
      }
    }
    const args = argNodes.map((a) => compile(a, scope));
    if (args.some((a) => !a)) return undefined;
    const fns = args as Closure[];
    const t0 = argNodes[0] ? typeOf(argNodes[0]) : '';
    if (argNodes.length === 1) {
      const a = fns[0]!;
      switch (fn) {
        case 'size':
          if (isList(t0)) return (c) => BigInt((a(c) as unknown[]).length);
          if (t0 === 'string') return (c) => BigInt(codePoints(a(c) as string));
          return undefined;
        case 'int':
          if (t0 === 'int') return a;
          if (t0 === 'string') {
            return (c) => {
              const s = a(c) as string;
              if (!/^[+-]?\d+$/.test(s)) return fail('int() type error: cannot convert to int');
              return int(BigInt(s));
            };
          }
          return undefined;
        case 'double':
          if (t0 === 'int') return (c) => Number(a(c) as bigint);
          if (t0 === 'double') return a;
          return undefined;
        case 'string':
          if (t0 === 'string') return a;
          if (t0 === 'int' || t0 === 'bool') return (c) => String(a(c));
          return undefined;
      }
    }
    const handler = functions.get(`${fn}/${argNodes.length}`) as ((...xs: unknown[]) => unknown) | undefined;
    if (!handler) return undefined;
    switch (fns.length) {
      case 1: {
        const [a] = fns as [Closure];
        return (c) => handler(a(c));
      }
      case 2: {
        const [a, b] = fns as [Closure, Closure];
        return (c) => handler(a(c), b(c));
      }
      case 3: {
        const [a, b, d] = fns as [Closure, Closure, Closure];
        return (c) => handler(a(c), b(c), d(c));
      }
      default:
        return (c) => handler(...fns.map((f) => f(c)));
    }
  };

  const compileMethod = (
    [fn, receiverNode, argNodes]: [string, ASTNode, ASTNode[]],
    scope: ReadonlyMap<string, number>,
  ): Closure | undefined => {
    const first = argNodes[0] as unknown as { op: string; args: unknown } | undefined;
    const receiverType = typeOf(receiverNode);
    if (fn === 'bind' && first?.op === 'id') {
      const recv = receiverNode as unknown as { op: string; args: unknown };
      if (recv.op !== 'id' || recv.args !== 'cel' || argNodes.length !== 3) return undefined;
      const slot = slots++;
      const init = compile(argNodes[1]!, scope);
      const body = compile(argNodes[2]!, new Map(scope).set(first.args as string, slot));
      if (!init || !body) return undefined;
      return (c) => {
        frame[slot] = init(c);
        return body(c);
      };
    }
    if (MACROS.has(fn) && first?.op === 'id') {
      if (!isList(receiverType)) return undefined;
      const recv = compile(receiverNode, scope);
      const slot = slots++;
      const inner = new Map(scope).set(first.args as string, slot);
      const bodies = argNodes.slice(1).map((a) => compile(a, inner));
      if (!recv || bodies.some((b) => !b)) return undefined;
      const [p, q] = bodies as [Closure, Closure | undefined];
      switch (fn) {
        case 'exists':
        case 'all': {
          // exists stops at the first true, all at the first false; an element error only
          // counts when no element decides.
          const decides = fn === 'exists';
          return (c) => {
            let error: unknown;
            for (const item of recv(c) as unknown[]) {
              frame[slot] = item;
              let v: unknown;
              try {
                v = p(c);
              } catch (e: unknown) {
                error ??= e;
                continue;
              }
              if (v === decides) return decides;
              if (typeof v !== 'boolean') return fail(`${fn}() predicate is not a bool`);
            }
            if (error !== undefined) throw error;
            return !decides;
          };
        }
        case 'exists_one':
          return (c) => {
            let count = 0;
            for (const item of recv(c) as unknown[]) {
              frame[slot] = item;
              if (p(c) === true) count++;
            }
            return count === 1;
          };
        case 'filter':
          return (c) => {
            const out: unknown[] = [];
            for (const item of recv(c) as unknown[]) {
              frame[slot] = item;
              if (p(c) === true) out.push(item);
            }
            return out;
          };
        case 'map':
          if (q) {
            return (c) => {
              const out: unknown[] = [];
              for (const item of recv(c) as unknown[]) {
                frame[slot] = item;
                if (p(c) === true) out.push(q(c));
              }
              return out;
            };
          }
          return (c) => {
            const out: unknown[] = [];
            for (const item of recv(c) as unknown[]) {
              frame[slot] = item;
              out.push(p(c));
            }
            return out;
          };
      }
      return undefined;
    }
    const recv = compile(receiverNode, scope);
    const args = argNodes.map((a) => compile(a, scope));
    if (!recv || args.some((a) => !a)) return undefined;
    const [a] = args as [Closure | undefined];
    if (receiverType === 'string') {
      switch (fn) {
        case 'size':
          return argNodes.length === 0 ? (c) => BigInt(codePoints(recv(c) as string)) : undefined;
        case 'startsWith':
          return a ? (c) => (recv(c) as string).startsWith(a(c) as string) : undefined;
        case 'endsWith':
          return a ? (c) => (recv(c) as string).endsWith(a(c) as string) : undefined;
        case 'contains':
          return a ? (c) => (recv(c) as string).includes(a(c) as string) : undefined;
        case 'matches': {
          if (!a) return undefined;
          const literal = argNodes[0] as unknown as { op: string; args: unknown };
          if (literal.op === 'value' && typeof literal.args === 'string') {
            // An invalid pattern is a check error (see cel.ts); never compiled here.
            let re: RegExp;
            try {
              re = regex(literal.args);
            } catch {
              return undefined;
            }
            return (c) => re.test(recv(c) as string);
          }
          return (c) => regex(a(c) as string).test(recv(c) as string);
        }
      }
      return undefined;
    }
    if (isList(receiverType) && fn === 'size' && argNodes.length === 0) {
      return (c) => BigInt((recv(c) as unknown[]).length);
    }
    return undefined;
  };

  return compile(root, new Map());
}
