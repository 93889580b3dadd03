/**
 * Label selectors, as k8s.io/apimachinery/pkg/labels: parsed from the string form
 * (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, `==` for `=`, `>`/`<` on integers) or built from a
 * LabelSelector object (`{matchLabels, matchExpressions}`), and matched against labels.
 *
 * Semantics, as Kubernetes:
 * - A selector with no requirements matches everything (`parseSelector('')`, `{}`).
 * - `notin` and `!=` match objects that do not have the key at all.
 * - A *missing* LabelSelector object (null/undefined) selects nothing: `selectorFromLabelSelector(undefined)`
 *   is `Selector.nothing()`. That is what LabelSelectorAsSelector does, so e.g. a ReplicaSet
 *   without a selector owns no pods. (A Service without `spec.selector` is different: it has no
 *   managed endpoints at all; the endpoints controller checks for that before matching.)
 */
import { aggregateMessage, FieldError, FieldPath } from './field';
import type { LabelSelector } from './types/meta';
import { isLabelKey, isLabelValue } from './validate/names';

export type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export type Labels = Readonly<Record<string, string>>;

export class SelectorParseError extends Error {
  constructor(
    readonly selector: string,
    message: string,
  ) {
    super(message);
    this.name = 'SelectorParseError';
  }
}

/** One `key op values` term. Values are sorted and deduplicated. */
export class Requirement {
  readonly values: readonly string[];

  constructor(
    readonly key: string,
    readonly operator: Operator,
    values: readonly string[],
  ) {
    const errors = requirementErrors(key, operator, values);
    if (errors.length > 0) throw new SelectorParseError(key, aggregateMessage(errors));
    this.values = [...new Set(values)].sort();
  }

  matches(labels: Labels): boolean {
    const has = Object.prototype.hasOwnProperty.call(labels, this.key);
    switch (this.operator) {
      case '=':
      case '==':
      case 'in':
        return has && this.values.includes(labels[this.key]);
      case '!=':
      case 'notin':
        return !has || !this.values.includes(labels[this.key]);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^[+-]?\d+$/.test(labels[this.key])) return false;
        const actual = BigInt(labels[this.key]);
        const bound = BigInt(this.values[0]);
        return this.operator === 'gt' ? actual > bound : actual < bound;
      }
    }
  }

  /** The string form, as Kubernetes prints it (`env in (a,b)`, `!debug`, `tier=web`). */
  toString(): string {
    switch (this.operator) {
      case 'exists':
        return this.key;
      case '!':
        return `!${this.key}`;
      case 'in':
      case 'notin':
        return `${this.key} ${this.operator} (${this.values.join(',')})`;
      case 'gt':
        return `${this.key}>${this.values[0]}`;
      case 'lt':
        return `${this.key}<${this.values[0]}`;
      default:
        return `${this.key}${this.operator}${this.values[0]}`;
    }
  }
}

function requirementErrors(key: string, operator: Operator, values: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  const keyErrors = isLabelKey(key);
  if (keyErrors.length > 0) errors.push(FieldError.invalid('key', key, keyErrors.join('; ')));
  const valuesPath = FieldPath.root('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errors.push(
          FieldError.invalid(valuesPath, values, "for 'in', 'notin' operators, values set can't be empty"),
        );
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errors.push(
          FieldError.invalid(valuesPath, values, 'exact-match compatibility requires one single value'),
        );
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errors.push(
          FieldError.invalid(valuesPath, values, 'values set must be empty for exists and does not exist'),
        );
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errors.push(
          FieldError.invalid(valuesPath, values, "for 'Gt', 'Lt' operators, exactly one value is required"),
        );
      values.forEach((value, i) => {
        if (!/^[+-]?\d+$/.test(value)) {
          errors.push(
            FieldError.invalid(
              valuesPath.index(i),
              value,
              "for 'Gt', 'Lt' operators, the value must be an integer",
            ),
          );
        }
      });
      break;
  }
  values.forEach((value, i) => {
    const valueErrors = isLabelValue(value);
    if (valueErrors.length > 0)
      errors.push(FieldError.invalid(valuesPath.index(i).key(key), value, valueErrors.join('; ')));
  });
  return errors;
}

export class Selector {
  /** Requirements sorted by key, as Kubernetes keeps them. */
  readonly requirements: readonly Requirement[];

  private constructor(
    requirements: readonly Requirement[],
    /** True only for `Selector.nothing()`. */
    private readonly matchesNothing = false,
  ) {
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  static everything(): Selector {
    return new Selector([]);
  }

  static nothing(): Selector {
    return new Selector([], true);
  }

  static of(requirements: readonly Requirement[]): Selector {
    return new Selector(requirements);
  }

  /** The selector that matches exactly these labels (`{app: 'web'}` is `app=web`). */
  static fromLabels(labels: Labels): Selector {
    return new Selector(Object.entries(labels).map(([key, value]) => new Requirement(key, '=', [value])));
  }

  matches(labels: Labels | undefined): boolean {
    if (this.matchesNothing) return false;
    const actual = labels ?? {};
    return this.requirements.every((requirement) => requirement.matches(actual));
  }

  /** True when it matches everything. */
  isEmpty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  toString(): string {
    return this.requirements.map(String).join(',');
  }
}

/**
 * A LabelSelector object as a Selector. Undefined/null selects nothing, `{}` everything;
 * throws SelectorParseError for an unknown operator or invalid keys and values.
 */
export function selectorFromLabelSelector(selector: LabelSelector | null | undefined): Selector {
  if (!selector) return Selector.nothing();
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    requirements.push(new Requirement(key, '=', [value]));
  for (const expression of selector.matchExpressions ?? []) {
    const operator = LABEL_SELECTOR_OPERATORS[expression.operator];
    if (!operator)
      throw new SelectorParseError(
        '',
        `${JSON.stringify(expression.operator)} is not a valid label selector operator`,
      );
    requirements.push(new Requirement(expression.key, operator, expression.values ?? []));
  }
  return Selector.of(requirements);
}

const LABEL_SELECTOR_OPERATORS: Readonly<Record<string, Operator>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/** Whether a LabelSelector object matches these labels (a missing selector matches nothing). */
export function labelSelectorMatches(
  selector: LabelSelector | null | undefined,
  labels: Labels | undefined,
): boolean {
  return selectorFromLabelSelector(selector).matches(labels);
}

// ---- The string form ----

type TokenType =
  'identifier' | 'end' | '!' | '!=' | '(' | ')' | ',' | '=' | '==' | '>' | '<' | 'in' | 'notin' | 'error';

interface Token {
  type: TokenType;
  text: string;
}

const SYMBOLS: readonly string[] = ['!=', '==', '!', '(', ')', ',', '=', '>', '<'];
const SPECIAL_CHARS = '=!(),><';
const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < input.length && ' \t\r\n'.includes(input[pos])) pos += 1;
    if (pos >= input.length) {
      tokens.push({ type: 'end', text: '' });
      return tokens;
    }
    if (SPECIAL_CHARS.includes(input[pos])) {
      const symbol = SYMBOLS.find((candidate) => input.startsWith(candidate, pos));
      if (!symbol) {
        tokens.push({ type: 'error', text: `error expected: keyword found '${input[pos]}'` });
        return tokens;
      }
      tokens.push({ type: symbol as TokenType, text: symbol });
      pos += symbol.length;
      continue;
    }
    const start = pos;
    while (pos < input.length && !' \t\r\n'.includes(input[pos]) && !SPECIAL_CHARS.includes(input[pos]))
      pos += 1;
    const word = input.slice(start, pos);
    tokens.push({ type: word === 'in' || word === 'notin' ? word : 'identifier', text: word });
  }
}

/** Parses the string form; throws SelectorParseError with Kubernetes' messages. */
export function parseSelector(input: string): Selector {
  const parser = new SelectorParser(input);
  try {
    return Selector.of(parser.parse());
  } catch (error) {
    if (error instanceof SelectorParseError) throw error;
    throw new SelectorParseError(input, (error as Error).message);
  }
}

class SelectorParser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(private readonly input: string) {
    this.tokens = tokenize(input);
  }

  /** In value position `in` and `notin` are ordinary words (`a in (in)`). */
  private peek(valueContext: boolean): Token {
    const token = this.tokens[Math.min(this.position, this.tokens.length - 1)];
    if (valueContext && (token.type === 'in' || token.type === 'notin'))
      return { type: 'identifier', text: token.text };
    return token;
  }

  private next(valueContext: boolean): Token {
    const token = this.peek(valueContext);
    if (this.position < this.tokens.length - 1) this.position += 1;
    return token;
  }

  private fail(message: string): never {
    throw new SelectorParseError(this.input, message);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const token = this.peek(true);
      if (token.type === 'end') return requirements;
      if (token.type !== 'identifier' && token.type !== '!') {
        this.fail(`found '${token.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.requirement());
      } catch (error) {
        this.fail(`unable to parse requirement: ${(error as Error).message}`);
      }
      const after = this.next(true);
      if (after.type === 'end') return requirements;
      if (after.type !== ',') this.fail(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek(true);
      if (following.type !== 'identifier' && following.type !== '!') {
        this.fail(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): Requirement {
    let negated = false;
    let token = this.next(true);
    if (token.type === '!') {
      negated = true;
      token = this.next(true);
    }
    if (token.type !== 'identifier') throw new Error(`found '${token.text}', expected: identifier`);
    const key = token.text;
    const keyErrors = isLabelKey(key);
    if (keyErrors.length > 0)
      throw new Error(FieldError.invalid('key', key, keyErrors.join('; ')).toString());
    const lookahead = this.peek(true).type;
    if (negated || lookahead === 'end' || lookahead === ',')
      return new Requirement(key, negated ? '!' : 'exists', []);

    const operatorToken = this.next(false);
    switch (operatorToken.type) {
      case 'in':
      case 'notin':
        return new Requirement(key, operatorToken.type, this.valueSet());
      case '=':
      case '==':
      case '!=':
        return new Requirement(key, operatorToken.type, [this.exactValue()]);
      case '>':
        return new Requirement(key, 'gt', [this.exactValue()]);
      case '<':
        return new Requirement(key, 'lt', [this.exactValue()]);
      default:
        throw new Error(`found '${operatorToken.text}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private exactValue(): string {
    const lookahead = this.peek(true);
    if (lookahead.type === 'end' || lookahead.type === ',') return '';
    const token = this.next(true);
    if (token.type !== 'identifier') throw new Error(`found '${token.text}', expected: identifier`);
    return token.text;
  }

  /** `(a,b)`; empty entries (`(a,)`, `()`) stand for the empty value, as in Kubernetes. */
  private valueSet(): string[] {
    const open = this.next(true);
    if (open.type !== '(') throw new Error(`found '${open.text}' expected: '('`);
    const first = this.peek(true);
    if (first.type === ')') {
      this.next(true);
      return [''];
    }
    if (first.type !== 'identifier' && first.type !== ',') {
      throw new Error(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    const values: string[] = [];
    for (;;) {
      const token = this.next(true);
      if (token.type === 'identifier') {
        values.push(token.text);
        const after = this.peek(true);
        if (after.type === ',') {
          this.next(true);
          if (this.peek(true).type === ')') {
            this.next(true);
            return [...values, ''];
          }
          continue;
        }
        if (after.type === ')') {
          this.next(true);
          return values;
        }
        throw new Error(`found '${after.text}', expected: ',' or ')'`);
      }
      if (token.type === ',') {
        values.push('');
        if (this.peek(true).type === ')') {
          this.next(true);
          return values;
        }
        continue;
      }
      throw new Error(`found '${token.text}', expected: ',', or identifier`);
    }
  }
}
