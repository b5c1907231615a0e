// Which dashboards, sections and panels Vigil's signals give, with their PromQL (no SDK here).
import type { DashboardSpec, PanelSpec, SectionSpec, TargetSpec } from './model';
import type { BusinessMetric, ResolvedDashboardsOptions, SloInfo } from './options';

/** The range of rate() and increase(): Grafana picks it from the scrape interval and the step. */
const RANGE = '[$__rate_interval]';
const QUANTILES = [0.5, 0.9, 0.99] as const;

/** A selector on the `job` and `instance` variables, with more matchers. */
function sel(...matchers: string[]): string {
  return `{${['job=~"$job"', 'instance=~"$instance"', ...matchers].join(',')}}`;
}

function sumBy(labels: readonly string[], expr: string): string {
  return labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(', ')}) (${expr})`;
}

function rate(metric: string, ...matchers: string[]): string {
  return `rate(${metric}${sel(...matchers)}${RANGE})`;
}

function quantile(q: number, metric: string, by: readonly string[], ...matchers: string[]): string {
  return `histogram_quantile(${q}, ${sumBy(['le', ...by], rate(`${metric}_bucket`, ...matchers))})`;
}

/**
 * `part / whole` by `by`, where groups with no `part` series count as 0 instead of vanishing (a
 * route that never failed has no 5xx series, and its error ratio is 0, not unknown).
 */
function ratio(by: readonly string[], part: string, whole: string): string {
  return `(${sumBy(by, part)} or ${sumBy(by, whole)} * 0) / ${sumBy(by, whole)}`;
}

function legend(labels: readonly string[]): string {
  return labels.length === 0 ? '' : labels.map((l) => `{{${l}}}`).join(' ');
}

/** Grafana's unit id for a Prometheus base unit, as a value or as a per-second rate. */
function grafanaUnit(unit: string | null, perSecond: boolean): string {
  if (unit === 'seconds') return perSecond ? 's' : 's';
  if (unit === 'bytes') return perSecond ? 'Bps' : 'bytes';
  if (unit === 'ratio') return 'percentunit';
  return perSecond ? 'ops' : 'short';
}

function panel(p: Omit<PanelSpec, 'width' | 'height'> & { width?: number; height?: number }) {
  return { width: 12, height: 8, ...p } as PanelSpec;
}

function stat(title: string, description: string, expr: string, unit: string, metrics: string[]) {
  return panel({
    kind: 'stat',
    title,
    description,
    unit,
    width: 6,
    height: 4,
    targets: [{ expr, instant: true }],
    metrics,
  });
}

function quantileTargets(metric: string, by: readonly string[]): TargetSpec[] {
  return QUANTILES.map((q) => ({
    expr: quantile(q, metric, by),
    legend: `p${q * 100}${by.length > 0 ? ` ${legend(by)}` : ''}`,
  }));
}

function httpSections(o: ResolvedDashboardsOptions): SectionSpec[] {
  const p = o.prefix;
  const requests = `${p}http_requests_total`;
  const duration = `${p}http_request_duration_seconds`;
  const inFlight = `${p}http_requests_in_flight`;
  const reqSize = `${p}http_request_size_bytes`;
  const resSize = `${p}http_response_size_bytes`;
  const failed = rate(requests, 'status_code=~"5.."');
  const answered = rate(requests, 'status_code!="aborted"');
  return [
    {
      title: 'Overview',
      panels: [
        stat(
          'Request rate',
          'Requests per second, all routes.',
          sumBy([], rate(requests)),
          'reqps',
          [requests],
        ),
        stat(
          'Error ratio',
          'Share of answered requests with a 5xx status (aborted requests left out).',
          ratio([], failed, answered),
          'percentunit',
          [requests],
        ),
        stat(
          'Latency p99',
          'The 0.99 quantile of request durations, estimated from the histogram buckets.',
          quantile(0.99, duration, []),
          's',
          [duration],
        ),
        stat('In flight', 'Requests being served now.', sumBy([], `${inFlight}${sel()}`), 'short', [
          inFlight,
        ]),
      ],
    },
    {
      title: 'Traffic and errors',
      panels: [
        panel({
          kind: 'timeseries',
          title: 'Requests by route',
          description: 'Requests per second by method and route template.',
          unit: 'reqps',
          targets: [
            { expr: sumBy(['method', 'route'], rate(requests)), legend: '{{method}} {{route}}' },
          ],
          metrics: [requests],
        }),
        panel({
          kind: 'timeseries',
          title: 'Requests by status',
          description: 'Requests per second by status code (`aborted` when the client left first).',
          unit: 'reqps',
          targets: [{ expr: sumBy(['status_code'], rate(requests)), legend: '{{status_code}}' }],
          metrics: [requests],
        }),
        panel({
          kind: 'timeseries',
          title: 'Error ratio by route',
          description:
            'Share of answered requests with a 5xx status, by route (0 for a route without errors).',
          unit: 'percentunit',
          min: 0,
          targets: [
            {
              expr: ratio(['method', 'route'], failed, answered),
              legend: '{{method}} {{route}}',
            },
          ],
          metrics: [requests],
        }),
        panel({
          kind: 'timeseries',
          title: 'Requests in flight',
          description: 'Requests being served, by method.',
          unit: 'short',
          targets: [{ expr: sumBy(['method'], `${inFlight}${sel()}`), legend: '{{method}}' }],
          metrics: [inFlight],
        }),
      ],
    },
    {
      title: 'Latency',
      panels: [
        panel({
          kind: 'timeseries',
          title: 'Latency quantiles',
          description: 'p50, p90 and p99 of request durations, all routes.',
          unit: 's',
          targets: quantileTargets(duration, []),
          metrics: [duration],
        }),
        panel({
          kind: 'heatmap',
          title: 'Latency heatmap',
          description: 'Requests per duration bucket.',
          unit: 's',
          targets: [
            {
              expr: sumBy(['le'], `increase(${duration}_bucket${sel()}${RANGE})`),
              legend: '{{le}}',
              format: 'heatmap',
            },
          ],
          metrics: [duration],
        }),
        panel({
          kind: 'timeseries',
          title: 'Latency p99 by route',
          description: 'The 0.99 quantile of request durations by method and route.',
          unit: 's',
          targets: [
            { expr: quantile(0.99, duration, ['method', 'route']), legend: '{{method}} {{route}}' },
          ],
          metrics: [duration],
        }),
        panel({
          kind: 'timeseries',
          title: 'Payload sizes p90 by route',
          description: 'The 0.9 quantile of request and response body sizes by route.',
          unit: 'bytes',
          targets: [
            { expr: quantile(0.9, reqSize, ['route']), legend: 'request {{route}}' },
            { expr: quantile(0.9, resSize, ['route']), legend: 'response {{route}}' },
          ],
          metrics: [reqSize, resSize],
        }),
      ],
    },
    {
      title: 'Routes',
      panels: [
        panel({
          kind: 'table',
          title: 'Routes',
          description: 'Per route: requests per second, error ratio and p99 latency now.',
          width: 24,
          height: 10,
          targets: [
            {
              expr: sumBy(['method', 'route'], rate(requests)),
              instant: true,
              format: 'table',
              column: { title: 'Requests/s', unit: 'reqps' },
            },
            {
              expr: ratio(['method', 'route'], failed, answered),
              instant: true,
              format: 'table',
              column: { title: 'Error ratio', unit: 'percentunit' },
            },
            {
              expr: quantile(0.99, duration, ['method', 'route']),
              instant: true,
              format: 'table',
              column: { title: 'p99', unit: 's' },
            },
          ],
          metrics: [requests, duration],
        }),
      ],
    },
  ];
}

function businessPanels(m: BusinessMetric): PanelSpec[] {
  const help = m.help === '' ? m.name : m.help;
  const by = m.labelNames;
  switch (m.type) {
    case 'counter':
      return [
        panel({
          kind: 'timeseries',
          title: `${m.name} rate`,
          description: `${help}. Per second${by.length > 0 ? `, by ${by.join(', ')}` : ''}.`,
          unit: grafanaUnit(m.unit, true),
          targets: [{ expr: sumBy(by, rate(m.name)), legend: legend(by) || m.name }],
          metrics: [m.name],
        }),
      ];
    case 'gauge':
      return [
        panel({
          kind: 'timeseries',
          title: m.name,
          description: `${help}${by.length > 0 ? `. By ${by.join(', ')}` : ''}.`,
          unit: grafanaUnit(m.unit, false),
          targets: [{ expr: sumBy(by, `${m.name}${sel()}`), legend: legend(by) || m.name }],
          metrics: [m.name],
        }),
      ];
    case 'histogram':
      return [
        panel({
          kind: 'timeseries',
          title: `${m.name} quantiles`,
          description: `${help}. p50, p90 and p99, estimated from the buckets.`,
          unit: grafanaUnit(m.unit, false),
          targets: quantileTargets(m.name, []),
          metrics: [m.name],
        }),
        panel({
          kind: 'timeseries',
          title: `${m.name} observations`,
          description: `${help}. Observations per second${by.length > 0 ? `, by ${by.join(', ')}` : ''}.`,
          unit: 'ops',
          targets: [{ expr: sumBy(by, rate(`${m.name}_count`)), legend: legend(by) || m.name }],
          metrics: [m.name],
        }),
      ];
  }
}

function rateLimitSection(): SectionSpec {
  const metric = 'rate_limit_requests_total';
  return {
    title: 'Rate limiting',
    panels: [
      panel({
        kind: 'timeseries',
        title: 'Rate-limit decisions',
        description:
          'Requests checked per second, by policy and result (allowed, limited, store_error).',
        unit: 'reqps',
        targets: [
          { expr: sumBy(['policy', 'result'], rate(metric)), legend: '{{policy}} {{result}}' },
        ],
        metrics: [metric],
      }),
      panel({
        kind: 'timeseries',
        title: 'Limited ratio by policy',
        description: 'Share of the requests each policy checked that it rejected with 429.',
        unit: 'percentunit',
        min: 0,
        targets: [
          {
            expr: ratio(['policy'], rate(metric, 'result="limited"'), rate(metric)),
            legend: '{{policy}}',
          },
        ],
        metrics: [metric],
      }),
      panel({
        kind: 'timeseries',
        title: 'Store errors by policy',
        description:
          'Checks per second that failed on the rate-limit store (Redis down): served or refused as the policy declares.',
        unit: 'reqps',
        targets: [
          {
            expr: `${sumBy(['policy'], rate(metric, 'result="store_error"'))} or ${sumBy(['policy'], rate(metric))} * 0`,
            legend: '{{policy}}',
          },
        ],
        metrics: [metric],
      }),
    ],
  };
}

function auditSection(): SectionSpec {
  const metric = 'audit_events_total';
  return {
    title: 'Audit',
    panels: [
      panel({
        kind: 'timeseries',
        title: 'Audit events',
        description: 'Audit events per second, by type and outcome.',
        unit: 'ops',
        targets: [
          { expr: sumBy(['type', 'outcome'], rate(metric)), legend: '{{type}} {{outcome}}' },
        ],
        metrics: [metric],
      }),
      panel({
        kind: 'timeseries',
        title: 'Audit events not successful',
        description:
          'Audit events per second whose outcome is not success (failures, denials), by type.',
        unit: 'ops',
        targets: [
          {
            expr: `${sumBy(['type'], rate(metric, 'outcome!="success"'))} or ${sumBy(['type'], rate(metric))} * 0`,
            legend: '{{type}}',
          },
        ],
        metrics: [metric],
      }),
    ],
  };
}

/** A selector of an SLO's recorded series: `slo`, and `job` when its rules carry one. */
function sloSel(slo: SloInfo): string {
  const matchers = [`slo="${slo.name}"`];
  if (slo.labels.includes('job')) matchers.unshift('job=~"$job"');
  return `{${matchers.join(',')}}`;
}

function sloSection(slo: SloInfo): SectionSpec {
  const s = sloSel(slo);
  const longest = slo.windows[slo.windows.length - 1];
  const panels: PanelSpec[] = [
    stat(
      'Objective',
      `The objective of SLO ${slo.name}.`,
      `slo:objective:ratio${s}`,
      'percentunit',
      ['slo:objective:ratio'],
    ),
    stat(
      'Error budget remaining',
      `Share of SLO ${slo.name}'s error budget left over its period (1 - error ratio / budget).`,
      `slo:error_budget:remaining_ratio${s}`,
      'percentunit',
      ['slo:error_budget:remaining_ratio'],
    ),
  ];
  if (longest !== undefined) {
    panels.push(
      stat(
        `Error ratio (${longest})`,
        `The SLI error ratio of SLO ${slo.name} over ${longest}.`,
        `slo:sli_error:ratio_rate${longest}${s}`,
        'percentunit',
        [`slo:sli_error:ratio_rate${longest}`],
      ),
      stat(
        `Burn rate (${slo.windows[0] ?? longest})`,
        `How fast SLO ${slo.name} spends its budget over the shortest window: 1 spends it exactly in the period.`,
        `slo:burn_rate:ratio_rate${slo.windows[0] ?? longest}${s}`,
        'short',
        [`slo:burn_rate:ratio_rate${slo.windows[0] ?? longest}`],
      ),
      panel({
        kind: 'timeseries',
        title: 'Burn rates',
        description: `Burn rates of SLO ${slo.name} over each window its alerts read.`,
        unit: 'short',
        width: 24,
        targets: slo.windows.map((w) => ({ expr: `slo:burn_rate:ratio_rate${w}${s}`, legend: w })),
        metrics: slo.windows.map((w) => `slo:burn_rate:ratio_rate${w}`),
      }),
    );
  }
  return { title: `SLO ${slo.name}`, panels };
}

function alertsSection(o: ResolvedDashboardsOptions): SectionSpec {
  const names = `alertname=~"${o.alertNames.join('|')}"`;
  return {
    title: 'Alerts',
    panels: [
      stat(
        'Firing alerts',
        'Alerts of this rule set firing in Prometheus now.',
        `count(ALERTS{alertstate="firing",${names}}) or vector(0)`,
        'short',
        ['ALERTS'],
      ),
      stat(
        'Pending alerts',
        'Alerts of this rule set whose condition holds, waiting for their `for` duration.',
        `count(ALERTS{alertstate="pending",${names}}) or vector(0)`,
        'short',
        ['ALERTS'],
      ),
      panel({
        kind: 'table',
        title: 'Active alerts',
        description: 'Pending and firing alerts of this rule set, with their labels.',
        width: 12,
        targets: [{ expr: `ALERTS{${names}}`, instant: true, format: 'table' }],
        metrics: ['ALERTS'],
      }),
    ],
  };
}

function evaluatorSection(): SectionSpec {
  const firing = 'alerts_firing';
  const groups = 'alerts_rule_group_evaluation_duration_seconds';
  const failures = 'alerts_rule_evaluation_failures_total';
  const last = 'alerts_rule_group_last_evaluation_timestamp_seconds';
  const notifications = 'alerts_notifications_total';
  const notifyDuration = 'alerts_notification_duration_seconds';
  const queue = 'alerts_notification_queue_length';
  const notifyFailures = 'alerts_notify_failures_total';
  const storage = ['alerts_rule_storage_series', 'alerts_rule_storage_samples'];
  const storageBytes = 'alerts_rule_storage_bytes';
  return {
    title: 'Embedded evaluator',
    panels: [
      panel({
        kind: 'timeseries',
        title: 'Alerts firing (embedded evaluator)',
        description:
          'Alerts the in-process evaluator has firing, by name and severity (none when nothing fires).',
        unit: 'short',
        targets: [
          {
            expr: `${sumBy(['alertname', 'severity'], `${firing}${sel()}`)} or vector(0)`,
            legend: '{{alertname}} {{severity}}',
          },
        ],
        metrics: [firing],
      }),
      panel({
        kind: 'timeseries',
        title: 'Rule group evaluation p99',
        description: 'The 0.99 quantile of rule group evaluation durations.',
        unit: 's',
        targets: [{ expr: quantile(0.99, groups, ['rule_group']), legend: '{{rule_group}}' }],
        metrics: [groups],
      }),
      panel({
        kind: 'timeseries',
        title: 'Seconds since last evaluation',
        description:
          "Age of each rule group's last evaluation: it grows when the evaluator stalls.",
        unit: 's',
        targets: [
          { expr: `time() - max by (rule_group) (${last}${sel()})`, legend: '{{rule_group}}' },
        ],
        metrics: [last],
      }),
      panel({
        kind: 'timeseries',
        title: 'Evaluation and notification failures',
        description: 'Rule evaluations and notifications given up on, per second (0 when none).',
        unit: 'ops',
        targets: [
          { expr: `${sumBy([], rate(failures))} or vector(0)`, legend: 'rule evaluations' },
          { expr: `${sumBy([], rate(notifyFailures))} or vector(0)`, legend: 'notify' },
        ],
        metrics: [failures, notifyFailures],
      }),
      panel({
        kind: 'timeseries',
        title: 'Notifications',
        description:
          'Notifications per second by receiver and result, and the queue waiting to be sent.',
        unit: 'short',
        targets: [
          {
            expr: `${sumBy(['receiver', 'result'], rate(notifications))} or vector(0)`,
            legend: '{{receiver}} {{result}}',
          },
          { expr: sumBy(['receiver'], `${queue}${sel()}`), legend: 'queued {{receiver}}' },
        ],
        metrics: [notifications, queue],
      }),
      panel({
        kind: 'timeseries',
        title: 'Notification duration p99',
        description: 'The 0.99 quantile of one notification attempt (0 before the first).',
        unit: 's',
        targets: [{ expr: `${quantile(0.99, notifyDuration, [])} or vector(0)`, legend: 'p99' }],
        metrics: [notifyDuration],
      }),
      panel({
        kind: 'timeseries',
        title: 'Rule storage',
        description: 'Series and samples the evaluator keeps for its rules.',
        unit: 'short',
        targets: storage.map((m) => ({ expr: sumBy([], `${m}${sel()}`), legend: m })),
        metrics: storage,
      }),
      panel({
        kind: 'timeseries',
        title: 'Rule storage bytes',
        description: "Memory the evaluator's rule storage takes (estimated).",
        unit: 'bytes',
        targets: [{ expr: sumBy([], `${storageBytes}${sel()}`), legend: 'bytes' }],
        metrics: [storageBytes],
      }),
    ],
  };
}

function runtimeSections(o: ResolvedDashboardsOptions): SectionSpec[] {
  const p = o.prefix;
  const by = ['instance'];
  const gauge = (m: string) => sumBy(by, `${p}${m}${sel()}`);
  return [
    {
      title: 'Process',
      panels: [
        panel({
          kind: 'timeseries',
          title: 'CPU',
          description: 'CPU time per second (1 = one core busy), user and system.',
          unit: 'percentunit',
          targets: [
            {
              expr: sumBy(by, rate(`${p}process_cpu_user_seconds_total`)),
              legend: 'user {{instance}}',
            },
            {
              expr: sumBy(by, rate(`${p}process_cpu_system_seconds_total`)),
              legend: 'system {{instance}}',
            },
            {
              expr: sumBy(by, rate(`${p}process_cpu_seconds_total`)),
              legend: 'total {{instance}}',
            },
          ],
          metrics: [
            'process_cpu_user_seconds_total',
            'process_cpu_system_seconds_total',
            'process_cpu_seconds_total',
          ].map((m) => p + m),
        }),
        panel({
          kind: 'timeseries',
          title: 'Memory',
          description: 'Resident set size, V8 heap used and total, external memory.',
          unit: 'bytes',
          targets: [
            { expr: gauge('process_resident_memory_bytes'), legend: 'rss {{instance}}' },
            { expr: gauge('nodejs_heap_size_used_bytes'), legend: 'heap used {{instance}}' },
            { expr: gauge('nodejs_heap_size_total_bytes'), legend: 'heap total {{instance}}' },
            { expr: gauge('nodejs_external_memory_bytes'), legend: 'external {{instance}}' },
          ],
          metrics: [
            'process_resident_memory_bytes',
            'nodejs_heap_size_used_bytes',
            'nodejs_heap_size_total_bytes',
            'nodejs_external_memory_bytes',
          ].map((m) => p + m),
        }),
        panel({
          kind: 'timeseries',
          title: 'Open file descriptors',
          description: 'Open file descriptors and the process limit.',
          unit: 'short',
          targets: [
            { expr: gauge('process_open_fds'), legend: 'open {{instance}}' },
            { expr: gauge('process_max_fds'), legend: 'max {{instance}}' },
          ],
          metrics: ['process_open_fds', 'process_max_fds'].map((m) => p + m),
        }),
        panel({
          kind: 'timeseries',
          title: 'Uptime',
          description: 'Seconds since the process started: a drop is a restart.',
          unit: 's',
          targets: [
            {
              expr: `time() - max by (instance) (${p}process_start_time_seconds${sel()})`,
              legend: '{{instance}}',
            },
          ],
          metrics: [`${p}process_start_time_seconds`],
        }),
      ],
    },
    {
      title: 'Node.js',
      panels: [
        panel({
          kind: 'timeseries',
          title: 'Event-loop lag',
          description:
            'Event-loop delay percentiles: every request waits this long before it runs.',
          unit: 's',
          targets: ['p50', 'p90', 'p99'].map((q) => ({
            expr: gauge(`nodejs_eventloop_lag_${q}_seconds`),
            legend: `${q} {{instance}}`,
          })),
          metrics: ['p50', 'p90', 'p99'].map((q) => `${p}nodejs_eventloop_lag_${q}_seconds`),
        }),
        panel({
          kind: 'timeseries',
          title: 'Garbage collection',
          description: 'Seconds spent in GC per second, by kind.',
          unit: 'percentunit',
          targets: [
            {
              expr: sumBy(['kind'], rate(`${p}nodejs_gc_duration_seconds_sum`)),
              legend: '{{kind}}',
            },
          ],
          metrics: [`${p}nodejs_gc_duration_seconds`],
        }),
        panel({
          kind: 'timeseries',
          title: 'Active resources',
          description:
            'Resources keeping the event loop alive (sockets, servers, timers), by type, and the handles among them.',
          unit: 'short',
          targets: [
            {
              expr: sumBy(['type'], `${p}nodejs_active_resources${sel()}`),
              legend: '{{type}}',
            },
            { expr: sumBy([], `${p}nodejs_active_handles${sel()}`), legend: 'handles' },
          ],
          metrics: ['nodejs_active_resources', 'nodejs_active_handles'].map((m) => p + m),
        }),
        panel({
          kind: 'timeseries',
          title: 'Heap spaces used',
          description: 'V8 heap used by space.',
          unit: 'bytes',
          targets: [
            {
              expr: sumBy(['space'], `${p}nodejs_heap_space_size_used_bytes${sel()}`),
              legend: '{{space}}',
            },
          ],
          metrics: [`${p}nodejs_heap_space_size_used_bytes`],
        }),
        panel({
          kind: 'table',
          title: 'Node.js version',
          description: 'The Node.js version each instance runs.',
          width: 24,
          height: 5,
          targets: [
            {
              expr: `max by (instance, version) (${p}nodejs_version_info${sel()})`,
              instant: true,
              format: 'table',
            },
          ],
          metrics: [`${p}nodejs_version_info`],
        }),
      ],
    },
    // After the first two sections, so that their panel ids stay what they were.
    {
      title: 'Runtime detail',
      panels: [
        panel({
          kind: 'timeseries',
          title: 'Virtual memory and process heap',
          description:
            'Virtual memory size (address space, far above what is resident) and the process heap.',
          unit: 'bytes',
          targets: [
            { expr: gauge('process_virtual_memory_bytes'), legend: 'virtual {{instance}}' },
            { expr: gauge('process_heap_bytes'), legend: 'process heap {{instance}}' },
          ],
          metrics: ['process_virtual_memory_bytes', 'process_heap_bytes'].map((m) => p + m),
        }),
        panel({
          kind: 'timeseries',
          title: 'Event-loop lag: min, mean, max, spread',
          description:
            'Event-loop delay over the sampling window (min, mean, max, standard deviation), and the lag of the last check.',
          unit: 's',
          targets: [
            ...['min', 'mean', 'max', 'stddev'].map((s) => ({
              expr: gauge(`nodejs_eventloop_lag_${s}_seconds`),
              legend: `${s} {{instance}}`,
            })),
            { expr: gauge('nodejs_eventloop_lag_seconds'), legend: 'last {{instance}}' },
          ],
          metrics: [
            ...['min', 'mean', 'max', 'stddev'].map((s) => `${p}nodejs_eventloop_lag_${s}_seconds`),
            `${p}nodejs_eventloop_lag_seconds`,
          ],
        }),
        panel({
          kind: 'timeseries',
          title: 'Heap spaces size and available',
          description: 'V8 heap size and what is still available, by space.',
          unit: 'bytes',
          targets: [
            {
              expr: sumBy(['space'], `${p}nodejs_heap_space_size_total_bytes${sel()}`),
              legend: '{{space}} size',
            },
            {
              expr: sumBy(['space'], `${p}nodejs_heap_space_size_available_bytes${sel()}`),
              legend: '{{space}} available',
            },
          ],
          metrics: [
            `${p}nodejs_heap_space_size_total_bytes`,
            `${p}nodejs_heap_space_size_available_bytes`,
          ],
        }),
        panel({
          kind: 'timeseries',
          title: 'GC pause quantiles',
          description:
            'Garbage-collection pause p50, p90 and p99 by kind (the histogram prom-client records).',
          unit: 's',
          targets: quantileTargets(`${p}nodejs_gc_duration_seconds`, ['kind']),
          metrics: [`${p}nodejs_gc_duration_seconds`],
        }),
      ],
    },
  ];
}

/** Every dashboard the options ask for, in a fixed order. */
export function dashboardSpecs(o: ResolvedDashboardsOptions): DashboardSpec[] {
  const specs: DashboardSpec[] = [];
  const add = (area: string, title: string, description: string, sections: SectionSpec[]) => {
    if (sections.length === 0) return;
    specs.push({
      uid: `${o.uidPrefix}-${area}`,
      title: `${o.service} / ${title}`,
      description,
      tags: o.tags,
      instanceVariable: true,
      sections,
    });
  };
  if (o.http) {
    add(
      'overview',
      'Overview',
      `HTTP traffic, errors, latency and routes of ${o.service} (@vigil/metrics).`,
      httpSections(o),
    );
  }
  if (o.business.length > 0) {
    add('business', 'Business metrics', `The business catalogue of ${o.service}.`, [
      { title: 'Business metrics', panels: o.business.flatMap(businessPanels) },
    ]);
  }
  const limits: SectionSpec[] = [];
  if (o.rateLimit) limits.push(rateLimitSection());
  if (o.audit) limits.push(auditSection());
  add(
    'limits-audit',
    'Rate limiting and audit',
    `Rate-limit decisions and audit events of ${o.service}.`,
    limits,
  );
  const alerting: SectionSpec[] = [];
  if (o.alerts) {
    alerting.push(...o.slos.map(sloSection));
    if (o.alertNames.length > 0) alerting.push(alertsSection(o));
  }
  if (o.evaluator) alerting.push(evaluatorSection());
  add(
    'slo-alerts',
    'SLOs and alerts',
    `SLO burn rates and error budgets, and alerts, of ${o.service} (@vigil/alerts).`,
    alerting,
  );
  if (o.runtime) {
    add(
      'runtime',
      'Node.js runtime',
      `Process and Node.js runtime of ${o.service}.`,
      runtimeSections(o),
    );
  }
  return specs;
}
