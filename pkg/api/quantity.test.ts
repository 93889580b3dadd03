import { canonicalQuantity, parseQuantity, Quantity, QuantityParseError, tryParseQuantity } from './quantity';

describe('parseQuantity', () => {
  // input, canonical form, format, value (rounded up), milli value (rounded up)
  it.each([
    ['0', '0', 'DecimalSI', 0, 0],
    ['500m', '500m', 'DecimalSI', 1, 500],
    ['0.5', '500m', 'DecimalSI', 1, 500],
    ['100m', '100m', 'DecimalSI', 1, 100],
    ['0.1', '100m', 'DecimalSI', 1, 100],
    ['1500m', '1500m', 'DecimalSI', 2, 1500],
    ['1.5', '1500m', 'DecimalSI', 2, 1500],
    ['1.5k', '1500', 'DecimalSI', 1500, 1500000],
    ['2000', '2k', 'DecimalSI', 2000, 2000000],
    ['1G', '1G', 'DecimalSI', 1e9, 1e12],
    ['128Mi', '128Mi', 'BinarySI', 134217728, 134217728000],
    ['1.5Gi', '1536Mi', 'BinarySI', 1610612736, 1610612736000],
    ['1024Ki', '1Mi', 'BinarySI', 1048576, 1048576000],
    ['0.5Ki', '512', 'BinarySI', 512, 512000],
    ['1.1Ki', '1126400m', 'BinarySI', 1127, 1126400],
    ['2e3', '2e3', 'DecimalExponent', 2000, 2000000],
    ['1E3', '1e3', 'DecimalExponent', 1000, 1000000],
    ['1e3', '1e3', 'DecimalExponent', 1000, 1000000],
    ['12e6', '12e6', 'DecimalExponent', 12000000, 12000000000],
    ['1e-3', '1e-3', 'DecimalExponent', 1, 1],
    ['-1.5', '-1500m', 'DecimalSI', -2, -1500],
    ['+1', '1', 'DecimalSI', 1, 1000],
    ['0.0001', '100u', 'DecimalSI', 1, 1],
    ['1n', '1n', 'DecimalSI', 1, 1],
  ])('%s is %s (%s), value %d, milli %d', (input, canonical, format, value, milli) => {
    const quantity = parseQuantity(input);
    expect(quantity.toString()).toBe(canonical);
    expect(quantity.format).toBe(format);
    expect(quantity.value()).toBe(value);
    expect(quantity.milliValue()).toBe(milli);
  });

  it('rounds anything finer than a nano up, away from zero', () => {
    expect(parseQuantity('1e-10').toString()).toBe('1e-9');
    expect(parseQuantity('0.0000000001').toString()).toBe('1n');
    expect(parseQuantity('-0.0000000001').toString()).toBe('-1n');
  });

  it('caps binary amounts at the largest int64, as Kubernetes does', () => {
    expect(parseQuantity('8Ei').toString()).toBe('9223372036854775807');
  });

  it('keeps more than a float could: 2^63 + 1 bytes', () => {
    const big = parseQuantity('9223372036854775809');
    expect(big.scaledValue(0)).toBe(9223372036854775809n);
    expect(() => big.value()).toThrow(RangeError);
  });

  it.each([
    ['', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ['abc', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ['1.5.5', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    [' 1', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ['1K', "unable to parse quantity's suffix"],
    ['1e', "unable to parse quantity's suffix"],
    ['1Mi2', "unable to parse quantity's suffix"],
  ])('rejects %j: %s', (input, reason) => {
    let caught: unknown;
    try {
      parseQuantity(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QuantityParseError);
    expect((caught as QuantityParseError).reason).toBe(reason);
    expect((caught as QuantityParseError).message).toBe(
      `cannot parse quantity ${JSON.stringify(input)}: ${reason}`,
    );
    expect(tryParseQuantity(input)).toBeUndefined();
  });
});

describe('Quantity arithmetic', () => {
  const q = parseQuantity;

  it('compares different notations of the same amount as equal', () => {
    expect(q('100m').equals(q('0.1'))).toBe(true);
    expect(q('1Ki').equals(q('1024'))).toBe(true);
    expect(q('1e3').equals(q('1k'))).toBe(true);
    expect(q('0').equals(q('0Mi'))).toBe(true);
  });

  it('orders quantities exactly', () => {
    expect(q('1Gi').cmp(q('1G'))).toBe(1);
    expect(q('999m').cmp(q('1'))).toBe(-1);
    expect(q('-1').cmp(q('0'))).toBe(-1);
    expect(q('1n').cmp(q('0'))).toBe(1);
  });

  it('adds and subtracts without float drift', () => {
    expect(q('0.1').add(q('0.2')).toString()).toBe('300m');
    expect(q('1Gi').sub(q('512Mi')).toString()).toBe('512Mi');
    expect(q('1').sub(q('1500m')).toString()).toBe('-500m');
    expect(q('100m').add(q('900m')).toString()).toBe('1');
  });

  it("keeps the left operand's format, or the right one's when the left is zero", () => {
    expect(q('1Ki').add(q('1k')).format).toBe('BinarySI');
    expect(q('0').add(q('1Ki')).format).toBe('BinarySI');
  });

  it('builds from integers and millis', () => {
    expect(Quantity.fromMilli(1500).toString()).toBe('1500m');
    expect(Quantity.fromValue(3, 'BinarySI').toString()).toBe('3');
    expect(Quantity.fromValue(3 * 1024 * 1024, 'BinarySI').toString()).toBe('3Mi');
    expect(() => Quantity.fromValue(1.5)).toThrow(RangeError);
  });

  it('rounds up to a scale', () => {
    expect(q('0.0001').roundUp(-3).toString()).toBe('1m');
    expect(q('1.5').roundUp(0).toString()).toBe('2');
    expect(q('-1.5').roundUp(0).toString()).toBe('-2');
    expect(q('250m').roundUp(-3).toString()).toBe('250m');
  });

  it('serialises to its canonical string', () => {
    expect(JSON.stringify({ cpu: q('0.5') })).toBe('{"cpu":"500m"}');
    expect(canonicalQuantity('1536Mi')).toBe('1536Mi');
  });
});
