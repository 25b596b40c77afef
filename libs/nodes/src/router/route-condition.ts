import { AUTH_METHOD_HEADER, SUBJECT_HEADER, elementCount, formatShape, fromHalfBits, invalidArgument, type Tensor, type TensorMap } from '@infergraph/protocol';

// A small, safe expression language for conditional routing: parsed into an AST and evaluated by
// a tree walk, never by eval or Function. Request data is read through own properties only, so no
// expression reaches a JS prototype (`params.constructor` is null unless the request sent it).

export type ConditionValue = number | string | boolean | null;
export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type ConditionRoot = 'params' | 'headers' | 'tensors' | 'auth';

/** Parsed routing condition. */
export type Condition =
  | { readonly kind: 'literal'; readonly value: ConditionValue }
  | { readonly kind: 'path'; readonly root: ConditionRoot; readonly keys: readonly string[] }
  | { readonly kind: 'compare'; readonly operator: CompareOperator; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'in'; readonly value: Condition; readonly list: readonly ConditionValue[] }
  | { readonly kind: 'not'; readonly operand: Condition }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly Condition[] };

/** What a condition can read: request parameters, headers (lower-cased names) and the router's input tensors. */
export interface ConditionScope {
  readonly params: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly tensors: TensorMap;
}

export type ConditionParseResult = { ok: true; condition: Condition } | { ok: false; message: string; offset: number };

/**
 * Parses a routing condition. Grammar (no arithmetic):
 * `or := and ('||' and)*`, `and := not ('&&' not)*`, `not := '!' not | cmp`,
 * `cmp := primary (('=='|'!='|'<'|'<='|'>'|'>=') primary | 'in' '[' literal (',' literal)* ']')?`,
 * `primary := number | string | true | false | null | path | '(' or ')'`,
 * `path := ('params' | 'headers' | 'tensors' | 'auth') ('.' name | '[' string ']')+` (headers, tensors and auth take one
 * name; `auth.subject` and `auth.method` are the caller the gateway authenticated, null when none;
 * names are letters, digits, `_` and `-`, not starting with a digit or `-`).
 */
export function parseCondition(text: string): ConditionParseResult {
  try {
    return { ok: true, condition: new ConditionParser(text).parse() };
  } catch (err) {
    if (err instanceof ParseFailure) return { ok: false, message: err.message, offset: err.offset };
    throw err;
  }
}

/** Names of the tensors a condition reads, each once, in order of appearance. */
export function conditionTensorNames(condition: Condition): string[] {
  const names: string[] = [];
  const visit = (c: Condition): void => {
    switch (c.kind) {
      case 'literal':
        return;
      case 'path':
        if (c.root === 'tensors' && c.keys[0] !== undefined && !names.includes(c.keys[0])) names.push(c.keys[0]);
        return;
      case 'compare':
        visit(c.left);
        visit(c.right);
        return;
      case 'in':
        visit(c.value);
        return;
      case 'not':
        visit(c.operand);
        return;
      case 'and':
      case 'or':
        c.operands.forEach(visit);
        return;
    }
  };
  visit(condition);
  return names;
}

/**
 * Whether the condition holds. `&&` and `||` short-circuit, so a tensor behind a false guard is not
 * read. Throws INVALID_ARGUMENT when a tensor is missing or does not hold exactly one element.
 */
export function evaluateCondition(condition: Condition, scope: ConditionScope): boolean {
  return truthy(valueOf(condition, scope));
}

function valueOf(c: Condition, scope: ConditionScope): ConditionValue {
  switch (c.kind) {
    case 'literal':
      return c.value;
    case 'path':
      return lookup(c.root, c.keys, scope);
    case 'compare':
      return compare(c.operator, valueOf(c.left, scope), valueOf(c.right, scope));
    case 'in': {
      const v = valueOf(c.value, scope);
      return c.list.some((item) => equal(v, item));
    }
    case 'not':
      return !truthy(valueOf(c.operand, scope));
    case 'and':
      return c.operands.every((o) => truthy(valueOf(o, scope)));
    case 'or':
      return c.operands.some((o) => truthy(valueOf(o, scope)));
  }
}

function truthy(v: ConditionValue): boolean {
  return v !== null && v !== false && v !== 0 && v !== '' && !Number.isNaN(v);
}

// A decimal number written as a string ("3", "-0.5", "1e3"); hex, "Infinity" and blanks are not.
const NUMERIC_STRING = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Applies the one coercion: a number against a numeric string compares as two numbers. */
function coerce(a: ConditionValue, b: ConditionValue): [ConditionValue, ConditionValue] {
  if (typeof a === 'number' && typeof b === 'string' && NUMERIC_STRING.test(b)) return [a, Number(b)];
  if (typeof a === 'string' && typeof b === 'number' && NUMERIC_STRING.test(a)) return [Number(a), b];
  return [a, b];
}

function equal(a: ConditionValue, b: ConditionValue): boolean {
  const [x, y] = coerce(a, b);
  return x === y;
}

function compare(operator: CompareOperator, a: ConditionValue, b: ConditionValue): boolean {
  if (operator === '==') return equal(a, b);
  if (operator === '!=') return !equal(a, b);
  // Ordering holds only between two numbers or two strings (after the same coercion as ==).
  const [x, y] = coerce(a, b);
  const comparable = (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
  if (!comparable) return false;
  switch (operator) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

function lookup(root: ConditionRoot, keys: readonly string[], scope: ConditionScope): ConditionValue {
  const name = keys[0] ?? '';
  switch (root) {
    case 'headers': {
      const key = name.toLowerCase();
      const v: unknown = Object.hasOwn(scope.headers, key) ? scope.headers[key] : undefined;
      return typeof v === 'string' ? v : null;
    }
    case 'tensors':
      return tensorValue(name, scope.tensors);
    case 'auth': {
      const header = AUTH_FIELDS[name] as string;
      const v: unknown = Object.hasOwn(scope.headers, header) ? scope.headers[header] : undefined;
      return typeof v === 'string' ? v : null;
    }
    case 'params': {
      let v: unknown = scope.params;
      for (const key of keys) {
        v = ownChild(v, key);
        if (v === undefined) return null;
      }
      return scalar(v, root, keys);
    }
  }
}

function ownChild(container: unknown, key: string): unknown {
  if (Array.isArray(container)) {
    return /^(0|[1-9]\d*)$/.test(key) && Number(key) < container.length ? (container[Number(key)] as unknown) : undefined;
  }
  if (typeof container === 'object' && container !== null && Object.hasOwn(container, key)) {
    return (container as Record<string, unknown>)[key];
  }
  return undefined;
}

function scalar(v: unknown, root: ConditionRoot, keys: readonly string[]): ConditionValue {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return Number(v);
    case 'undefined':
      return null;
    case 'object':
    case 'function':
    case 'symbol':
      if (v === null) return null;
      throw invalidArgument(
        `routing condition reads ${formatConditionPath(root, keys)}, which is ${Array.isArray(v) ? 'an array' : 'an object'}; conditions compare numbers, strings, booleans and null`,
      );
  }
}

function tensorValue(name: string, tensors: TensorMap): ConditionValue {
  const t: Tensor | undefined = tensors.get(name);
  if (t === undefined) {
    throw invalidArgument(
      `routing condition reads tensor "${name}", but the router received no such tensor (received: ${[...tensors.keys()].join(', ') || 'none'})`,
    );
  }
  const count = elementCount(t.shape);
  if (count !== 1 || t.data.length !== 1) {
    throw invalidArgument(
      `routing condition reads tensor "${name}" as one value, but it has shape ${formatShape(t.shape)} (${count} elements); a condition needs a tensor of exactly one element`,
    );
  }
  const v = t.data[0];
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined) return null;
  if (t.datatype === 'BOOL') return v !== 0;
  if (t.datatype === 'FP16') return fromHalfBits(v);
  return v;
}

/** `params.a["b c"]`: a path as it would be written in a condition. */
function formatConditionPath(root: ConditionRoot, keys: readonly string[]): string {
  return root + keys.map((k) => (NAME.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
}

// ---- Parser ----

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const MAX_DEPTH = 64;
const COMPARE_OPERATORS: readonly string[] = ['==', '!=', '<', '<=', '>', '>='];
const ROOTS: readonly string[] = ['params', 'headers', 'tensors', 'auth'];
/** What `auth.<name>` reads: headers only the gateway sets (it strips them from clients' requests). */
const AUTH_FIELDS: Readonly<Record<string, string>> = { subject: SUBJECT_HEADER, method: AUTH_METHOD_HEADER };
const VALUE = 'a value (number, string, true, false, null, params.…, headers.…, tensors.…) or "("';

type TokenKind = 'number' | 'string' | 'name' | 'punct' | 'invalid' | 'end';

interface Token {
  readonly kind: TokenKind;
  /** Source text of the token. */
  readonly text: string;
  /** Decoded value of a number or string literal. */
  readonly value?: number | string;
  readonly start: number;
}

class ParseFailure extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class ConditionParser {
  private token: Token;
  private depth = 0;
  /** Offset right after an operand with no comparison, where comparison operators were also allowed. */
  private bareOperandEnd = -1;

  constructor(private readonly text: string) {
    this.token = this.lex(0);
  }

  parse(): Condition {
    const condition = this.parseOr();
    if (this.token.kind !== 'end') this.fail(this.continuation('the end of the condition'));
    return condition;
  }

  private parseOr(): Condition {
    const operands = [this.parseAnd()];
    while (this.isPunct('||')) {
      this.advance();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'or', operands };
  }

  private parseAnd(): Condition {
    const operands = [this.parseNot()];
    while (this.isPunct('&&')) {
      this.advance();
      operands.push(this.parseNot());
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'and', operands };
  }

  private parseNot(): Condition {
    if (!this.isPunct('!')) return this.parseComparison();
    this.enter();
    this.advance();
    const operand = this.parseNot();
    this.depth--;
    return { kind: 'not', operand };
  }

  private parseComparison(): Condition {
    const left = this.parsePrimary();
    const t = this.token;
    if (t.kind === 'punct' && COMPARE_OPERATORS.includes(t.text)) {
      this.advance();
      return { kind: 'compare', operator: t.text as CompareOperator, left, right: this.parsePrimary() };
    }
    if (t.kind === 'name' && t.text === 'in') {
      this.advance();
      this.expect('[');
      const list = [this.parseLiteral()];
      while (this.isPunct(',')) {
        this.advance();
        list.push(this.parseLiteral());
      }
      this.expect(']', '"," or "]"');
      return { kind: 'in', value: left, list };
    }
    this.bareOperandEnd = t.start;
    return left;
  }

  private parsePrimary(): Condition {
    const t = this.token;
    if (t.kind === 'number' || t.kind === 'string') {
      this.advance();
      return { kind: 'literal', value: t.value as number | string };
    }
    if (t.kind === 'name') {
      const keyword = keywordValue(t.text);
      if (keyword !== undefined) {
        this.advance();
        return { kind: 'literal', value: keyword.value };
      }
      if (ROOTS.includes(t.text)) {
        this.advance();
        return this.parsePath(t.text as ConditionRoot);
      }
    }
    if (this.isPunct('(')) {
      this.enter();
      this.advance();
      const inner = this.parseOr();
      this.expect(')', this.continuation('")"'));
      this.depth--;
      return inner;
    }
    return this.fail(VALUE);
  }

  private parsePath(root: ConditionRoot): Condition {
    const keys: string[] = [];
    for (;;) {
      if (!this.isPunct('.') && !this.isPunct('[')) break;
      if (root !== 'params' && keys.length === 1) {
        this.fail(`the end of the ${root} path (${root} paths take one name; write ${root}["a.b"] for a name with dots)`);
      }
      if (this.isPunct('.')) {
        this.advance();
        if (this.token.kind !== 'name') this.fail(`a name after "." (letters, digits, "_" or "-"; write ${root}["…"] for any other name)`);
        if (root === 'auth' && !Object.hasOwn(AUTH_FIELDS, this.token.text)) this.fail('"subject" or "method" after "auth."');
        keys.push(this.token.text);
        this.advance();
      } else {
        this.advance();
        if (this.token.kind !== 'string') this.fail('a quoted name after "["');
        if (root === 'auth' && !Object.hasOwn(AUTH_FIELDS, this.token.value as string)) this.fail('"subject" or "method" after "auth["');
        keys.push(this.token.value as string);
        this.advance();
        this.expect(']');
      }
    }
    if (keys.length === 0) this.fail(`"." or "[" after "${root}"`);
    return { kind: 'path', root, keys };
  }

  private parseLiteral(): ConditionValue {
    const t = this.token;
    if (t.kind === 'number' || t.kind === 'string') {
      this.advance();
      return t.value as number | string;
    }
    const keyword = t.kind === 'name' ? keywordValue(t.text) : undefined;
    if (keyword === undefined) return this.fail('a literal (number, string, true, false or null)');
    this.advance();
    return keyword.value;
  }

  /** What may follow a complete operand, listing the comparison operators where they were allowed too. */
  private continuation(closing: string): string {
    const comparisons = this.token.start === this.bareOperandEnd ? '"==", "!=", "<", "<=", ">", ">=", "in", ' : '';
    return `${comparisons}"&&", "||" or ${closing}`;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} nested "(" or "!"`);
  }

  private isPunct(text: string): boolean {
    return this.token.kind === 'punct' && this.token.text === text;
  }

  private expect(text: string, expected = `"${text}"`): void {
    if (!this.isPunct(text)) this.fail(expected);
    this.advance();
  }

  private advance(): void {
    this.token = this.lex(this.token.start + this.token.text.length);
  }

  private fail(expected: string): never {
    throw new ParseFailure(`expected ${expected} at offset ${this.token.start}, found ${describe(this.token)}`, this.token.start);
  }

  private lex(from: number): Token {
    const text = this.text;
    let i = from;
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
    if (i >= text.length) return { kind: 'end', text: '', start: text.length };
    const rest = text.slice(i);
    const c = text.charAt(i);
    const number = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(rest);
    if (number) return { kind: 'number', text: number[0], value: Number(number[0]), start: i };
    const name = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (name) return { kind: 'name', text: name[0], start: i };
    if (c === '"' || c === "'") return this.lexString(i, c);
    const punct = /^(==|!=|<=|>=|&&|\|\||[<>!()[\],.])/.exec(rest);
    if (punct) return { kind: 'punct', text: punct[0], start: i };
    return { kind: 'invalid', text: String.fromCodePoint(text.codePointAt(i) ?? 0), start: i };
  }

  private lexString(start: number, quote: string): Token {
    const text = this.text;
    let value = '';
    let i = start + 1;
    while (i < text.length) {
      const c = text.charAt(i);
      if (c === quote) return { kind: 'string', text: text.slice(start, i + 1), value, start };
      if (c !== '\\') {
        value += c;
        i++;
        continue;
      }
      const escaped = ESCAPES[text.charAt(i + 1)];
      if (escaped !== undefined) {
        value += escaped;
        i += 2;
        continue;
      }
      const hex = /^u([0-9a-fA-F]{4})/.exec(text.slice(i + 1));
      if (!hex) {
        throw new ParseFailure(`expected an escape (\\\\, \\", \\', \\n, \\r, \\t or \\uXXXX) at offset ${i + 1}`, i + 1);
      }
      value += String.fromCharCode(parseInt(hex[1] as string, 16));
      i += 6;
    }
    throw new ParseFailure(`expected a closing ${quote} (the string opens at offset ${start}) at offset ${text.length}`, text.length);
  }
}

const ESCAPES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  r: '\r',
  t: '\t',
});

function keywordValue(text: string): { value: ConditionValue } | undefined {
  switch (text) {
    case 'true':
      return { value: true };
    case 'false':
      return { value: false };
    case 'null':
      return { value: null };
    default:
      return undefined;
  }
}

const HINTS: Readonly<Record<string, string>> = { '=': ' (equality is "==")', '&': ' (and is "&&")', '|': ' (or is "||")' };

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end';
  if (t.kind === 'string') return t.text;
  const hint = t.kind === 'invalid' && Object.hasOwn(HINTS, t.text) ? HINTS[t.text] : '';
  return `"${t.text}"${hint ?? ''}`;
}
