// Keys and trust: proxies, X-Forwarded-For rotation, IPv6 subnets, IPv4-mapped addresses, ports,
// spoofing, and the proxy-trust warnings. The bucket of a response is read from its RateLimit-Policy
// partition key (a hash of the rate-limit key).
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_IPV6_SUBNET, type PolicyOptions, ipKey } from '@vigil/rate-limit';
import { type AppSettings, type FrameworkName, buildApp } from './support/apps';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';
import { header, nonLoopbackIPv4 } from './support/http';
import {
  LoggerCapture,
  formatTable,
  jsonLines,
  partitionKey,
  partitionOf,
  remainingOf,
} from './support/signals';

const limiters: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((l) => l.close()));
  await closeServers();
});

interface Row {
  framework: string;
  setting: string;
  variant: string;
  source: string;
  'x-forwarded-for': string;
  expected: string;
  observed: string;
  same: boolean;
}
const table: Row[] = [];
afterAll(() => {
  // One line per (setting, variant, expected bucket, observed bucket), with how many requests it covers.
  const groups = new Map<
    string,
    { row: Row; requests: number; xff: Set<string>; frameworks: Set<string> }
  >();
  for (const row of table) {
    const key = [row.setting, row.variant, row.source, row.expected, row.observed].join('|');
    const group = groups.get(key) ?? {
      row,
      requests: 0,
      xff: new Set<string>(),
      frameworks: new Set<string>(),
    };
    group.requests++;
    group.frameworks.add(row.framework);
    if (row['x-forwarded-for'] !== '') group.xff.add(row['x-forwarded-for']);
    groups.set(key, group);
  }
  const lines = [...groups.values()].map(({ row, requests, xff, frameworks }) => ({
    frameworks: [...frameworks].join('+'),
    setting: row.setting,
    variant: row.variant,
    requests,
    source: row.source,
    'x-forwarded-for':
      xff.size <= 1
        ? ([...xff][0] ?? '')
        : `${xff.size} values: ${[...xff].slice(0, 2).join(' | ')} ...`,
    expected: row.expected,
    observed: row.observed,
    same: row.same,
  }));
  const mismatches = table.filter((r) => !r.same).length;
  console.log(
    `\nkeys: ${table.length} requests tried, ${new Set(table.map((r) => r.observed)).size} distinct buckets observed, ${mismatches} not in the expected bucket\n${formatTable(lines)}\n`,
  );
});

describe('ipKey', () => {
  it.each([
    ['1.2.3.4', DEFAULT_IPV6_SUBNET, '1.2.3.4'],
    ['::ffff:1.2.3.4', 56, '1.2.3.4'],
    ['::FFFF:1.2.3.4', 56, '1.2.3.4'],
    ['::ffff:0102:0304', 56, '1.2.3.4'],
    ['0:0:0:0:0:ffff:102:304', 56, '1.2.3.4'],
    ['::1.2.3.4', 56, '1.2.3.4'],
    ['[::ffff:1.2.3.4]:80', 56, '1.2.3.4'],
    ['[::ffff:1.2.3.4]', 56, '1.2.3.4'],
    ['1.2.3.4:5555', 56, '1.2.3.4'],
    ['1.2.3.4:6666', false, '1.2.3.4'],
    ['2001:db8:1:2::1', 56, '2001:db8:1::/56'],
    ['2001:db8:1:ff:ffff:ffff:ffff:ffff', 56, '2001:db8:1::/56'],
    ['2001:DB8:1:2::1', 56, '2001:db8:1::/56'],
    ['2001:db8:1:100::1', 56, '2001:db8:1:100::/56'],
    ['[2001:db8:1:2::1]:443', 56, '2001:db8:1::/56'],
    ['2001:db8:1:2::1', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', 64, '2001:db8:1:3::/64'],
    ['2001:db8:1:2::1', false, '2001:db8:1:2::1'],
    ['::1', 56, '::/56'],
    ['not-an-address', 56, 'not-an-address'],
    ['999.1.1.1:80', 56, '999.1.1.1:80'],
    ['', 56, 'unknown'],
    [undefined, 56, 'unknown'],
  ] as const)('should key %j with subnet %s as %j', (ip, subnet, expected) => {
    expect(ipKey(ip, subnet)).toBe(expected);
  });

  it('should default to the /56 subnet', () => {
    expect(DEFAULT_IPV6_SUBNET).toBe(56);
    expect(ipKey('2001:db8:1:2::1')).toBe('2001:db8:1::/56');
  });
});

/** How the app trusts proxies, and how a client's requests reach it. */
interface Setting {
  label: string;
  framework: FrameworkName;
  trust: Pick<AppSettings, 'trustProxy' | 'proxy' | 'maxIpsCount'>;
}

interface Variant {
  label: string;
  xff?: string;
  /** Source address of the connection (default 127.0.0.1). */
  source?: string;
  /** The key the request must be counted under. */
  bucket: string;
}

const EXPRESS = ['express4', 'express5'] as const;
const KOA = ['koa2', 'koa3'] as const;

/** Settings where the loopback client is not a trusted proxy: X-Forwarded-For must be ignored. */
const UNTRUSTED: Setting[] = [
  ...EXPRESS.map((framework) => ({
    label: 'trust proxy false',
    framework,
    trust: { trustProxy: false },
  })),
  ...EXPRESS.map((framework) => ({
    label: 'trust proxy 10.0.0.1',
    framework,
    trust: { trustProxy: '10.0.0.1' },
  })),
  ...KOA.map((framework) => ({
    label: 'proxy false',
    framework,
    trust: { proxy: false },
  })),
];

/** Settings where the loopback client is the trusted proxy, which appends the client address. */
const BEHIND_PROXY: Setting[] = [
  ...EXPRESS.map((framework) => ({
    label: 'trust proxy loopback',
    framework,
    trust: { trustProxy: 'loopback' },
  })),
  ...EXPRESS.map((framework) => ({
    label: 'trust proxy 1',
    framework,
    trust: { trustProxy: 1 },
  })),
  ...KOA.map((framework) => ({
    label: 'proxy true maxIpsCount 1',
    framework,
    trust: { proxy: true, maxIpsCount: 1 },
  })),
];

/** What a client puts in X-Forwarded-For to get a fresh bucket, or someone else's. */
const SPOOFS = [
  '1.1.1.1',
  '8.8.8.8',
  '10.0.0.7',
  '127.0.0.2',
  '2001:db8::1',
  '::ffff:9.9.9.9',
  '1.2.3.4:80',
  'garbage',
  '203.0.113.7, 198.51.100.1',
  'unknown',
];

/** Sends each variant to a fresh app and returns the bucket of each response. */
async function observe(
  setting: Setting,
  variants: readonly Variant[],
  options: { policy?: Partial<PolicyOptions>; ipv6Subnet?: number | false } = {},
): Promise<Row[]> {
  const logger = new LoggerCapture();
  const app = buildApp(setting.framework, {
    ...setting.trust,
    options: {
      registry: false,
      logger,
      ipv6Subnet: options.ipv6Subnet,
      policies: [{ name: 'ip', limit: 1000, windowMs: 60_000, ...options.policy }],
    },
  });
  limiters.push(app.limiter);
  const { origin } = await startServer(app.listener);
  // Buckets are named back from their partition keys among every key the variants could produce.
  const names = new Map<string, string>();
  for (const v of variants) {
    for (const k of [v.bucket, v.source ?? '127.0.0.1', ...(v.xff ?? '').split(',')]) {
      const key = k.trim();
      for (const candidate of [key, ipKey(key, options.ipv6Subnet ?? 56)]) {
        names.set(partitionKey(candidate), candidate);
      }
    }
  }
  const rows: Row[] = [];
  for (const v of variants) {
    const reply = await rawRequest(origin, '/', {
      headers: v.xff === undefined ? {} : { 'x-forwarded-for': v.xff },
      localAddress: v.source,
    });
    expect(reply.status).toBe(200);
    const pk = partitionOf(header(reply, 'RateLimit-Policy'), 'ip') ?? 'none';
    const observed = names.get(pk) ?? `pk ${pk}`;
    rows.push({
      framework: setting.framework,
      setting: setting.label + (options.ipv6Subnet === 64 ? ', ipv6Subnet 64' : ''),
      variant: v.label,
      source: v.source ?? '127.0.0.1',
      'x-forwarded-for': v.xff ?? '',
      expected: v.bucket,
      observed,
      same: observed === v.bucket,
    });
  }
  table.push(...rows);
  return rows;
}

const buckets = (rows: Row[]) => rows.map((r) => `${r.variant} -> ${r.observed}`);
const expectedBuckets = (rows: Row[]) => rows.map((r) => `${r.variant} -> ${r.expected}`);

describe('a direct client rotating X-Forwarded-For', () => {
  it.each(UNTRUSTED)('should stay in one bucket on $framework $label', async (setting) => {
    const variants: Variant[] = SPOOFS.map((xff) => ({
      label: 'direct, rotating',
      xff,
      bucket: '127.0.0.1',
    }));
    const rows = await observe(setting, [{ label: 'direct', bucket: '127.0.0.1' }, ...variants]);
    expect(buckets(rows)).toEqual(expectedBuckets(rows));
  });

  const direct = nonLoopbackIPv4();
  it.skipIf(direct === undefined).each(EXPRESS)(
    'should stay in one bucket when it is not the proxy trusted by %s trust proxy loopback',
    async (framework) => {
      const source = direct as string;
      const rows = await observe(
        { label: 'trust proxy loopback', framework, trust: { trustProxy: 'loopback' } },
        SPOOFS.map((xff) => ({ label: 'direct non-loopback', xff, source, bucket: source })),
      );
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );

  it.each(BEHIND_PROXY)(
    'should stay in its own bucket behind the proxy trusted by $framework $label',
    async (setting) => {
      const client = '203.0.113.7';
      const rows = await observe(setting, [
        { label: 'via proxy', xff: client, bucket: client },
        ...SPOOFS.map((spoof) => ({
          label: 'via proxy, rotating',
          xff: `${spoof}, ${client}`,
          bucket: client,
        })),
      ]);
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );
});

describe('IPv6 clients', () => {
  const SAME_56 = [
    '2001:db8:1:2::1',
    '2001:db8:1:2::ffff',
    '2001:db8:1:2:aaaa::1',
    '2001:db8:1:ff::1',
  ];
  it.each(BEHIND_PROXY)('should share one bucket per /56 on $framework $label', async (setting) => {
    const rows = await observe(setting, [
      ...SAME_56.map((a) => ({ label: 'same /56', xff: a, bucket: '2001:db8:1::/56' })),
      { label: 'other /56', xff: '2001:db8:1:100::1', bucket: '2001:db8:1:100::/56' },
      { label: 'other /56', xff: '2001:db8:2::1', bucket: '2001:db8:2::/56' },
    ]);
    expect(buckets(rows)).toEqual(expectedBuckets(rows));
  });

  it.each(BEHIND_PROXY)(
    'should share one bucket per /64 with ipv6Subnet 64 on $framework $label',
    async (setting) => {
      const rows = await observe(
        setting,
        [
          { label: 'same /64', xff: '2001:db8:1:2::1', bucket: '2001:db8:1:2::/64' },
          {
            label: 'same /64',
            xff: '2001:db8:1:2:ffff:ffff:ffff:ffff',
            bucket: '2001:db8:1:2::/64',
          },
          { label: 'same /64', xff: '2001:DB8:1:2::abcd', bucket: '2001:db8:1:2::/64' },
          { label: 'other /64', xff: '2001:db8:1:3::1', bucket: '2001:db8:1:3::/64' },
        ],
        { ipv6Subnet: 64 },
      );
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );

  it.each(BEHIND_PROXY)(
    'should still key a custom key function returning the address by subnet on $framework $label',
    async (setting) => {
      const rows = await observe(
        setting,
        [
          { label: 'fn -> ip', xff: '2001:db8:1:2::1', bucket: '2001:db8:1::/56' },
          { label: 'fn -> ip', xff: '2001:db8:1:2::2', bucket: '2001:db8:1::/56' },
          { label: 'fn -> ip', xff: '1.2.3.4', bucket: '1.2.3.4' },
        ],
        { policy: { key: ({ ip }) => ip } },
      );
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );
});

describe('IPv4-mapped addresses and addresses with a port', () => {
  const MAPPED: Variant[] = [
    { label: 'IPv4', xff: '1.2.3.4', bucket: '1.2.3.4' },
    { label: 'mapped', xff: '::ffff:1.2.3.4', bucket: '1.2.3.4' },
    { label: 'mapped hex', xff: '::ffff:0102:0304', bucket: '1.2.3.4' },
    { label: 'mapped long', xff: '0:0:0:0:0:ffff:1.2.3.4', bucket: '1.2.3.4' },
  ];
  const WITH_PORT: Variant[] = [
    { label: 'IPv4', xff: '1.2.3.4', bucket: '1.2.3.4' },
    { label: 'IPv4:port', xff: '1.2.3.4:5555', bucket: '1.2.3.4' },
    { label: 'IPv4:port', xff: '1.2.3.4:6666', bucket: '1.2.3.4' },
    { label: '[mapped]:port', xff: '[::ffff:1.2.3.4]:80', bucket: '1.2.3.4' },
    { label: '[IPv6]:port', xff: '[2001:db8:1:2::1]:443', bucket: '2001:db8:1::/56' },
  ];

  it.each(BEHIND_PROXY)(
    'should key IPv4-mapped IPv6 as the IPv4 address on $framework $label',
    async (setting) => {
      const rows = await observe(setting, MAPPED);
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );

  it.each(BEHIND_PROXY.filter((s) => s.framework.startsWith('koa')))(
    'should key an address with a port as the address on $framework $label',
    async (setting) => {
      const rows = await observe(setting, WITH_PORT);
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );

  it.each(BEHIND_PROXY.filter((s) => s.framework.startsWith('express')))(
    'should key an address with a port as the address on $framework $label',
    async (setting) => {
      const rows = await observe(setting, WITH_PORT);
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );

  it.each(BEHIND_PROXY.filter((s) => s.framework.startsWith('express')))(
    'should key an address with a port as the address under key "user" without a user on $framework $label',
    async (setting) => {
      const rows = await observe(
        setting,
        WITH_PORT.map((v) => ({ ...v, label: `${v.label}, key user` })),
        { policy: { key: 'user' } },
      );
      expect(buckets(rows)).toEqual(expectedBuckets(rows));
    },
  );
});

describe("another client's quota", () => {
  const serve = async (setting: Setting) => {
    const app = buildApp(setting.framework, {
      ...setting.trust,
      options: {
        registry: false,
        logger: new LoggerCapture(),
        policies: [{ name: 'ip', limit: 3, windowMs: 60_000 }],
      },
    });
    limiters.push(app.limiter);
    const { origin } = await startServer(app.listener);
    return origin;
  };

  it.each(UNTRUSTED)(
    'should not be spent by a client naming the victim in X-Forwarded-For on $framework $label',
    async (setting) => {
      const victim = '127.0.0.2';
      const origin = await serve(setting);
      const attacker: number[] = [];
      for (let i = 0; i < 8; i++) {
        const reply = await rawRequest(origin, '/', { headers: { 'x-forwarded-for': victim } });
        attacker.push(reply.status);
      }
      expect(attacker).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
      const first = await rawRequest(origin, '/', { localAddress: victim });
      expect(first.status).toBe(200);
      expect(remainingOf(header(first, 'RateLimit'), 'ip')).toBe(2);
      table.push({
        framework: setting.framework,
        setting: setting.label,
        variant: 'attacker spoofs victim (8 requests)',
        source: '127.0.0.1',
        'x-forwarded-for': victim,
        expected: 'victim keeps r=2',
        observed: `victim r=${remainingOf(header(first, 'RateLimit'), 'ip')}`,
        same: true,
      });
    },
  );

  it.each(BEHIND_PROXY)(
    'should not be spent through the proxy trusted by $framework $label',
    async (setting) => {
      const victim = '203.0.113.77';
      const attackerAddress = '203.0.113.66';
      const origin = await serve(setting);
      for (let i = 0; i < 8; i++) {
        await rawRequest(origin, '/', {
          headers: { 'x-forwarded-for': `${victim}, ${attackerAddress}` },
        });
      }
      const first = await rawRequest(origin, '/', { headers: { 'x-forwarded-for': victim } });
      expect(first.status).toBe(200);
      expect(remainingOf(header(first, 'RateLimit'), 'ip')).toBe(2);
      table.push({
        framework: setting.framework,
        setting: setting.label,
        variant: 'attacker spoofs victim via proxy (8)',
        source: '127.0.0.1',
        'x-forwarded-for': `${victim}, ${attackerAddress}`,
        expected: 'victim keeps r=2',
        observed: `victim r=${remainingOf(header(first, 'RateLimit'), 'ip')}`,
        same: true,
      });
    },
  );
});

describe('proxy-trust warnings', () => {
  async function warnings(
    framework: FrameworkName,
    trust: Setting['trust'],
    headers: Record<string, string> = {},
  ) {
    const { stream, lines } = jsonLines();
    const logger = pino({ level: 'warn' }, stream);
    const app = buildApp(framework, {
      ...trust,
      options: {
        registry: false,
        logger,
        policies: [
          { name: 'a', limit: 100, windowMs: 60_000 },
          { name: 'b', limit: 100, windowMs: 60_000 },
        ],
      },
    });
    limiters.push(app.limiter);
    const { origin } = await startServer(app.listener);
    for (let i = 0; i < 5; i++)
      expect((await rawRequest(origin, '/', { headers })).status).toBe(200);
    return lines;
  }

  it.each(EXPRESS)(
    "should warn once through the logger when %s 'trust proxy' is true",
    async (fw) => {
      const lines = await warnings(fw, { trustProxy: true }, { 'x-forwarded-for': '9.9.9.9' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 40,
        component: '@vigil/rate-limit expressRateLimit',
        problem: 'permissive-trust-proxy',
      });
      expect(String(lines[0]?.err)).toContain("'trust proxy' is true");
    },
  );

  it.each(KOA)(
    'should warn once through the logger when %s app.proxy has no maxIpsCount',
    async (fw) => {
      const lines = await warnings(fw, { proxy: true }, { 'x-forwarded-for': '9.9.9.9' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 40,
        component: '@vigil/rate-limit koaRateLimit',
        problem: 'permissive-proxy',
      });
    },
  );

  it.each([
    { fw: 'express5' as const, trust: { trustProxy: false } },
    { fw: 'koa3' as const, trust: { proxy: false } },
  ])(
    'should warn once about X-Forwarded-For reaching $fw with no trusted proxy',
    async ({ fw, trust }) => {
      const lines = await warnings(fw, trust, { 'x-forwarded-for': '9.9.9.9' });
      expect(lines.map((l) => l.problem)).toEqual(['unexpected-x-forwarded-for']);
    },
  );

  it.each([
    { fw: 'express4' as const, trust: { trustProxy: 'loopback' } },
    { fw: 'express5' as const, trust: { trustProxy: 1 } },
    { fw: 'koa2' as const, trust: { proxy: true, maxIpsCount: 1 } },
    { fw: 'koa3' as const, trust: { proxy: false } },
  ])('should not warn when $fw names its proxy', async ({ fw, trust }) => {
    const xff: Record<string, string> =
      'proxy' in trust && trust.proxy === false ? {} : { 'x-forwarded-for': '9.9.9.9' };
    expect(await warnings(fw, trust, xff)).toEqual([]);
  });
});
