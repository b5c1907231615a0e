// Public API of @vigil/business-metrics.
export { defineBusinessMetrics } from './catalogue';
export { DEFAULT_SECONDS_BUCKETS, DEFAULT_BYTES_BUCKETS, DEFAULT_MAX_ROUTES } from './options';
export { MAX_LABEL_CAP } from './definitions';
export { track } from './track';
export { metrics, MAX_DEFERRED } from './request';
export { Counted, Timed, Observed } from './decorators';
export { OUTCOMES } from './labels';
export { RESERVED_METRIC_NAMES } from './names';
export { BUSINESS_METRICS_ERROR_CODES } from './errors';
export { OVERFLOW_LABEL_VALUE, UNMATCHED_ROUTE, OTHER_METHOD, VigilError } from '@vigil/core';
export type {
  AnyMetric,
  AutoLabel,
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  BusinessTotals,
  CallInfo,
  CallLabelSet,
  CappedLabelSpec,
  Catalogue,
  CatalogueOptions,
  ClosedLabelSpec,
  CountedSpec,
  CounterDefinition,
  CounterMetric,
  CounterTrackSpec,
  GaugeDefinition,
  GaugeMetric,
  GaugeTrackSpec,
  HistogramDefinition,
  HistogramMetric,
  HistogramTrackSpec,
  LabelDescription,
  LabelSet,
  LabelSpec,
  LabelSpecs,
  LabelSpecsOf,
  LabelValue,
  MethodDecorator,
  MethodLabel,
  MetricDefinition,
  MetricDefinitions,
  MetricDescription,
  MetricHandle,
  MetricTotals,
  MetricType,
  ObservedSpec,
  Outcome,
  RequestLabelSet,
  RequestMetrics,
  TimedSpec,
  TotalsOptions,
  TrackContext,
  TrackInfo,
  TrackMiddleware,
  TrackRequest,
  When,
} from './types';
