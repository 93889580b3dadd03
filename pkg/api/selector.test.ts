import {
  labelSelectorMatches,
  parseSelector,
  Requirement,
  Selector,
  selectorFromLabelSelector,
  SelectorParseError,
} from './selector';

describe('parseSelector', () => {
  const labels = { app: 'web', tier: 'frontend', env: 'prod', replicas: '3' };

  // selector, matches `labels`?
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['app!=api', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['env in (prod,staging)', true],
    ['env in (staging)', false],
    ['env notin (dev)', true],
    ['env notin (prod)', false],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['replicas>2', true],
    ['replicas<3', false],
    ['app>2', false],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['a=b,c!=d,e in (x,y),f notin (z),g,!h', false],
    ['app=web,tier!=backend,env in (prod,dev),zone notin (us),app,!debug', true],
    ['  app = web , tier   in   (frontend)  ', true],
    ['in in (in)', false],
  ])('%j matches: %s', (text, expected) => {
    expect(parseSelector(text).matches(labels)).toBe(expected);
  });

  it('matches a missing key with an empty value only through notin or !=', () => {
    expect(parseSelector('a=').matches({ a: '' })).toBe(true);
    expect(parseSelector('a=').matches({})).toBe(false);
    expect(parseSelector('a in (x,)').matches({ a: '' })).toBe(true);
  });

  it('prints the canonical form: keys and values sorted', () => {
    expect(parseSelector('z=1,a in (y,x),!m,k').toString()).toBe('a in (x,y),k,!m,z=1');
    expect(parseSelector('b>3,a<4').toString()).toBe('a<4,b>3');
  });

  it.each([
    ['a=b,', "found '', expected: identifier after ','"],
    ['=b', "found '=', expected: !, identifier, or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    [
      'a>b',
      "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    ['a=b c d', "found 'c', expected: ',' or 'end of string'"],
    [
      '-a=b',
      expect.stringContaining(
        'unable to parse requirement: key: Invalid value: "-a": name part must consist of alphanumeric characters',
      ),
    ],
    [
      'a=-b',
      expect.stringContaining(
        'unable to parse requirement: values[0][a]: Invalid value: "-b": a valid label must be',
      ),
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseSelector(text)).toThrow(SelectorParseError);
    try {
      parseSelector(text);
    } catch (error) {
      expect((error as Error).message).toEqual(message);
    }
  });
});

describe('selectorFromLabelSelector', () => {
  it('matches everything when empty', () => {
    expect(selectorFromLabelSelector({}).matches({ any: 'thing' })).toBe(true);
    expect(selectorFromLabelSelector({}).matches(undefined)).toBe(true);
    expect(selectorFromLabelSelector({ matchLabels: {}, matchExpressions: [] }).isEmpty()).toBe(true);
  });

  it('matches nothing when missing, as LabelSelectorAsSelector(nil)', () => {
    expect(labelSelectorMatches(undefined, { app: 'web' })).toBe(false);
    expect(labelSelectorMatches(null, {})).toBe(false);
    expect(Selector.nothing().isEmpty()).toBe(false);
  });

  it('combines matchLabels and every operator of matchExpressions', () => {
    const selector = selectorFromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'zone', operator: 'NotIn', values: ['us-east'] },
        { key: 'tier', operator: 'Exists' },
        { key: 'debug', operator: 'DoesNotExist' },
      ],
    });
    expect(selector.toString()).toBe('app=web,!debug,env in (prod,staging),tier,zone notin (us-east)');
    expect(selector.matches({ app: 'web', env: 'prod', tier: 'fe' })).toBe(true);
    expect(selector.matches({ app: 'web', env: 'prod', tier: 'fe', zone: 'us-east' })).toBe(false);
    expect(selector.matches({ app: 'web', env: 'dev', tier: 'fe' })).toBe(false);
    expect(selector.matches({ app: 'web', env: 'prod' })).toBe(false);
    expect(selector.matches({ app: 'web', env: 'prod', tier: 'fe', debug: '1' })).toBe(false);
  });

  it('rejects an unknown operator and invalid keys', () => {
    expect(() =>
      selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Equals' as 'In' }] }),
    ).toThrow('"Equals" is not a valid label selector operator');
    expect(() =>
      selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
    ).toThrow("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
    expect(() => selectorFromLabelSelector({ matchLabels: { 'bad key': 'x' } })).toThrow(SelectorParseError);
  });

  it('builds a selector from a label set', () => {
    const selector = Selector.fromLabels({ b: '2', a: '1' });
    expect(selector.toString()).toBe('a=1,b=2');
    expect(selector.matches({ a: '1', b: '2', c: '3' })).toBe(true);
    expect(new Requirement('a', 'exists', []).toString()).toBe('a');
  });
});
