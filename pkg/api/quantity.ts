/**
 * resource.Quantity: fixed-point amounts such as `500m`, `0.5`, `128Mi`, `1G`, `2e3`, with
 * exact arithmetic and Kubernetes' canonical formatting.
 *
 * A quantity is `mantissa × 10^exponent` with a bigint mantissa, so nothing is ever a float:
 * `100m` and `0.1` are the same value, and `0.1 + 0.2` is exactly `300m`. As in Kubernetes,
 * the smallest representable amount is 1n (10^-9): finer values are rounded up, away from
 * zero, so asking for some of a resource never yields none. The suffix of the input fixes the
 * format used when printing: `Ki`..`Ei` is BinarySI, `n`..`E` or none is DecimalSI, `e<n>` is
 * DecimalExponent; `1.5Gi` prints as `1536Mi`, `1500m` as `1500m`, `2000` as `2k`.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const SPLIT_PATTERN = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const FORMAT_WRONG = `quantities must match the regular expression '${SPLIT_PATTERN}'`;
const SUFFIX_WRONG = "unable to parse quantity's suffix";

export class QuantityParseError extends Error {
  constructor(
    readonly input: string,
    /** Kubernetes' own wording, without the input (for field errors that show the value). */
    readonly reason: string,
  ) {
    super(`cannot parse quantity ${JSON.stringify(input)}: ${reason}`);
    this.name = 'QuantityParseError';
  }
}

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_BY_EXPONENT = new Map(
  Object.entries(DECIMAL_SUFFIXES).map(([suffix, exp]) => [exp, suffix]),
);
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** The smallest exponent kept: nano. */
const NANO = -9;
/** BinarySI amounts are capped at the largest int64, as in Kubernetes. */
const MAX_BINARY = (1n << 63n) - 1n;

const SUFFIX_CHARS = 'eEinumkKMGTP';

export class Quantity {
  /** Normalised: the mantissa has no trailing zero digit (zero is 0 × 10^0). */
  private constructor(
    private readonly mantissa: bigint,
    private readonly exponent: number,
    readonly format: QuantityFormat,
  ) {}

  /** `mantissa × 10^exponent`, normalised. */
  static of(mantissa: bigint, exponent: number, format: QuantityFormat = 'DecimalSI'): Quantity {
    if (mantissa === 0n) return new Quantity(0n, 0, format);
    while (mantissa % 10n === 0n) {
      mantissa /= 10n;
      exponent += 1;
    }
    return new Quantity(mantissa, exponent, format);
  }

  /** An integer amount (`value` cores, bytes, pods). */
  static fromValue(value: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return Quantity.of(toBigInt(value), 0, format);
  }

  /** An amount in thousandths (`fromMilli(500)` is 500m). */
  static fromMilli(milli: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return Quantity.of(toBigInt(milli), -3, format);
  }

  static parse(text: string): Quantity {
    return parseQuantity(text);
  }

  isZero(): boolean {
    return this.mantissa === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.mantissa === 0n ? 0 : this.mantissa < 0n ? -1 : 1;
  }

  /** The same amount printed in another format. */
  withFormat(format: QuantityFormat): Quantity {
    return new Quantity(this.mantissa, this.exponent, format);
  }

  /** Both mantissas at the smaller of the two exponents, so they can be compared and added. */
  private static align(a: Quantity, b: Quantity): [bigint, bigint] {
    const exponent = Math.min(a.exponent, b.exponent);
    return [
      a.mantissa * 10n ** BigInt(a.exponent - exponent),
      b.mantissa * 10n ** BigInt(b.exponent - exponent),
    ];
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other`. */
  cmp(other: Quantity): -1 | 0 | 1 {
    const [a, b] = Quantity.align(this, other);
    return a === b ? 0 : a < b ? -1 : 1;
  }

  equals(other: Quantity): boolean {
    return this.cmp(other) === 0;
  }

  /** The sum; the format is this one's, or `other`'s when this is zero (as Kubernetes does). */
  add(other: Quantity): Quantity {
    const [a, b] = Quantity.align(this, other);
    return Quantity.of(
      a + b,
      Math.min(this.exponent, other.exponent),
      this.isZero() ? other.format : this.format,
    );
  }

  sub(other: Quantity): Quantity {
    return this.add(other.neg());
  }

  neg(): Quantity {
    return new Quantity(-this.mantissa, this.exponent, this.format);
  }

  /** The value at 10^scale, rounded up (away from zero): `scaledValue(-3)` is the milli value. */
  scaledValue(scale: number): bigint {
    const shift = this.exponent - scale;
    if (shift >= 0) return this.mantissa * 10n ** BigInt(shift);
    return divideAwayFromZero(this.mantissa, 10n ** BigInt(-shift));
  }

  /** The value in whole units, rounded up as Kubernetes' Value() does (`1500m` is 2). */
  value(): number {
    return toSafeNumber(this.scaledValue(0));
  }

  /** The value in thousandths, rounded up (`0.5` is 500, `1n` is 1). */
  milliValue(): number {
    return toSafeNumber(this.scaledValue(-3));
  }

  /** The quantity rounded up (away from zero) to 10^scale, e.g. `roundUp(-3)` to millis. */
  roundUp(scale: number): Quantity {
    if (this.exponent >= scale) return this;
    return Quantity.of(this.scaledValue(scale), scale, this.format);
  }

  /** The canonical form, as Kubernetes serialises quantities. */
  toString(): string {
    if (this.mantissa === 0n) return '0';
    const magnitude = this.mantissa < 0n ? -this.mantissa : this.mantissa;
    if (
      this.format === 'BinarySI' &&
      this.exponent >= 0 &&
      !(magnitude * 10n ** BigInt(this.exponent) < 1024n)
    ) {
      return formatBinary(this.mantissa * 10n ** BigInt(this.exponent));
    }
    // BinarySI that is fractional or smaller than 1024 prints as DecimalSI, which loses nothing.
    return formatDecimal(
      this.mantissa,
      this.exponent,
      this.format === 'DecimalExponent' ? 'DecimalExponent' : 'DecimalSI',
    );
  }

  toJSON(): string {
    return this.toString();
  }
}

function toBigInt(value: number | bigint): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`);
  return BigInt(value);
}

function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`quantity value ${value} does not fit in a JavaScript number exactly`);
  }
  return Number(value);
}

function divideAwayFromZero(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  if (quotient * denominator === numerator) return quotient;
  return numerator < 0n ? quotient - 1n : quotient + 1n;
}

function formatBinary(integer: bigint): string {
  let power = 0;
  while (integer % 1024n === 0n && power < BINARY_SUFFIX_BY_POWER.length - 1) {
    integer /= 1024n;
    power += 1;
  }
  return `${integer}${BINARY_SUFFIX_BY_POWER[power]}`;
}

function formatDecimal(mantissa: bigint, exponent: number, format: 'DecimalSI' | 'DecimalExponent'): string {
  // The exponent becomes a multiple of 3 and the mantissa stays an integer: 1.5 is 1500m, not 1.5.
  const remainder = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(remainder);
  exponent -= remainder;
  if (format === 'DecimalSI') {
    const suffix = DECIMAL_SUFFIX_BY_EXPONENT.get(exponent);
    // Beyond E (10^18) there is no SI suffix; Kubernetes then drops the exponent, we keep it.
    if (suffix !== undefined) return `${mantissa}${suffix}`;
  }
  return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
}

/** Parses a quantity; throws QuantityParseError naming the input. */
export function parseQuantity(text: string): Quantity {
  if (text === '') throw new QuantityParseError(text, FORMAT_WRONG);
  const parts = splitQuantity(text);
  if (!parts) throw new QuantityParseError(text, FORMAT_WRONG);
  const { negative, whole, fraction, suffix } = parts;
  const unit = interpretSuffix(suffix);
  if (!unit) throw new QuantityParseError(text, SUFFIX_WRONG);

  let mantissa = BigInt(whole + fraction);
  let exponent = -fraction.length;
  if (unit.base === 10) exponent += unit.exponent;
  else mantissa *= 1n << BigInt(unit.exponent);
  if (negative) mantissa = -mantissa;

  let format = unit.format;
  let amount = Quantity.of(mantissa, exponent, format).roundUp(NANO);
  if (format === 'BinarySI') {
    if (amount.cmp(Quantity.fromValue(MAX_BINARY)) > 0) amount = Quantity.fromValue(MAX_BINARY, format);
    if (amount.cmp(Quantity.fromValue(-MAX_BINARY)) < 0) amount = Quantity.fromValue(-MAX_BINARY, format);
    // A binary amount between 0 and 1 cannot use a binary suffix.
    if (amount.sign() > 0 && amount.cmp(Quantity.fromValue(1)) < 0) format = 'DecimalSI';
  }
  return amount.format === format ? amount : amount.withFormat(format);
}

/** Like parseQuantity, but undefined instead of an exception. */
export function tryParseQuantity(text: string): Quantity | undefined {
  try {
    return parseQuantity(text);
  } catch (error) {
    if (error instanceof QuantityParseError) return undefined;
    throw error;
  }
}

interface QuantityParts {
  negative: boolean;
  whole: string;
  fraction: string;
  suffix: string;
}

/** Sign, digits, optional `.digits`, then a suffix of unit letters and an optional signed exponent. */
function splitQuantity(text: string): QuantityParts | undefined {
  let pos = 0;
  let negative = false;
  if (text[pos] === '-' || text[pos] === '+') {
    negative = text[pos] === '-';
    pos += 1;
  }
  const wholeStart = pos;
  while (pos < text.length && isDigit(text[pos])) pos += 1;
  const whole = text.slice(wholeStart, pos) || '0';
  let fraction = '';
  if (text[pos] === '.') {
    pos += 1;
    const fractionStart = pos;
    while (pos < text.length && isDigit(text[pos])) pos += 1;
    fraction = text.slice(fractionStart, pos);
  }
  const suffixStart = pos;
  while (pos < text.length && SUFFIX_CHARS.includes(text[pos])) pos += 1;
  if (text[pos] === '-' || text[pos] === '+') pos += 1;
  while (pos < text.length && isDigit(text[pos])) pos += 1;
  if (pos !== text.length) return undefined;
  return { negative, whole, fraction, suffix: text.slice(suffixStart) };
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function interpretSuffix(
  suffix: string,
): { base: 2 | 10; exponent: number; format: QuantityFormat } | undefined {
  if (Object.prototype.hasOwnProperty.call(DECIMAL_SUFFIXES, suffix)) {
    return { base: 10, exponent: DECIMAL_SUFFIXES[suffix], format: 'DecimalSI' };
  }
  if (Object.prototype.hasOwnProperty.call(BINARY_SUFFIXES, suffix)) {
    return { base: 2, exponent: BINARY_SUFFIXES[suffix], format: 'BinarySI' };
  }
  if (
    suffix.length > 1 &&
    (suffix[0] === 'e' || suffix[0] === 'E') &&
    /^[+-]?[0-9]+$/.test(suffix.slice(1))
  ) {
    return { base: 10, exponent: Number(suffix.slice(1)), format: 'DecimalExponent' };
  }
  return undefined;
}

/** The canonical form of a quantity string (`0.5` → `500m`); throws QuantityParseError. */
export function canonicalQuantity(text: string): string {
  return parseQuantity(text).toString();
}
